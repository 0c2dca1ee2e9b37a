// The Chatwoot conversation actor (actors/conversation.cpp) under CAF's deterministic test
// scheduler, reached through its router, with the storage, articles, LLM and patient HTTP
// (Chatwoot API) actors as scripted fakes (fakes.hpp): events are handled one at a time in the
// inbox's order, a customer asking for a human is handed off (recorded, notified, toggled open,
// noted), and questions past the reply bucket (chatwoot.reply_burst) wait and get one answer.

#include <catch2/catch.hpp>

#include "core/bot/bot.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/actors/fakes.hpp"

using namespace switchboard;
using namespace switchboard::actors;
using switchboard::test::answer;

namespace {

const std::string key = "1:42";

core::chatwoot_inbound question(const std::string& text, int n) {
  core::chatwoot_inbound ev;
  ev.account_id = 1;
  ev.conversation_id = 42;
  ev.event = "message_created";
  ev.status = "pending";
  ev.customer_message = true;
  ev.bot_should_answer = true;
  ev.content = text;
  ev.correlation_id = "c-" + std::to_string(n);
  return ev;
}

storage::chatwoot_accepted bot_owned() {
  storage::chatwoot_accepted a;
  a.conversation.account_id = 1;
  a.conversation.conversation_id = 42;
  a.conversation.status = "pending";
  a.conversation.bot_state = "active";
  a.provider = storage::provider_route{5, "Acme", "help", "sms", 0, "+15550002222", ""};
  return a;
}

std::shared_ptr<article_set> help_center() {
  auto set = std::make_shared<article_set>();
  auto add = [&](int64_t id, std::string title, std::string content) {
    core::help_article a;
    a.id = id;
    a.title = std::move(title);
    a.content = std::move(content);
    a.locale = "en";
    set->articles.push_back(std::move(a));
  };
  add(1, "Refunds", "You can get a refund within 30 days. Open your orders and choose Refund.");
  add(2, "Shipping times", "Parcels arrive within five working days.");
  add(3, "Passwords", "Reset your password from the sign-in page.");
  set->index = core::help_center_index(set->articles);
  return set;
}

/// A chat completion whose content is a grounded answer citing article 1.
std::string grounded(const std::string& text) {
  auto doc = test::fixture_json("openai/chat_completion_response_text.json");
  doc["choices"][0]["message"]["content"]
      = nlohmann::json{{"answer", text}, {"sources", {"1"}}, {"confidence", 0.9}}.dump();
  return doc.dump();
}

struct conversation_fixture : test::actor_harness {
  conversation_router_actor router;
  int answers_recorded = 0; ///< bot_answers writes answered by chatwoot_accepts

  explicit conversation_fixture(std::size_t reply_burst = 5, double rate_per_min = 10) {
    cfg.chatwoot.reply_burst = reply_burst;
    cfg.chatwoot.reply_rate_per_min = rate_per_min;
    cfg.chatwoot.min_score = 0.01;
    cfg.chatwoot.base_url = "http://chatwoot.test";
    cfg.actors.idle_passivate = std::chrono::seconds{600};
    bot_prompt = "Answer from the articles.";
    articles.set = help_center();
    start_fakes();
    router = keep(spawn_conversation_router(*sys, make_conversation_deps()));
    run();
  }

  /// Wakes the conversation and answers its take with these events.
  void take(chatwoot_events events) {
    caf::anon_send(router, wake_atom::value, key);
    run();
    auto b = db.take_batch("chatwoot_events");
    REQUIRE(b);
    CHECK(std::any_cast<const std::string&>(b->input) == key);
    answer(b->done, std::move(events));
    run();
  }

  /// The LLM answers its oldest call; returns the question it was asked.
  std::string llm_answers(const std::string& text) {
    auto c = llm.take();
    REQUIRE(c);
    std::string asked;
    auto doc = nlohmann::json::parse(c->call.body);
    for (auto& m : doc.at("messages"))
      if (m.at("role") == "user")
        asked = m.at("content").get<std::string>();
    c->deliver(grounded(text));
    run();
    return asked;
  }

  /// Chatwoot accepts the oldest call; returns (path suffix, body).
  std::pair<std::string, nlohmann::json> chatwoot_accepts() {
    auto c = patient.take();
    REQUIRE(c);
    auto url = c->call.url;
    auto body = nlohmann::json::parse(c->call.body);
    c->deliver(http_reply{200, {}, R"({"id": 9})", 1000});
    run();
    // A bot answer posted is recorded (bot_answers) before the conversation takes the next event.
    if (auto j = db.take_job("bot_answer")) {
      ++answers_recorded;
      answer(j->done, 0);
      run();
    }
    return {url.substr(url.rfind('/')), body};
  }
};

} // namespace

TEST_CASE("conversation: events are handled one at a time, in the inbox's order", "[actors]") {
  conversation_fixture f;
  f.take({{question("How do I get a refund?", 1), bot_owned()},
          {question("Can I get a refund for shipping?", 2), bot_owned()}});
  // Only the first question is being answered; the second waits its turn.
  CHECK(f.articles.asked == 1);
  REQUIRE(f.llm.pending.size() == 1);
  CHECK(f.llm_answers("Within 30 days.") == "How do I get a refund?");
  CHECK(f.articles.asked == 1); // still: the first answer is not posted yet
  auto [path1, body1] = f.chatwoot_accepts();
  CHECK(path1 == "/messages");
  CHECK(body1.at("content").get<std::string>().find("Within 30 days.") != std::string::npos);
  CHECK(body1.at("private") == false);
  // Now the second.
  CHECK(f.articles.asked == 2);
  CHECK(f.llm_answers("Shipping is refunded too.") == "Can I get a refund for shipping?");
  auto [path2, body2] = f.chatwoot_accepts();
  CHECK(body2.at("content").get<std::string>().find("Shipping is refunded too.")
        != std::string::npos);
  CHECK(f.llm.total == 2);
  CHECK(f.patient.total == 2);
  CHECK(f.answers_recorded == 2); // each posted answer's bot_answers row
}

TEST_CASE("conversation: asking for a human hands off: recorded, notified, opened, noted",
          "[actors]") {
  conversation_fixture f;
  f.take({{question("I want to speak to a human please", 1), bot_owned()}});
  CHECK(f.articles.asked == 0);
  CHECK(f.llm.total == 0);
  auto j = f.db.take_job("handoff");
  REQUIRE(j);
  CHECK(f.patient.total == 0); // recorded before Chatwoot hears of it
  storage::handoff_result r;
  r.conversation = bot_owned().conversation;
  r.conversation.status = "open";
  r.conversation.bot_state = "handed_off";
  r.conversation.escalation_reason = "The customer asked for a human.";
  r.conversation.handoff_seq = 1;
  storage::notification_row n;
  n.id = 9;
  n.account_id = 1;
  n.conversation_id = 42;
  n.handoff_seq = 1;
  n.channel = "sms";
  n.recipient = "+15550002222";
  n.body = "Conversation 42 needs a human";
  n.status = "queued";
  n.claim_token = "n-claim";
  r.notification = n;
  answer(j->done, r);
  f.run();
  // The provider is notified once, through its channel's adapter, from the notifications box.
  REQUIRE(f.sms.sends.size() == 1);
  CHECK(f.sms.sends[0].delivery_id == 9);
  CHECK(f.sms.sends[0].box == 1);
  auto [toggle, toggle_body] = f.chatwoot_accepts();
  CHECK(toggle == "/toggle_status");
  CHECK(toggle_body.at("status") == "open");
  auto [note, note_body] = f.chatwoot_accepts();
  CHECK(note == "/messages");
  CHECK(note_body.at("private") == true);
  CHECK(f.patient.total == 2);
  CHECK(f.sms.sends.size() == 1);
}

TEST_CASE("conversation: a conversation a human opened notifies the provider once, silently",
          "[actors]") {
  conversation_fixture f;
  auto opened = bot_owned();
  opened.conversation.status = "open";
  opened.previous_status = "pending";
  opened.became_open = true;
  auto ev = question("", 1);
  ev.event = "conversation_status_changed";
  ev.status = "open";
  ev.customer_message = false;
  ev.bot_should_answer = false;
  f.take({{ev, opened}});
  auto j = f.db.take_job("handoff");
  REQUIRE(j);
  storage::handoff_result r;
  r.conversation = opened.conversation;
  r.no_config = true;
  answer(j->done, r);
  f.run();
  CHECK(f.patient.total == 0); // already open: no toggle, no note, no answer
  CHECK(f.llm.total == 0);
  CHECK(f.db.count("handoff") == 1);
}

TEST_CASE("conversation: questions past the reply bucket wait and get one answer together",
          "[actors]") {
  conversation_fixture f{1, 1}; // one answer, then one a minute
  f.take({{question("How do I get a refund?", 1), bot_owned()},
          {question("Can I get a refund for shipping?", 2), bot_owned()},
          {question("Is the refund paid to my card?", 3), bot_owned()}});
  CHECK(f.llm_answers("Within 30 days.") == "How do I get a refund?");
  f.chatwoot_accepts();
  // The other two are held: no search, no LLM call, no post.
  CHECK(f.articles.asked == 1);
  CHECK(f.llm.pending.empty());
  CHECK(f.metric("switchboard_replies_deferred_total", {{"kind", "conversation"}}) == 1);
  f.advance(std::chrono::seconds{30});
  CHECK(f.llm.pending.empty());
  // A token is back: one answer covers both, the questions in order.
  f.advance(std::chrono::seconds{31});
  REQUIRE(f.llm.pending.size() == 1);
  CHECK(f.llm_answers("Yes, to your card, shipping included.")
        == "Can I get a refund for shipping?\nIs the refund paid to my card?");
  auto [path, body] = f.chatwoot_accepts();
  CHECK(path == "/messages");
  CHECK(body.at("content").get<std::string>().find("to your card") != std::string::npos);
  CHECK(f.llm.total == 2);
  CHECK(f.patient.total == 2);
  CHECK(f.metric("switchboard_reply_coalesced_messages_total", {{"kind", "conversation"}}) == 2);
}

TEST_CASE("conversation: asking for a human never waits for the reply bucket", "[actors]") {
  conversation_fixture f{1, 1};
  f.take({{question("How do I get a refund?", 1), bot_owned()},
          {question("Can I get a refund for shipping?", 2), bot_owned()},
          {question("Let me talk to a real person", 3), bot_owned()}});
  f.llm_answers("Within 30 days.");
  f.chatwoot_accepts();
  // The held question goes to the human with the hand-off, at once.
  CHECK(f.db.count("handoff") == 1);
  auto j = f.db.take_job("handoff");
  REQUIRE(j);
  storage::handoff_result r;
  r.conversation = bot_owned().conversation;
  r.no_config = true;
  answer(j->done, r);
  f.run();
  auto [toggle, tb] = f.chatwoot_accepts();
  CHECK(toggle == "/toggle_status");
  f.chatwoot_accepts();
  // The bucket refills later: the handed-off question is not answered by the bot after all.
  f.advance(std::chrono::seconds{61});
  CHECK(f.llm.total == 1);
  CHECK(f.patient.total == 3);
}

TEST_CASE("conversation: a provider's reply is posted as an agent and the asker told whether "
          "Chatwoot took it",
          "[actors]") {
  conversation_fixture f;
  std::vector<std::string> outcomes;
  auto ask = [&](const std::string& text) {
    provider_reply r;
    r.account_id = 1;
    r.conversation_id = 42;
    r.text = text;
    r.chat_id = 77;
    r.message_id = 5;
    r.correlation_id = "tg-1";
    // The request and its answer as arguments: CAF 0.17 dereferences a null tuple when a
    // function-based actor is spawned without any (UBSan stops there).
    f.sys->spawn(
        [&outcomes](caf::event_based_actor* self, conversation_router_actor router,
                    provider_reply reply) {
          self->request(router, caf::infinite, std::move(reply))
              .then([&outcomes](bool ok) { outcomes.push_back(ok ? "posted" : "refused"); },
                    [&outcomes](caf::error&) { outcomes.push_back("error"); });
        },
        f.router, r);
    f.run();
  };

  // Through the router to the conversation: one outgoing, public message with the text.
  ask("Your refund is on its way.");
  CHECK(outcomes.empty()); // not before Chatwoot answered
  auto c = f.patient.take();
  REQUIRE(c);
  CHECK(c->call.url == "http://chatwoot.test/api/v1/accounts/1/conversations/42/messages");
  auto body = nlohmann::json::parse(c->call.body);
  CHECK(body.at("content") == "Your refund is on its way.");
  CHECK(body.at("message_type") == "outgoing");
  CHECK(body.at("private") == false);
  c->deliver(http_reply{200, {}, R"({"id": 10})", 1000});
  f.run();
  CHECK(outcomes == std::vector<std::string>{"posted"});

  // Chatwoot refuses the post: the asker hears so (the bridge tells the provider).
  ask("Second try.");
  c = f.patient.take();
  REQUIRE(c);
  c->deliver(http_reply{404, {}, R"({"error": "not found"})", 1000});
  f.run();
  CHECK(outcomes == std::vector<std::string>{"posted", "refused"});

  // Unreachable after its retries: refused too, not silence.
  ask("Third try.");
  c = f.patient.take();
  REQUIRE(c);
  c->deliver(caf::make_error(core::sb_error::provider_transient, "connection refused"));
  f.run();
  CHECK(outcomes == std::vector<std::string>{"posted", "refused", "refused"});
}
