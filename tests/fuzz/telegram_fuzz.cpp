// Telegram Bot API: the webhook Update parser, the sendMessage/setWebhook body builders and the
// response parsers over the same untrusted bytes.

#include <array>

#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "core/omni/format.hpp"
#include "core/text/utf8.hpp"
#include "providers/telegram/codec.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto body = fuzz::text_of(data, size);

  auto up = providers::parse_telegram_update(body);
  if (!up) {
    SB_FUZZ_CHECK(core::code_of(up.error()) == core::sb_error::malformed);
  } else {
    // It accepts only what the JSON gate of every other codec accepts.
    SB_FUZZ_CHECK(!core::parse_untrusted_json(body).is_discarded());
    SB_FUZZ_CHECK((up->kind == providers::telegram_update_kind::other) == !up->message.has_value());
    if (up->message) {
      auto& m = *up->message;
      SB_FUZZ_CHECK(!m.is_start || m.text.rfind("/start", 0) == 0);
      SB_FUZZ_CHECK(m.start_payload.empty() || m.is_start);
      SB_FUZZ_CHECK(!m.is_caption || !m.text.empty());
    }
  }

  auto escaped = core::telegram_html_escape(body);
  SB_FUZZ_CHECK(escaped.size() >= body.size());
  SB_FUZZ_CHECK(escaped.find_first_of("<>\"") == std::string::npos);

  // sendMessage: valid, non-empty UTF-8 goes out unchanged; anything else is refused.
  auto chat_id = static_cast<int64_t>(size) - 1000;
  auto send = providers::telegram_send_message_body(
      chat_id, body, size % 2 ? std::optional<int64_t>{7} : std::nullopt);
  if (!body.empty() && core::is_valid_utf8(body)) {
    SB_FUZZ_CHECK(send.engaged());
    auto j = nlohmann::json::parse(*send);
    SB_FUZZ_CHECK(j.at("text").get<std::string>() == body);
    SB_FUZZ_CHECK(j.at("chat_id").get<int64_t>() == chat_id);
  } else {
    SB_FUZZ_CHECK(!send && core::code_of(send.error()) == core::sb_error::invalid_argument);
  }

  auto hook = providers::telegram_set_webhook_body("https://example.test/hook", body, {"message"});
  if (hook)
    SB_FUZZ_CHECK(nlohmann::json::parse(*hook).at("secret_token").get<std::string>() == body);

  static constexpr std::array<int, 7> statuses{200, 400, 401, 403, 429, 500, 502};
  int status = statuses[size % statuses.size()];
  auto sent = providers::parse_telegram_send_response(status, body);
  if (sent) {
    SB_FUZZ_CHECK(status < 300);
  } else {
    SB_FUZZ_CHECK(fuzz::is_codec_error(sent.error()));
    if (auto wait = providers::telegram_retry_after(sent.error()))
      SB_FUZZ_CHECK(core::code_of(sent.error()) == core::sb_error::provider_transient);
  }
  auto ok = providers::parse_telegram_ok_response(status, body);
  if (ok)
    SB_FUZZ_CHECK(status < 300);
  else
    SB_FUZZ_CHECK(fuzz::is_codec_error(ok.error()));
  return 0;
}
