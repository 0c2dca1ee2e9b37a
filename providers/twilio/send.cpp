#include "providers/twilio/send.hpp"

#include "core/form.hpp"
#include "providers/twilio/codec.hpp"

namespace switchboard::providers {

namespace {

class twilio_provider final : public provider {
public:
  twilio_provider(config::twilio_settings cfg, std::string public_url)
      : provider("twilio", {cfg.max_in_flight, cfg.rate_per_s}), cfg_(std::move(cfg)),
        status_callback_(std::move(public_url) + "/webhooks/sms/twilio/status") {}

  bool counts_sms_segments() const override { return true; }

  expected<outbound_call> build_send(const send_request& s) const override {
    core::http_call call;
    call.service = service();
    call.correlation_id = s.correlation_id;
    call.url = cfg_.base_url + "/2010-04-01/Accounts/" + cfg_.account_sid + "/Messages.json";
    call.basic_auth = cfg_.account_sid + ":" + cfg_.auth_token;
    call.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    twilio_send_request req;
    req.to = s.recipient;
    req.from = cfg_.from_number;
    req.messaging_service_sid = cfg_.messaging_service_sid;
    req.body = s.body;
    req.status_callback = status_callback_;
    auto form = build_twilio_send_form(req);
    if (!form)
      return form.error();
    call.body = core::encode_form(*form);
    return outbound_call{std::move(call)};
  }

  expected<std::string> parse_send_answer(const core::http_reply& r) const override {
    auto res = parse_twilio_send_response(static_cast<int>(r.status), r.body);
    if (!res)
      return res.error();
    return res->message_id;
  }

private:
  config::twilio_settings cfg_;
  std::string status_callback_;
};

} // namespace

std::shared_ptr<provider> make_twilio(const config::settings& cfg) {
  return std::make_shared<twilio_provider>(cfg.sms.twilio, cfg.server.public_url);
}

} // namespace switchboard::providers
