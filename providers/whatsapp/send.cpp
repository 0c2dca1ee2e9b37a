#include "providers/whatsapp/send.hpp"

#include "core/delivery.hpp"
#include "providers/whatsapp/codec.hpp"

namespace switchboard::providers {

namespace {

class whatsapp_provider final : public provider {
public:
  explicit whatsapp_provider(config::whatsapp_settings cfg)
      : provider("whatsapp", {cfg.max_in_flight, cfg.rate_per_s}), cfg_(std::move(cfg)) {}

  expected<outbound_call> build_send(const send_request& s) const override {
    core::http_call call;
    call.service = service();
    call.correlation_id = s.correlation_id;
    call.url = cfg_.base_url + "/" + cfg_.api_version + "/" + cfg_.phone_number_id + "/messages";
    call.headers
        = {{"Authorization", "Bearer " + cfg_.access_token}, {"Content-Type", "application/json"}};
    auto to = s.recipient.substr(s.recipient.rfind('+') + 1);
    nlohmann::json body;
    if (!s.template_name.empty()) {
      whatsapp_template tpl;
      tpl.name = s.template_name;
      tpl.language_code = s.template_language;
      tpl.body_parameters = {s.body};
      body = build_whatsapp_template(to, tpl);
    } else {
      body = build_whatsapp_text(to, s.body);
    }
    call.body = body.dump();
    return outbound_call{std::move(call)};
  }

  expected<std::string> parse_send_answer(const core::http_reply& r) const override {
    return parse_whatsapp_send_response(static_cast<int>(r.status), r.body);
  }

  core::whatsapp_error_action error_action(const caf::error& err) const override {
    auto code = core::provider_error_code(err);
    return code ? core::whatsapp_error_action_for(*code) : core::whatsapp_error_action::none;
  }

private:
  config::whatsapp_settings cfg_;
};

} // namespace

std::shared_ptr<provider> make_whatsapp(const config::settings& cfg) {
  return std::make_shared<whatsapp_provider>(cfg.whatsapp);
}

} // namespace switchboard::providers
