#pragma once

// providers/twilio/: the Twilio Messages API. codec.hpp reads inbound message and status-callback
// forms and builds the send form; signature.hpp checks X-Twilio-Signature (form and JSON bodies);
// this header is the provider the channel actor sends through. Settings: config::twilio_settings
// (sms.twilio); fake: sim/twilio.cpp.

// Twilio Messages API sends: POST /2010-04-01/Accounts/{sid}/Messages.json (form, basic auth),
// with status callbacks to /webhooks/sms/twilio/status on server.public_url.

#include <memory>

#include "providers/provider.hpp"

namespace switchboard::providers {

/// The Twilio provider over `cfg.sms.twilio` (and `cfg.server.public_url` for callbacks).
std::shared_ptr<provider> make_twilio(const config::settings& cfg);

} // namespace switchboard::providers
