#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace switchboard::core {

/// Project-wide error codes; carried in caf::error across actors and mapped to HTTP statuses at
/// the edge (see http_status_for).
enum class sb_error : uint8_t {
  none = 0,
  bad_signature,      ///< authentication of a webhook or API call failed -> 401
  malformed,          ///< the payload cannot be parsed -> 400
  invalid_argument,   ///< parsed, but a field is invalid -> 400/422
  not_found,          ///< the entity does not exist -> 404
  conflict,           ///< a uniqueness or state rule refused the change -> 409
  unavailable,        ///< the database (or another dependency) is down -> 503
  timeout,            ///< a dependency did not answer in time -> 504/503
  provider_transient, ///< a provider answered 5xx/429 or the network failed; retryable
  provider_rejected,  ///< a provider refused the request (4xx); not retryable
  unsupported,        ///< a valid but unsupported variant (e.g. a message type)
  payload_too_large,  ///< body over the route's limit -> 413
  internal,           ///< a bug or an unexpected library exception -> 500
};

/// Short stable name of an error code, used in logs, metrics labels and JSON error bodies.
std::string to_string(sb_error x);

/// HTTP status the edge answers for an error code.
int http_status_for(sb_error x);

/// Extracts the sb_error from a caf::error (internal when it is of another category).
sb_error code_of(const caf::error& err);

/// Human-readable reason stored in the error's context (empty when none).
std::string reason_of(const caf::error& err);

template <class T> using expected = caf::expected<T>;

} // namespace switchboard::core

CAF_ERROR_CODE_ENUM(switchboard::core::sb_error, "switchbrd")
