#pragma once

// providers/mtn/: MTN SMS v3 (MADAPI). codec.hpp reads inbound SMS notifications and builds the
// send request, and reads the OAuth2 token answer; signature.hpp checks X-MTN-Signature; this
// header is the provider the channel actor sends through, holding the cached access token.
// Settings: config::mtn_settings (sms.mtn); fake: sim/mtn.cpp.

// MTN SMS v3 sends: POST /v3/sms/messages/sms/outbound with an OAuth2 client-credentials token
// that this provider caches until shortly before it expires and forgets when MTN answers 401.

#include <memory>

#include "providers/provider.hpp"

namespace switchboard::providers {

/// The MTN provider over `cfg.sms.mtn`.
std::shared_ptr<provider> make_mtn(const config::settings& cfg);

} // namespace switchboard::providers
