#include "providers/mtn/send.hpp"

#include <algorithm>

#include "core/form.hpp"
#include "providers/mtn/codec.hpp"

namespace switchboard::providers {

namespace {

class mtn_provider final : public provider {
public:
  explicit mtn_provider(config::mtn_settings cfg)
      : provider("mtn", {cfg.max_in_flight, cfg.rate_per_s}), cfg_(std::move(cfg)) {}

  bool counts_sms_segments() const override { return true; }

  expected<outbound_call> build_send(const send_request& s) const override {
    core::http_call call;
    call.service = service();
    call.correlation_id = s.correlation_id;
    call.url = cfg_.base_url + "/v3/sms/messages/sms/outbound";
    call.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
    mtn_send_request req;
    req.sender_address = cfg_.sender_address;
    req.receivers = {s.recipient};
    req.message = s.body;
    // The request's id is stable per row (every attempt sends the same), and distinct across
    // the two outboxes (a notification's id may equal a delivery's).
    req.client_correlator = (s.box == 1 ? "sb-n" : "sb-") + std::to_string(s.delivery_id);
    call.body = build_mtn_send(req).dump();
    return outbound_call{std::move(call)};
  }

  expected<std::string> parse_send_answer(const core::http_reply& r) const override {
    auto res = parse_mtn_send_response(static_cast<int>(r.status), r.body);
    if (!res)
      return res.error();
    return res->message_id;
  }

  std::optional<core::http_call>
  credential_call(std::chrono::steady_clock::time_point now) override {
    if (!token_.empty() && now < token_expiry_)
      return std::nullopt;
    core::http_call call;
    call.service = "mtn_oauth";
    call.url = cfg_.base_url + cfg_.token_path + "?grant_type=client_credentials";
    call.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    call.body
        = core::encode_form({{"client_id", cfg_.client_id}, {"client_secret", cfg_.client_secret}});
    return call;
  }

  expected<void> take_credential(const core::http_reply& r,
                                 std::chrono::steady_clock::time_point now) override {
    auto tok = parse_oauth_token_response(static_cast<int>(r.status), r.body);
    if (!tok)
      return tok.error();
    token_ = tok->access_token;
    auto lifetime = tok->expires_in.value_or(std::chrono::seconds{3600});
    // Renew a minute early (or at half-life for short tokens).
    auto margin = std::min<std::chrono::seconds>(std::chrono::seconds{60}, lifetime / 2);
    token_expiry_ = now + lifetime - margin;
    return {};
  }

  std::optional<std::string> credential_refused(const core::http_reply& r) override {
    if (r.status != 401)
      return std::nullopt;
    // Revoked or expired early: the next send gets a new token.
    token_.clear();
    return std::string{"MTN rejected the access token"};
  }

  std::string credential_name() const override { return "MTN token"; }

private:
  config::mtn_settings cfg_;
  std::string token_;
  std::chrono::steady_clock::time_point token_expiry_;
};

} // namespace

std::shared_ptr<provider> make_mtn(const config::settings& cfg) {
  return std::make_shared<mtn_provider>(cfg.sms.mtn);
}

} // namespace switchboard::providers
