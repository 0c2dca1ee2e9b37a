#include "providers/smtp/send.hpp"

#include <chrono>

#include "providers/smtp/codec.hpp"

namespace switchboard::providers {

namespace {

class smtp_provider final : public provider {
public:
  explicit smtp_provider(config::smtp_settings cfg) : provider("smtp"), cfg_(std::move(cfg)) {}

  expected<outbound_call> build_send(const send_request& s) const override {
    email_message msg;
    msg.from.address = cfg_.from;
    msg.from.name = "Switchboard";
    msg.to.push_back({"", s.recipient});
    msg.subject = s.subject;
    msg.body = s.body;
    msg.date_unix = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    auto payload = build_email(msg);
    if (!payload)
      return payload.error();
    core::mail_call call;
    call.url = cfg_.url;
    call.from = cfg_.from;
    call.to = {s.recipient};
    call.payload = std::move(*payload);
    call.username = cfg_.username;
    call.password = cfg_.password;
    call.correlation_id = s.correlation_id;
    return outbound_call{std::move(call)};
  }

  expected<std::string> parse_send_answer(const core::http_reply& r) const override {
    // SMTP: 2xx accepted, 4xx try again later, 5xx refused for good.
    if (r.status >= 200 && r.status < 300)
      return std::string{};
    auto code = r.status >= 400 && r.status < 500 ? sb_error::provider_transient
                                                  : sb_error::provider_rejected;
    return caf::make_error(code, "SMTP answered " + std::to_string(r.status));
  }

  core::call_outcome health_of(const core::http_reply& r) const override {
    // A 4xx is the server's trouble (full, greylisting), not a refusal of this message.
    return r.status >= 400 && r.status < 500 ? core::call_outcome::failure
                                             : core::call_outcome::success;
  }

private:
  config::smtp_settings cfg_;
};

} // namespace

std::shared_ptr<provider> make_smtp(const config::settings& cfg) {
  return std::make_shared<smtp_provider>(cfg.smtp);
}

} // namespace switchboard::providers
