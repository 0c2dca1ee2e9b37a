#pragma once

// The core vocabulary every provider folder speaks (errors, form parameters), brought into
// switchboard::providers so the codecs read as they did in core.

#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/form.hpp"

namespace switchboard::providers {

using core::expected;
using core::form_params;
using core::sb_error;

/// A malformed-payload error with its reason: what a codec returns for untrusted input it cannot
/// read.
inline caf::error malformed(std::string reason) {
  return caf::make_error(sb_error::malformed, std::move(reason));
}

/// Whether an HTTP status is a success (2xx).
inline bool is_2xx(int status) {
  return status >= 200 && status < 300;
}

} // namespace switchboard::providers
