#include <catch2/catch.hpp>

#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/bot/chatwoot.hpp"
#include "core/crypto.hpp"
#include "providers/chatwoot/codec.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using json = nlohmann::json;

namespace {

// message_created as Chatwoot v4 sends it to an account webhook / agent bot. Shape: Message#
// webhook_data (chatwoot/chatwoot app/models/message.rb: account, additional_attributes,
// content_attributes, content_type, content, conversation, created_at, id, inbox, message_type,
// private, sender, source_id) merged with `event` in app/listeners/webhook_listener.rb;
// `conversation` is Conversations::EventDataPresenter#push_data (id = display_id, inbox_id,
// messages = [last chat message's push_event_data], meta.sender = Contact#push_event_data,
// status, timestamps); `sender` is Contact#webhook_data, which in v4 carries no `type`. The
// nested messages[] entry uses push_event_data (integer message_type, unix created_at,
// sender_type), as in the payload quoted in chatwoot/chatwoot issue #11753.
constexpr const char* incoming_v4 = R"json({
  "account": {"id": 1, "name": "Acme Support"},
  "additional_attributes": {},
  "content_attributes": {},
  "content_type": "text",
  "content": "How do I get a refund?",
  "conversation": {
    "additional_attributes": {},
    "can_reply": true,
    "channel": "Channel::WebWidget",
    "contact_inbox": {"id": 57, "contact_id": 42, "inbox_id": 3, "source_id": "c6b1a7de-0b5f-4b5e-9f0c-3c3f0c3c1d2e", "created_at": "2025-06-16T15:41:16.680Z", "updated_at": "2025-06-16T15:41:16.680Z", "hmac_verified": false, "pubsub_token": "Zx8yqv1PqJ3LwTnM"},
    "id": 17,
    "inbox_id": 3,
    "messages": [
      {"id": 2191, "content": "How do I get a refund?", "account_id": 1, "inbox_id": 3, "conversation_id": 17, "message_type": 0, "created_at": 1750088476, "updated_at": "2025-06-16T15:41:16.770Z", "private": false, "status": "sent", "source_id": null, "content_type": "text", "content_attributes": {}, "sender_type": "Contact", "sender_id": 42, "external_source_ids": {}, "additional_attributes": {}, "processed_message_content": "How do I get a refund?", "sentiment": {}, "conversation": {"assignee_id": null, "unread_count": 1, "last_activity_at": 1750088476, "contact_inbox": {"source_id": "c6b1a7de-0b5f-4b5e-9f0c-3c3f0c3c1d2e"}},
       "sender": {"additional_attributes": {}, "custom_attributes": {}, "email": "jane@example.com", "id": 42, "identifier": null, "name": "Jane Doe", "phone_number": "+4915112345678", "thumbnail": "", "blocked": false, "type": "contact"}}
    ],
    "labels": [],
    "meta": {
      "sender": {"additional_attributes": {}, "custom_attributes": {}, "email": "jane@example.com", "id": 42, "identifier": null, "name": "Jane Doe", "phone_number": "+4915112345678", "thumbnail": "", "blocked": false, "type": "contact"},
      "assignee": null,
      "assignee_type": null,
      "team": null,
      "hmac_verified": false
    },
    "status": "pending",
    "custom_attributes": {},
    "snoozed_until": null,
    "unread_count": 1,
    "first_reply_created_at": null,
    "priority": null,
    "waiting_since": 1750088476,
    "agent_last_seen_at": 0,
    "contact_last_seen_at": 0,
    "last_activity_at": 1750088476,
    "timestamp": 1750088476,
    "created_at": 1750088476,
    "updated_at": 1750088476.79
  },
  "created_at": "2025-06-16T15:41:16.755Z",
  "id": 2191,
  "inbox": {"id": 3, "name": "Website"},
  "message_type": "incoming",
  "private": false,
  "sender": {"account": {"id": 1, "name": "Acme Support"}, "additional_attributes": {}, "avatar": "", "custom_attributes": {}, "email": "jane@example.com", "id": 42, "identifier": null, "name": "Jane Doe", "phone_number": "+4915112345678", "thumbnail": "", "blocked": false},
  "source_id": null,
  "event": "message_created"
})json";

// conversation_status_changed with `changed_attributes: null`, as logged in the payload quoted in
// wppconnect-team/wppconnect issue #1511 (Chatwoot 2.x: `..., :status=>"resolved", ...,
// :event=>"conversation_status_changed", :changed_attributes=>nil`). Top level is the
// conversation's push_data; conversation webhooks carry no `account` object before Chatwoot
// PR #12445, so the account id comes from messages[].account_id (issue #11753).
constexpr const char* status_changed_null = R"json({
  "additional_attributes": {},
  "can_reply": true,
  "channel": "Channel::Api",
  "contact_inbox": {"id": 9, "contact_id": 1, "inbox_id": 2, "source_id": "556696784717", "created_at": "2023-01-24T12:00:00.000Z", "updated_at": "2023-01-24T12:00:00.000Z", "hmac_verified": false, "pubsub_token": "qwerty"},
  "id": 5,
  "inbox_id": 2,
  "messages": [{"id": 88, "content": "Conversation was marked resolved by Rogério Rizzo", "account_id": 1, "inbox_id": 2, "conversation_id": 5, "message_type": 2, "created_at": 1674561925, "private": false, "status": "sent", "source_id": null, "content_type": "text", "content_attributes": {}, "sender_type": null, "sender_id": null}],
  "labels": [],
  "meta": {
    "sender": {"additional_attributes": {}, "custom_attributes": {}, "email": null, "id": 1, "identifier": null, "name": "Rogerio Rizzo", "phone_number": "+556696784717", "thumbnail": "", "type": "contact"},
    "assignee": {"id": 1, "name": "Rogério Rizzo", "available_name": "Rogério Rizzo", "avatar_url": "", "type": "user", "availability_status": "busy", "thumbnail": ""},
    "team": null,
    "hmac_verified": false
  },
  "status": "resolved",
  "custom_attributes": {},
  "snoozed_until": null,
  "unread_count": 0,
  "first_reply_created_at": "2023-01-24T12:05:25.872Z",
  "agent_last_seen_at": 1674561939,
  "contact_last_seen_at": 0,
  "timestamp": 1674561925,
  "event": "conversation_status_changed",
  "changed_attributes": null
})json";

json incoming() {
  return json::parse(incoming_v4);
}

/// Sender of a message written by the inbox's agent bot: AgentBot#webhook_data.
json agent_bot_sender() {
  return {{"id", 7}, {"name", "Switchboard"}, {"type", "agent_bot"}};
}

/// Sender of a message written by an agent: User#webhook_data (as in chatwoot issue #1564).
json user_sender() {
  return {{"id", 1},
          {"name", "Hiago Silva Souza"},
          {"email", "hsouza@mycompany.com"},
          {"type", "user"}};
}

chatwoot_event parse_ok(const json& j) {
  auto ev = parse_chatwoot_webhook(j.dump());
  if (!ev)
    FAIL(reason_of(ev.error()));
  return *ev;
}

caf::error parse_err(const std::string& body) {
  auto ev = parse_chatwoot_webhook(body);
  REQUIRE_FALSE(ev);
  CHECK(code_of(ev.error()) == sb_error::malformed);
  return ev.error();
}

} // namespace

TEST_CASE("an incoming v4 message_created is parsed completely", "[chatwoot]") {
  auto ev = parse_ok(incoming());
  CHECK(ev.event == "message_created");
  CHECK(ev.account_id == 1);
  CHECK(ev.conversation_id == 17);
  CHECK(ev.conversation_status == "pending");
  CHECK(ev.inbox_id == 3);
  REQUIRE(ev.contact);
  CHECK(ev.contact->id == 42);
  CHECK(ev.contact->name == "Jane Doe");
  CHECK(ev.contact->phone_number == "+4915112345678");
  CHECK(ev.contact->email == "jane@example.com");
  REQUIRE(ev.message);
  CHECK(ev.message->id == 2191);
  CHECK(ev.message->content == "How do I get a refund?");
  CHECK(ev.message->type == chatwoot_message_type::incoming);
  CHECK_FALSE(ev.message->is_private);
  CHECK(ev.message->sender_type == chatwoot_sender_type::contact); // inferred: no sender.type
  CHECK(ev.message->sender_id == 42);
  CHECK(ev.message->content_type == "text");
  CHECK(ev.message->created_at == "2025-06-16T15:41:16.755Z");
  CHECK(ev.message->created_at_unix == 1750088476);
  CHECK_FALSE(ev.status_change);
  CHECK(should_bot_answer(ev));
}

TEST_CASE("message_type is read as a name or as Chatwoot's integer", "[chatwoot]") {
  struct {
    json value;
    chatwoot_message_type type;
  } cases[] = {
      {"incoming", chatwoot_message_type::incoming},
      {0, chatwoot_message_type::incoming},
      {"outgoing", chatwoot_message_type::outgoing},
      {1, chatwoot_message_type::outgoing},
      {"activity", chatwoot_message_type::activity},
      {2, chatwoot_message_type::activity},
      {"template", chatwoot_message_type::template_message},
      {3, chatwoot_message_type::template_message},
  };
  for (auto& c : cases) {
    INFO(c.value.dump());
    auto j = incoming();
    j["message_type"] = c.value;
    auto ev = parse_ok(j);
    CHECK(ev.message->type == c.type);
    CHECK(should_bot_answer(ev) == (c.type == chatwoot_message_type::incoming));
  }
  CHECK(to_string(chatwoot_message_type::template_message) == "template");
}

TEST_CASE("the bot's own messages come back from an agent_bot sender and are not answered",
          "[chatwoot]") {
  auto j = incoming();
  j["message_type"] = "outgoing";
  j["sender"] = agent_bot_sender();
  j["content"] = "Refunds are possible within 30 days.";
  auto ev = parse_ok(j);
  CHECK(ev.message->sender_type == chatwoot_sender_type::agent_bot);
  CHECK(ev.message->sender_id == 7);
  CHECK_FALSE(should_bot_answer(ev));
  // Even if a bot message were labelled incoming, it is not from a contact.
  j["message_type"] = "incoming";
  CHECK_FALSE(should_bot_answer(parse_ok(j)));
}

TEST_CASE("private notes arrive as message_created with private true", "[chatwoot]") {
  auto j = incoming();
  j["message_type"] = "outgoing";
  j["private"] = true;
  j["sender"] = user_sender();
  auto ev = parse_ok(j);
  CHECK(ev.message->is_private);
  CHECK(ev.message->sender_type == chatwoot_sender_type::user);
  CHECK_FALSE(should_bot_answer(ev));
  // A private note is never answered, whoever wrote it.
  auto k = incoming();
  k["private"] = true;
  CHECK_FALSE(should_bot_answer(parse_ok(k)));
}

TEST_CASE("what should_bot_answer reads is parsed from each webhook shape", "[chatwoot]") {
  CHECK(should_bot_answer(parse_ok(incoming())));
  SECTION("not pending: a human has the conversation") {
    for (auto status : {"open", "resolved", "snoozed"}) {
      auto j = incoming();
      j["conversation"]["status"] = status;
      CHECK_FALSE(should_bot_answer(parse_ok(j)));
    }
  }
  SECTION("message_updated is not a new question") {
    auto j = incoming();
    j["event"] = "message_updated";
    auto ev = parse_ok(j);
    CHECK(ev.message);
    CHECK_FALSE(should_bot_answer(ev));
  }
  SECTION("explicit contact sender type (older payloads)") {
    auto j = incoming();
    j["sender"]["type"] = "contact";
    CHECK(should_bot_answer(parse_ok(j)));
  }
  SECTION("unknown sender type is not a contact") {
    auto j = incoming();
    j["sender"]["type"] = "captain_assistant";
    auto ev = parse_ok(j);
    CHECK(ev.message->sender_type == chatwoot_sender_type::unknown);
    CHECK_FALSE(should_bot_answer(ev));
  }
  SECTION("no sender at all") {
    auto j = incoming();
    j["sender"] = nullptr;
    auto ev = parse_ok(j);
    CHECK(ev.message->sender_type == chatwoot_sender_type::unknown);
    CHECK_FALSE(should_bot_answer(ev));
    CHECK(ev.contact->id == 42); // still known from conversation.meta.sender
  }
}

TEST_CASE("conversation_status_changed with changed_attributes null reads conversation.status",
          "[chatwoot]") {
  auto ev = parse_ok(json::parse(status_changed_null));
  CHECK(ev.event == "conversation_status_changed");
  CHECK(ev.conversation_id == 5);
  CHECK(ev.inbox_id == 2);
  CHECK(ev.account_id == 1); // from messages[].account_id
  CHECK(ev.conversation_status == "resolved");
  REQUIRE(ev.status_change);
  CHECK(ev.status_change->previous.empty());
  CHECK(ev.status_change->current == "resolved");
  REQUIRE(ev.contact);
  CHECK(ev.contact->name == "Rogerio Rizzo");
  CHECK(ev.contact->phone_number == "+556696784717");
  CHECK_FALSE(ev.message);
  CHECK_FALSE(should_bot_answer(ev));
}

TEST_CASE("changed_attributes carries the status change (BaseListener shape)", "[chatwoot]") {
  // BaseListener#extract_changed_attributes: [{attr => {previous_value, current_value}}, ...].
  auto j = json::parse(status_changed_null);
  j["status"] = "open";
  j["changed_attributes"]
      = json::array({{{"updated_at",
                       {{"previous_value", "2023-01-24T12:05:25.872Z"},
                        {"current_value", "2023-01-24T12:06:00.000Z"}}}},
                     {{"status", {{"previous_value", "pending"}, {"current_value", "open"}}}}});
  SECTION("conversation_status_changed") {
    auto ev = parse_ok(j);
    REQUIRE(ev.status_change);
    CHECK(ev.status_change->previous == "pending");
    CHECK(ev.status_change->current == "open");
  }
  SECTION("conversation_updated carries the same change") {
    j["event"] = "conversation_updated";
    auto ev = parse_ok(j);
    REQUIRE(ev.status_change);
    CHECK(ev.status_change->previous == "pending");
    CHECK(ev.status_change->current == "open");
  }
  SECTION("conversation_updated without a status change has none") {
    j["event"] = "conversation_updated";
    j["changed_attributes"].erase(1);
    CHECK_FALSE(parse_ok(j).status_change);
    j["changed_attributes"] = nullptr;
    CHECK_FALSE(parse_ok(j).status_change);
  }
  SECTION("an account object (Chatwoot PR #12445) wins over messages[]") {
    j["account"] = {{"id", 9}, {"name", "Other"}};
    CHECK(parse_ok(j).account_id == 9);
  }
}

TEST_CASE("conversation_created without messages has no account id", "[chatwoot]") {
  auto j = json::parse(status_changed_null);
  j["event"] = "conversation_created";
  j["status"] = "pending";
  j["messages"] = json::array();
  j.erase("changed_attributes");
  auto ev = parse_ok(j);
  CHECK(ev.conversation_id == 5);
  CHECK(ev.conversation_status == "pending");
  CHECK_FALSE(ev.account_id);
  CHECK_FALSE(ev.status_change);
}

TEST_CASE("webwidget_triggered reads ContactInbox#webhook_data", "[chatwoot]") {
  // app/models/contact_inbox.rb webhook_data: id, contact, inbox, account, current_conversation,
  // source_id; the listener adds event and event_info (docs/webhook-events.md).
  auto j = json::parse(R"json({
    "id": 57,
    "contact": {"id": 42, "name": "Jane Doe", "avatar": "", "type": "contact", "account": {"id": 1, "name": "Acme Support"}},
    "inbox": {"id": 3, "name": "Website"},
    "account": {"id": 1, "name": "Acme Support"},
    "current_conversation": null,
    "source_id": "c6b1a7de-0b5f-4b5e-9f0c-3c3f0c3c1d2e",
    "event": "webwidget_triggered",
    "event_info": {"initiated_at": {"timestamp": "Mon Jun 16 2025 17:41:16 GMT+0200"}, "referer": "https://acme.example/help", "widget_language": null, "browser_language": "en", "browser": {"browser_name": "Firefox", "browser_version": "126.0", "device_name": "Unknown", "platform_name": "Linux", "platform_version": "0"}}
  })json");
  auto ev = parse_ok(j);
  CHECK(ev.event == "webwidget_triggered");
  CHECK(ev.account_id == 1);
  CHECK(ev.inbox_id == 3);
  REQUIRE(ev.contact);
  CHECK(ev.contact->id == 42);
  CHECK_FALSE(ev.conversation_id);
  CHECK_FALSE(should_bot_answer(ev));
  j["current_conversation"] = json::parse(status_changed_null);
  auto with_conv = parse_ok(j);
  CHECK(with_conv.conversation_id == 5);
  CHECK(with_conv.contact->id == 42); // the top-level contact is kept
}

TEST_CASE("the documented sample payload (string ids, contact object) still parses", "[chatwoot]") {
  // docs/webhooks.md sample, with its comments removed: ids are strings there.
  auto ev = parse_ok(json::parse(R"json({
    "event": "message_created",
    "id": "1",
    "content": "Hi",
    "created_at": "2020-03-03 13:05:57 UTC",
    "message_type": "incoming",
    "content_type": "text",
    "content_attributes": {},
    "source_id": "",
    "sender": {"id": "1", "name": "Agent", "email": "agent@example.com"},
    "contact": {"id": "1", "name": "contact-name"},
    "conversation": {"display_id": "1", "additional_attributes": {}},
    "account": {"id": "1", "name": "Chatwoot"}
  })json"));
  CHECK(ev.message->id == 1);
  CHECK(ev.account_id == 1);
  CHECK(ev.conversation_id == 1);
  CHECK(ev.message->created_at_unix == 1583240757);
  CHECK(ev.conversation_status.empty());
  CHECK_FALSE(should_bot_answer(ev));
}

TEST_CASE("created_at accepts ISO-8601 with offset and unix seconds", "[chatwoot]") {
  auto j = incoming();
  j["created_at"] = "2025-06-16T17:41:16+02:00";
  CHECK(parse_ok(j).message->created_at_unix == 1750088476);
  j["created_at"] = 1750088476;
  auto ev = parse_ok(j);
  CHECK(ev.message->created_at_unix == 1750088476);
  CHECK(ev.message->created_at == "1750088476");
  j["created_at"] = "yesterday";
  ev = parse_ok(j);
  CHECK(ev.message->created_at == "yesterday");
  CHECK_FALSE(ev.message->created_at_unix);
}

TEST_CASE("malformed webhooks give reasons naming the field", "[chatwoot]") {
  CHECK_THAT(reason_of(parse_err("")), Catch::Contains("invalid JSON"));
  CHECK_THAT(reason_of(parse_err("{\"event\": ")), Catch::Contains("invalid JSON"));
  CHECK_THAT(reason_of(parse_err("[1,2]")), Catch::Contains("expected a JSON object"));
  CHECK_THAT(reason_of(parse_err("{}")), Catch::Contains("event: missing"));
  CHECK_THAT(reason_of(parse_err("{\"event\": 5}")), Catch::Contains("event: expected a string"));
  // Invalid UTF-8 inside a string is rejected by the JSON parser.
  CHECK_THAT(reason_of(parse_err("{\"event\": \"message_created\", \"content\": \"\xC3\x28\"}")),
             Catch::Contains("invalid JSON"));

  struct {
    const char* what;
    std::function<void(json&)> edit;
    const char* reason;
  } cases[] = {
      {"no message id", [](json& j) { j.erase("id"); }, "id: missing"},
      {"id not a number", [](json& j) { j["id"] = "abc"; }, "id: expected an integer id"},
      {"no message_type", [](json& j) { j.erase("message_type"); }, "message_type: missing"},
      {"unknown message_type", [](json& j) { j["message_type"] = "sideways"; },
       "message_type: unknown value 'sideways'"},
      {"message_type out of range", [](json& j) { j["message_type"] = 7; },
       "message_type: unknown value 7"},
      {"message_type a bool", [](json& j) { j["message_type"] = true; },
       "message_type: expected a string or an integer"},
      {"no conversation", [](json& j) { j.erase("conversation"); }, "conversation: missing"},
      {"conversation not an object", [](json& j) { j["conversation"] = 17; },
       "conversation: expected an object"},
      {"no conversation id", [](json& j) { j["conversation"].erase("id"); },
       "conversation.id: missing"},
      {"conversation id a float", [](json& j) { j["conversation"]["id"] = 1.5; },
       "conversation.id: expected an integer id"},
      {"status not a string", [](json& j) { j["conversation"]["status"] = 0; },
       "conversation.status: expected a string"},
      {"private not a bool", [](json& j) { j["private"] = "no"; }, "private: expected a boolean"},
      {"content not a string", [](json& j) { j["content"] = json::array(); },
       "content: expected a string"},
      {"account id wrong", [](json& j) { j["account"]["id"] = json::object(); },
       "account.id: expected an integer id"},
      {"contact without id", [](json& j) { j["conversation"]["meta"]["sender"].erase("id"); },
       "conversation.meta.sender.id: missing"},
      {"created_at an object", [](json& j) { j["created_at"] = json::object(); },
       "created_at: expected a string or an integer"},
  };
  for (auto& c : cases) {
    INFO(c.what);
    auto j = incoming();
    c.edit(j);
    CHECK(reason_of(parse_err(j.dump())) == c.reason);
  }
}

TEST_CASE("create-message and toggle_status bodies follow the v4.13 swagger", "[chatwoot]") {
  // conversation_message_create_payload: content (required), message_type (outgoing|incoming),
  // private, content_type; toggle_status: status in open|resolved|pending|snoozed.
  auto body = json::parse(chatwoot_message_body("Refunds take <5 days> & \"more\" 💸"));
  CHECK(body
        == json{{"content", "Refunds take <5 days> & \"more\" 💸"},
                {"message_type", "outgoing"},
                {"private", false},
                {"content_type", "text"}});
  auto note = json::parse(chatwoot_message_body("Bot handoff", true));
  CHECK(note["private"] == true);
  CHECK(note["message_type"] == "outgoing");
  // Invalid UTF-8 cannot break the JSON: it is replaced.
  auto bad = json::parse(chatwoot_message_body("ok\xFF"));
  CHECK(bad["content"] == "ok\xEF\xBF\xBD");

  for (auto status : {"open", "resolved", "pending", "snoozed"}) {
    auto t = chatwoot_toggle_status_body(status);
    REQUIRE(t);
    CHECK(json::parse(*t) == json{{"status", status}});
  }
  auto wrong = chatwoot_toggle_status_body("closed");
  REQUIRE_FALSE(wrong);
  CHECK(code_of(wrong.error()) == sb_error::invalid_argument);
  CHECK_THAT(reason_of(wrong.error()), Catch::Contains("status: must be one of"));
}

TEST_CASE("article list keeps published articles only", "[chatwoot]") {
  auto body = switchboard::test::read_file(std::string{SB_SOURCE_DIR}
                                           + "/tests/fixtures/articles/help_center_articles.json");
  auto articles = parse_chatwoot_articles(body);
  REQUIRE(articles);
  auto fixture = json::parse(body);
  std::size_t published = 0;
  for (auto& a : fixture["payload"])
    published += a["status"] == "published" || a["status"] == 1;
  REQUIRE(published == 10);
  REQUIRE(articles->size() == published);
  const auto& first = articles->front();
  CHECK(first.id == 101);
  CHECK(first.title == "Refund policy");
  CHECK(first.slug == "101-refund-policy");
  CHECK(first.description == "When and how you get your money back.");
  CHECK_THAT(first.content, Catch::StartsWith("# Refund policy"));
  CHECK(first.url.empty());
  CHECK(first.locale == "en"); // from "category": {"locale"}, where Chatwoot's article view has it
  CHECK(articles->back().id == 112); // integer status 1
  for (auto& a : *articles)
    CHECK((a.id != 110 && a.id != 111 && a.id != 113));
}

TEST_CASE("an article's locale is its own, else its category's", "[chatwoot]") {
  auto body = R"({"payload": [
    {"id": 1, "status": "published", "locale": "pt_BR", "category": {"locale": "en"}},
    {"id": 2, "status": "published", "category": {"id": 3, "locale": "fr"}},
    {"id": 3, "status": "published", "locale": null, "category": null},
    {"id": 4, "status": "published"}]})";
  auto articles = parse_chatwoot_articles(body);
  REQUIRE(articles);
  REQUIRE(articles->size() == 4);
  CHECK((*articles)[0].locale == "pt_BR");
  CHECK((*articles)[1].locale == "fr");
  CHECK((*articles)[2].locale.empty());
  CHECK((*articles)[3].locale.empty());
}

TEST_CASE("article list errors", "[chatwoot]") {
  auto err = [](std::string_view body) {
    auto r = parse_chatwoot_articles(body);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == sb_error::malformed);
    return reason_of(r.error());
  };
  CHECK_THAT(err("not json"), Catch::Contains("invalid JSON"));
  CHECK(err("{\"meta\": {}}") == "payload: expected an array of articles");
  CHECK(err("{\"payload\": {}}") == "payload: expected an array of articles");
  CHECK(err("{\"payload\": [5]}") == "payload[0]: expected an object");
  CHECK(err(R"({"payload": [{"status": "published", "title": "x"}]})") == "payload[0].id: missing");
  CHECK(err(R"({"payload": [{"id": 1, "status": "published", "title": 7}]})")
        == "payload[0].title: expected a string");
  auto empty = parse_chatwoot_articles(R"({"payload": [], "meta": {"articles_count": 0}})");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("links to conversations and articles", "[chatwoot]") {
  CHECK(chatwoot_conversation_url("https://chat.example.com", 1, 17)
        == "https://chat.example.com/app/accounts/1/conversations/17");
  CHECK(chatwoot_conversation_url("https://chat.example.com/", 2, 3)
        == "https://chat.example.com/app/accounts/2/conversations/3");
  CHECK(chatwoot_article_url("https://chat.example.com/", "acme", "101-refund-policy")
        == "https://chat.example.com/hc/acme/articles/101-refund-policy");
  CHECK(chatwoot_article_url("https://x", "a b", "c/d") == "https://x/hc/a%20b/articles/c%2Fd");
}

TEST_CASE("a refused Help Center read says why, by status", "[chatwoot]") {
  auto bot_only = help_center_refusal(401, false);
  CHECK(bot_only.rfind("Chatwoot answered HTTP 401 to the Help Center read: ", 0) == 0);
  CHECK(bot_only.find("chatwoot.user_token is not set") != std::string::npos);
  CHECK(bot_only.find("agent-bot token") != std::string::npos);
  CHECK(help_center_refusal(401, true).find("chatwoot.user_token is not a valid access token")
        != std::string::npos);
  CHECK(help_center_refusal(403, true).find("may not read") != std::string::npos);
  CHECK(help_center_refusal(404, true).find("no such account or portal") != std::string::npos);
  CHECK(help_center_refusal(500, true).empty());
  CHECK(help_center_refusal(429, false).empty());
}

TEST_CASE("the dedupe key is the event and the message id, never the delivery header",
          "[chatwoot]") {
  auto j = incoming();
  auto ev = parse_ok(j);
  auto key = chatwoot_dedupe_key(ev, j.dump());
  CHECK(key == "message_created:" + std::to_string(ev.message->id));
  // A redelivery re-serialised differently (another timestamp field, another key order) is the
  // same message: the same key.
  auto again = j;
  again["created_at"] = "2024-05-03T10:00:09.000Z";
  CHECK(chatwoot_dedupe_key(parse_ok(again), again.dump(2)) == key);
  // Another message is another event, and message_updated is not message_created.
  auto other = j;
  other["id"] = ev.message->id + 1;
  CHECK(chatwoot_dedupe_key(parse_ok(other), other.dump()) != key);
  auto updated = j;
  updated["event"] = "message_updated";
  auto updated_key = chatwoot_dedupe_key(parse_ok(updated), updated.dump());
  CHECK(updated_key.rfind("message_updated:" + std::to_string(ev.message->id) + ":", 0) == 0);
  // Two different updates of one message are two events; the same update twice is one.
  auto edited = updated;
  edited["content"] = "edited again";
  CHECK(chatwoot_dedupe_key(parse_ok(edited), edited.dump()) != updated_key);
  CHECK(chatwoot_dedupe_key(parse_ok(updated), updated.dump()) == updated_key);
  // Events without a message: the body's digest.
  auto status = json::parse(status_changed_null);
  CHECK(chatwoot_dedupe_key(parse_ok(status), status.dump()) == to_hex(sha256(status.dump())));
}

TEST_CASE("the id of a posted Chatwoot message", "[chatwoot]") {
  CHECK(chatwoot_posted_message_id(R"({"id": 4711, "content": "Hi", "message_type": 1})")
        == "4711");
  CHECK(chatwoot_posted_message_id(R"({"id": "m-1"})") == "m-1");
  CHECK(chatwoot_posted_message_id(R"({"content": "Hi"})").empty());
  CHECK(chatwoot_posted_message_id("not json").empty());
  CHECK(chatwoot_posted_message_id(R"([1])").empty());
}
