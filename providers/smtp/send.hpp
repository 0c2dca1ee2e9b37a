#pragma once

// providers/smtp/: email notifications. codec.hpp builds the RFC 5322 message (encoded words,
// quoted-printable, folding); this header is the provider the channel actor sends through
// (libcurl's SMTP in actors/http_client.cpp). Settings: config::smtp_settings; fake: sim/smtp.cpp.

// Email notifications over SMTP(S): the RFC 5322 message (codec.hpp) in a mail_call, and the
// server's reply code read as an answer (2xx sent, 4xx later, 5xx refused).

#include <memory>

#include "providers/provider.hpp"

namespace switchboard::providers {

/// The SMTP provider over `cfg.smtp`.
std::shared_ptr<provider> make_smtp(const config::settings& cfg);

} // namespace switchboard::providers
