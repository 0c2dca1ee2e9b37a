#include "providers/telegram/send.hpp"

#include "providers/telegram/codec.hpp"

namespace switchboard::providers {

core::http_call telegram_send_message_call(const config::telegram_settings& cfg, std::string body) {
  core::http_call call;
  call.service = "telegram";
  call.url = cfg.base_url + "/bot" + cfg.bot_token + "/sendMessage";
  call.headers = {{"Content-Type", "application/json"}};
  call.body = std::move(body);
  return call;
}

namespace {

class telegram_provider final : public provider {
public:
  explicit telegram_provider(config::telegram_settings cfg)
      : provider("telegram"), cfg_(std::move(cfg)) {}

  expected<outbound_call> build_send(const send_request& s) const override {
    int64_t chat = 0;
    try {
      chat = std::stoll(s.recipient);
    } catch (...) {
      return caf::make_error(sb_error::invalid_argument, std::string{"bad Telegram chat id"});
    }
    auto body = telegram_send_message_body(chat, s.body);
    if (!body)
      return body.error();
    auto call = telegram_send_message_call(cfg_, std::move(*body));
    call.service = service();
    call.correlation_id = s.correlation_id;
    return outbound_call{std::move(call)};
  }

  expected<std::string> parse_send_answer(const core::http_reply& r) const override {
    auto res = parse_telegram_send_response(static_cast<int>(r.status), r.body);
    if (!res)
      return res.error();
    return std::to_string(*res);
  }

private:
  config::telegram_settings cfg_;
};

} // namespace

std::shared_ptr<provider> make_telegram(const config::settings& cfg) {
  return std::make_shared<telegram_provider>(cfg.telegram);
}

} // namespace switchboard::providers
