#pragma once

// providers/: one folder per upstream (whatsapp, mtn, twilio, telegram, smtp, chatwoot, openai),
// each holding that provider's wire codec (codec.hpp: webhook parser, request bodies, answers),
// its webhook signature (signature.hpp) and, for a channel, its send side (send.hpp). Pure code
// over core/ and config/ (tests/unit/layers_test.cpp holds it to that); tests beside it in
// tests/unit/providers/. providers/whatsapp/ is the folder to read first.
//
// This header is the send interface every channel's provider implements and the one generic
// channel actor (actors/channel.cpp) drives: build the call for one outbox row, read the answer,
// classify it. No actor, no I/O: the actor runs the calls and owns claims and retries.
// registry.cpp names the providers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "config/settings.hpp"
#include "core/circuit.hpp"
#include "core/http_call.hpp"
#include "core/whatsapp_errors.hpp"
#include "providers/common.hpp"
#include "providers/send_request.hpp"

namespace switchboard::providers {

/// The call that sends a row: HTTP for every API, SMTP for email.
using outbound_call = std::variant<core::http_call, core::mail_call>;

/// How many sends a provider takes at once and how fast.
struct send_limits {
  std::size_t max_in_flight = 64; ///< sends awaiting the provider's answer at once
  double rate_per_s = 0;          ///< sends per second at most; 0 = no limit
};

/// A provider's send side. One instance per channel actor, which calls it from one thread: state a
/// provider keeps between calls (MTN's OAuth token) lives in the instance.
class provider {
public:
  /// `service` names it in metrics and logs; `limits` are its flow-control limits.
  explicit provider(std::string service, send_limits limits = {})
      : service_(std::move(service)), limits_(limits) {}

  virtual ~provider() = default;

  /// Metrics label and log name: whatsapp, mtn, twilio, telegram, smtp.
  const std::string& service() const { return service_; }

  /// The provider's flow-control limits from its settings.
  const send_limits& limits() const { return limits_; }

  /// The call that sends `s`; an error when `s` cannot be sent at all (given up, not retried).
  virtual expected<outbound_call> build_send(const send_request& s) const = 0;

  /// The provider's message id from its answer, or the error the answer describes
  /// (sb_error::provider_transient: try again later; provider codes via provider_error_code()).
  virtual expected<std::string> parse_send_answer(const core::http_reply& r) const = 0;

  /// How an answer bears on the provider's health (its circuit breaker): by default only the
  /// provider's own failures count (5xx, 408, 429), not a refusal of one message.
  virtual core::call_outcome health_of(const core::http_reply& r) const {
    return core::provider_call_outcome(static_cast<int>(r.status));
  }

  /// What the outbox does about an error of parse_send_answer beyond the ordinary retry or
  /// failure (WhatsApp's per-user limits and fallbacks); none for most providers.
  virtual core::whatsapp_error_action error_action(const caf::error&) const {
    return core::whatsapp_error_action::none;
  }

  /// True for SMS: a sent row records its segments and encoding (and their cost).
  virtual bool counts_sms_segments() const { return false; }

  // -- credentials that expire (MTN's OAuth2 token) ---------------------------------------------

  /// The call that gets a credential when sends need one now (none, or still valid: nullopt).
  virtual std::optional<core::http_call> credential_call(std::chrono::steady_clock::time_point) {
    return std::nullopt;
  }

  /// Takes the answer to credential_call(); the error when it gave no credential.
  virtual expected<void> take_credential(const core::http_reply&,
                                         std::chrono::steady_clock::time_point) {
    return {};
  }

  /// When `r` says the credential was refused (MTN: 401), the reason; the provider has forgotten
  /// it, and the send is tried again with a new one. nullopt for any other answer.
  virtual std::optional<std::string> credential_refused(const core::http_reply&) {
    return std::nullopt;
  }

  /// What credential failures are called in reasons ("MTN token").
  virtual std::string credential_name() const { return "credential"; }

private:
  std::string service_;
  send_limits limits_;
};

/// A provider by name (whatsapp, mtn, twilio, telegram, smtp) over its settings in `cfg`;
/// nullptr for a name no provider registered (providers/registry.cpp).
std::shared_ptr<provider> make_provider(const std::string& name, const config::settings& cfg);

} // namespace switchboard::providers
