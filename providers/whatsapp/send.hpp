#pragma once

// providers/whatsapp/: the WhatsApp Cloud API. codec.hpp reads the webhook (messages, statuses,
// the GET handshake) and builds the send bodies; signature.hpp checks X-Hub-Signature-256; this
// header is the provider the channel actor sends through. Its settings are
// config::whatsapp_settings, what its error codes call for is core/whatsapp_errors.hpp (the status
// flow in storage/ decides with it too), its routes are in http/webhooks.cpp and its fake in
// sim/whatsapp.cpp. The folder to read first: every piece of a provider, each in one file.

// WhatsApp Cloud API sends: POST /{version}/{phone-number-id}/messages (text, or the template
// outside the 24-hour window), Meta's answer and its error codes (core/whatsapp_errors.hpp).

#include <memory>

#include "providers/provider.hpp"

namespace switchboard::providers {

/// The Cloud API provider over `cfg.whatsapp`.
std::shared_ptr<provider> make_whatsapp(const config::settings& cfg);

} // namespace switchboard::providers
