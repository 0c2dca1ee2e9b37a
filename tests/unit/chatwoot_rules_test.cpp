// The Chatwoot conversation rules of core/bot/chatwoot.hpp, over the parsed event (no wire
// format: providers/chatwoot's codec tests parse the webhooks into it).

#include <catch2/catch.hpp>

#include <optional>

#include "core/bot/chatwoot.hpp"

using namespace switchboard::core;

namespace {

/// A new question: message_created, incoming, public, by a contact, in a pending conversation.
chatwoot_event question() {
  chatwoot_event ev;
  ev.event = "message_created";
  ev.account_id = 1;
  ev.conversation_id = 7;
  ev.conversation_status = "pending";
  chatwoot_message m;
  m.id = 100;
  m.content = "How do I reset my password?";
  m.type = chatwoot_message_type::incoming;
  m.sender_type = chatwoot_sender_type::contact;
  ev.message = m;
  return ev;
}

} // namespace

TEST_CASE("should_bot_answer needs every condition", "[chatwoot]") {
  CHECK(should_bot_answer(question()));
  SECTION("not pending: a human has the conversation") {
    for (auto status : {"open", "resolved", "snoozed", ""}) {
      auto ev = question();
      ev.conversation_status = status;
      CHECK_FALSE(should_bot_answer(ev));
    }
  }
  SECTION("only message_created is a new question") {
    for (auto event : {"message_updated", "conversation_created", "conversation_status_changed"}) {
      auto ev = question();
      ev.event = event;
      CHECK_FALSE(should_bot_answer(ev));
    }
  }
  SECTION("no message") {
    auto ev = question();
    ev.message.reset();
    CHECK_FALSE(should_bot_answer(ev));
  }
  SECTION("only incoming messages") {
    for (auto type : {chatwoot_message_type::outgoing, chatwoot_message_type::activity,
                      chatwoot_message_type::template_message}) {
      auto ev = question();
      ev.message->type = type;
      CHECK_FALSE(should_bot_answer(ev));
    }
  }
  SECTION("a private note is never answered") {
    auto ev = question();
    ev.message->is_private = true;
    CHECK_FALSE(should_bot_answer(ev));
  }
  SECTION("only a contact's messages") {
    for (auto sender : {chatwoot_sender_type::unknown, chatwoot_sender_type::user,
                        chatwoot_sender_type::agent_bot}) {
      auto ev = question();
      ev.message->sender_type = sender;
      CHECK_FALSE(should_bot_answer(ev));
    }
  }
}

TEST_CASE("hand-off rule: changed_attributes' previous status first, else the stored one",
          "[chatwoot]") {
  using seen = std::optional<chatwoot_seen>;
  const seen none;
  const seen pending = chatwoot_seen{"pending", false};
  const seen open = chatwoot_seen{"open", true};
  const seen resolved = chatwoot_seen{"resolved", false};
  const seen handed_back = chatwoot_seen{"open", true};

  SECTION("first event stored for the conversation") {
    // pending -> open in changed_attributes (the earlier webhooks were lost): a hand-off.
    auto t = chatwoot_status_transition(none, "open", "pending");
    CHECK(t.became_open);
    CHECK(t.status == "open");
    CHECK(chatwoot_status_transition(none, "open", "resolved").became_open);
    CHECK(chatwoot_status_transition(none, "open", "snoozed").became_open);
    // No previous status, an unknown one, or open -> open: none is invented.
    CHECK_FALSE(chatwoot_status_transition(none, "open", "").became_open);
    CHECK_FALSE(chatwoot_status_transition(none, "open", "archived").became_open);
    CHECK_FALSE(chatwoot_status_transition(none, "open", "open").became_open);
    CHECK_FALSE(chatwoot_status_transition(none, "pending", "open").became_open);
    CHECK_FALSE(chatwoot_status_transition(none, "pending", "open").resumed);
    CHECK(chatwoot_status_transition(none, "", "").status == "pending");
  }
  SECTION("a stored conversation") {
    // changed_attributes null: the stored status is the previous one.
    CHECK(chatwoot_status_transition(pending, "open", "").became_open);
    CHECK(chatwoot_status_transition(resolved, "open", "").became_open);
    CHECK(chatwoot_status_transition(pending, "open", "pending").became_open);
    // changed_attributes wins over the stored status when it has one.
    CHECK_FALSE(chatwoot_status_transition(pending, "open", "open").became_open);
    // Stored open: Chatwoot echoing our own toggle, or the same change in conversation_updated.
    CHECK_FALSE(chatwoot_status_transition(open, "open", "pending").became_open);
    CHECK_FALSE(chatwoot_status_transition(open, "open", "").became_open);
    // Back to pending after a hand-off: the bot answers again.
    auto back = chatwoot_status_transition(handed_back, "pending", "open");
    CHECK(back.resumed);
    CHECK(back.status == "pending");
    CHECK_FALSE(chatwoot_status_transition(pending, "pending", "").resumed);
    // A status the rule does not know changes nothing.
    auto odd = chatwoot_status_transition(resolved, "archived", "resolved");
    CHECK(odd.status == "resolved");
    CHECK_FALSE(odd.became_open);
  }
}
