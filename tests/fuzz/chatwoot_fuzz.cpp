// Chatwoot: the webhook parser, its dedupe key (what the signature covers), the bot's answer
// rule, the hand-off transition, the Help Center articles parser and the message body builder.

#include <nlohmann/json.hpp>

#include "core/bot/chatwoot.hpp"
#include "core/json_fields.hpp"
#include "core/text/utf8.hpp"
#include "providers/chatwoot/codec.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

bool is_hex_digest(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool known_status(std::string_view s) {
  return s == "open" || s == "pending" || s == "resolved" || s == "snoozed";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto body = fuzz::text_of(data, size);

  auto ev = providers::parse_chatwoot_webhook(body);
  if (!ev) {
    SB_FUZZ_CHECK(core::code_of(ev.error()) == core::sb_error::malformed);
  } else {
    // It accepts only what the JSON gate of every other codec accepts.
    SB_FUZZ_CHECK(!core::parse_untrusted_json(body).is_discarded());
    SB_FUZZ_CHECK(!ev->event.empty());
    bool message_event = ev->event == "message_created" || ev->event == "message_updated";
    SB_FUZZ_CHECK(!message_event || (ev->message && ev->conversation_id));
    SB_FUZZ_CHECK(ev->event.rfind("conversation_", 0) != 0 || ev->conversation_id);
    if (core::should_bot_answer(*ev))
      SB_FUZZ_CHECK(ev->message && ev->conversation_status == "pending" && !ev->message->is_private
                    && ev->message->sender_type == core::chatwoot_sender_type::contact);

    // The key is a function of what the signature covers: a replay of the same body gets the
    // same key; message_created is keyed on the message id alone, so an equivalent body does too.
    auto key = providers::chatwoot_dedupe_key(*ev, body);
    SB_FUZZ_CHECK(key == providers::chatwoot_dedupe_key(*ev, body));
    std::string spaced = std::string{body} + " ";
    auto again = providers::parse_chatwoot_webhook(spaced);
    SB_FUZZ_CHECK(again.engaged() && again->event == ev->event);
    auto spaced_key = providers::chatwoot_dedupe_key(*again, spaced);
    if (ev->message && ev->message->id != 0) {
      SB_FUZZ_CHECK(key.rfind(ev->event + ":" + std::to_string(ev->message->id), 0) == 0);
      SB_FUZZ_CHECK((ev->event == "message_created") == (key == spaced_key));
    } else {
      SB_FUZZ_CHECK(is_hex_digest(key) && key != spaced_key);
    }
  }

  // The hand-off rule over untrusted statuses: a hand-off is a move to open, never from open.
  auto half = body.substr(0, body.size() / 2);
  auto rest = body.substr(body.size() / 2);
  for (bool handed_off : {false, true}) {
    for (const char* stored : {"", "open", "pending", "resolved"}) {
      std::optional<core::chatwoot_seen> seen;
      if (*stored)
        seen = core::chatwoot_seen{stored, handed_off};
      auto t = core::chatwoot_status_transition(seen, half, rest);
      SB_FUZZ_CHECK(!t.became_open || (half == "open" && std::string_view{stored} != "open"));
      SB_FUZZ_CHECK(!t.resumed || (half == "pending" && handed_off));
      SB_FUZZ_CHECK(known_status(t.status) || (seen && t.status == seen->status));
    }
  }

  auto articles = providers::parse_chatwoot_articles(body);
  if (!articles)
    SB_FUZZ_CHECK(core::code_of(articles.error()) == core::sb_error::malformed);

  if (core::is_valid_utf8(body)) {
    auto j = nlohmann::json::parse(providers::chatwoot_message_body(body, size % 2 == 1));
    SB_FUZZ_CHECK(j.at("content").get<std::string>() == body);
    SB_FUZZ_CHECK(j.at("private").get<bool>() == (size % 2 == 1));
  }
  auto toggle = providers::chatwoot_toggle_status_body(body);
  SB_FUZZ_CHECK(toggle.engaged() == known_status(body));
  return 0;
}
