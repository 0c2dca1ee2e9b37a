// The session actor (actors/session.cpp) under CAF's deterministic test scheduler, reached
// through its router, with the storage and LLM actors as scripted fakes (fakes.hpp): a burst is
// answered in arrival order, a message arriving while the answer is generated joins it instead
// of getting a second answer alongside, passivation never takes a session with work in flight,
// and an LLM answer arriving late (after the deadline, after passivation) sends nothing twice
// and loses nothing.

#include <catch2/catch.hpp>

#include "tests/support/fixtures.hpp"
#include "tests/unit/actors/fakes.hpp"

using namespace switchboard;
using namespace switchboard::actors;
using switchboard::test::answer;

namespace {

const std::string phone = "+15550001111";

storage::delivery_row inbound(int64_t id, std::string body) {
  storage::delivery_row r;
  r.id = id;
  r.session_id = 7;
  r.profile_id = 3;
  r.channel = "sms";
  r.provider = "mtn";
  r.direction = "inbound";
  r.message_type = "text";
  r.status = "received";
  r.recipient = phone;
  r.body = std::move(body);
  r.correlation_id = "c-" + std::to_string(id);
  r.claim_token = "claim-" + std::to_string(id);
  return r;
}

/// The user messages an LLM request shows, in order.
std::vector<std::string> user_texts(const llm_call& c) {
  std::vector<std::string> out;
  auto doc = nlohmann::json::parse(c.body);
  for (auto& m : doc.at("messages"))
    if (m.at("role") == "user")
      out.push_back(m.at("content").get<std::string>());
  return out;
}

std::vector<int64_t> answered_ids(const batch_request& r) {
  std::vector<int64_t> out;
  for (auto& i : std::any_cast<const storage::reply_request&>(r.input).inbound)
    out.push_back(i.id);
  return out;
}

struct session_fixture : test::actor_harness {
  session_router_actor router;

  /// `load`: the acknowledgement path's load the router reads (none: never yielding).
  explicit session_fixture(std::size_t reply_burst = 10, double reply_rate_per_min = 60,
                           std::shared_ptr<ingest_load> load = nullptr,
                           std::size_t min_active = 64) {
    cfg.inbox.min_active = min_active;
    cfg.session.coalesce = std::chrono::milliseconds{1000};
    cfg.session.reply_burst = reply_burst;
    cfg.session.reply_rate_per_min = reply_rate_per_min;
    cfg.llm.timeout = std::chrono::seconds{20}; // the session waits 22 s
    cfg.actors.idle_passivate = std::chrono::seconds{10};
    followup_prompt = "You are a helpful assistant.";
    start_fakes();
    auto deps = std::make_shared<session_deps>(*make_session_deps());
    deps->routing.load = std::move(load);
    router = keep(spawn_session_router(*sys, deps));
    run();
  }

  void wake() {
    caf::anon_send(router, wake_atom::value, phone);
    run();
  }

  /// Answers the pending accept with these rows.
  /// Answers the pending accept with `rows`; `more`: the take reached the per-user cap.
  void accept(std::vector<storage::delivery_row> rows, bool more = false) {
    auto b = db.take_batch("accept_messages");
    REQUIRE(b);
    CHECK(std::any_cast<const storage::accept_request&>(b->input).phone == phone);
    storage::accepted_messages a;
    a.profile.id = 3;
    a.profile.phone_number = phone;
    a.session.id = 7;
    a.inbound = std::move(rows);
    a.more = more;
    answer(b->done, std::move(a));
    run();
  }

  /// Answers the pending history read (no earlier messages).
  void history() {
    auto j = db.take_job("history");
    REQUIRE(j);
    answer(j->done, std::vector<storage::delivery_row>{});
    run();
  }

  /// The user's messages the one LLM call in flight shows, in order.
  std::vector<std::string> asked() {
    REQUIRE(llm.pending.size() == 1);
    return user_texts(llm.pending[0].call);
  }

  /// Wakes the session with these pending rows and lets the coalescing window close: the LLM is
  /// being asked.
  void generating(std::vector<storage::delivery_row> rows) {
    wake();
    accept(std::move(rows));
    advance(cfg.session.coalesce);
    history();
  }

  /// Answers the oldest LLM call with the recorded chat completion fixture.
  void llm_answers() {
    auto c = llm.take();
    REQUIRE(c);
    c->deliver(test::read_fixture("openai/chat_completion_response_text.json"));
    run();
  }

  /// Answers the pending reply with a queued row, which the session hands to the SMS adapter.
  std::vector<int64_t> reply_queued(int64_t id) {
    auto b = db.take_batch("queue_replies");
    REQUIRE(b);
    auto ids = answered_ids(*b);
    auto& req = std::any_cast<const storage::reply_request&>(b->input);
    storage::delivery_row row;
    row.id = id;
    row.channel = req.channel;
    row.provider = "mtn";
    row.direction = "outbound";
    row.message_type = "reply";
    row.status = "queued";
    row.recipient = phone;
    row.body = req.text;
    row.claim_token = "out-claim";
    answer(b->done, std::optional<storage::delivery_row>{row});
    run();
    return ids;
  }

  double live() { return metric("switchboard_live_actors", {{"kind", "session"}}); }
};

} // namespace

TEST_CASE("session: a burst is answered once, its messages in arrival order", "[actors]") {
  session_fixture f;
  f.wake();
  f.accept({inbound(1, "hi"), inbound(2, "I need"), inbound(3, "to change my booking")});
  // The coalescing window: nothing is asked before it closes.
  f.advance(std::chrono::milliseconds{900});
  CHECK(f.db.count("history") == 0);
  f.advance(std::chrono::milliseconds{100});
  f.history();
  CHECK(f.asked() == std::vector<std::string>{"hi", "I need", "to change my booking"});
  f.llm_answers();
  CHECK(f.reply_queued(100) == std::vector<int64_t>{1, 2, 3});
  REQUIRE(f.sms.sends.size() == 1);
  CHECK(f.sms.sends[0].delivery_id == 100);
  CHECK(f.sms.sends[0].body == "Hello! How can I assist you today?");
  CHECK(f.llm.total == 1);
}

TEST_CASE("session: a message arriving while the answer is generated joins it, not a second "
          "answer interleaved with it",
          "[actors]") {
  session_fixture f;
  f.generating({inbound(1, "hi"), inbound(2, "I need")});
  REQUIRE(f.llm.pending.size() == 1);
  // The next message is woken and accepted while the LLM is answering the first two.
  f.wake();
  f.accept({inbound(3, "to change my booking")});
  f.advance(std::chrono::milliseconds{5000});
  CHECK(f.llm.pending.size() == 1); // no second generation started beside the first
  CHECK(f.db.count("queue_replies") == 0);
  // The first answer comes back stale: it is generated again, with all three, in order.
  f.llm_answers();
  CHECK(f.db.count("queue_replies") == 0);
  f.history();
  CHECK(f.asked() == std::vector<std::string>{"hi", "I need", "to change my booking"});
  f.llm_answers();
  CHECK(f.reply_queued(100) == std::vector<int64_t>{1, 2, 3});
  CHECK(f.db.count("queue_replies") == 1);
  CHECK(f.sms.sends.size() == 1);
  CHECK(f.llm.total == 2);
}

TEST_CASE("session: a second wake-up during an accept is accepted after it, in order", "[actors]") {
  session_fixture f;
  f.wake();
  f.wake(); // arrives while the first accept is in flight: not a second accept beside it
  CHECK(f.db.count("accept_messages") == 1);
  f.accept({inbound(1, "hi")});
  CHECK(f.db.count("accept_messages") == 2);
  f.accept({inbound(2, "again")});
  f.advance(std::chrono::milliseconds{1000});
  f.history();
  CHECK(f.asked() == std::vector<std::string>{"hi", "again"});
}

TEST_CASE("session: passivation never stops a session whose answer is in flight", "[actors]") {
  session_fixture f;
  f.generating({inbound(1, "hi")});
  REQUIRE(f.llm.pending.size() == 1);
  // Twice the idle period passes while the LLM answers (within its 22 s deadline).
  for (int i = 0; i < 4; ++i)
    f.advance(std::chrono::seconds{5});
  CHECK(f.live() == 1);
  f.llm_answers();
  CHECK(f.reply_queued(100) == std::vector<int64_t>{1});
  CHECK(f.sms.sends.size() == 1);
  // Now idle: passivated after the idle period.
  for (int i = 0; i < 6; ++i)
    f.advance(std::chrono::seconds{5});
  CHECK(f.live() == 0);
}

TEST_CASE("session: an LLM answer arriving after the deadline and after passivation sends "
          "nothing twice and loses nothing",
          "[actors]") {
  session_fixture f;
  f.generating({inbound(1, "hi")});
  auto late = f.llm.take();
  REQUIRE(late);
  // The LLM misses the deadline: the built-in responder answers, recorded like any reply.
  f.advance(std::chrono::seconds{23});
  CHECK(f.metric("switchboard_fallback_replies_total", {{"reason", "LLM timeout"}}) == 1);
  CHECK(f.reply_queued(100) == std::vector<int64_t>{1});
  REQUIRE(f.sms.sends.size() == 1);
  // Idle: passivated.
  for (int i = 0; i < 6; ++i)
    f.advance(std::chrono::seconds{5});
  CHECK(f.live() == 0);
  // The LLM's answer finally arrives: it is no second reply.
  late->deliver(test::read_fixture("openai/chat_completion_response_text.json"));
  f.run();
  CHECK(f.db.count("queue_replies") == 1);
  CHECK(f.sms.sends.size() == 1);
  // The user's next message is handled by a new incarnation, rebuilt from the database.
  f.wake();
  CHECK(f.live() == 1);
  f.accept({inbound(2, "thanks")});
  f.advance(std::chrono::milliseconds{1000});
  f.history();
  CHECK(f.asked() == std::vector<std::string>{"thanks"});
  f.llm_answers();
  CHECK(f.reply_queued(101) == std::vector<int64_t>{2});
  CHECK(f.sms.sends.size() == 2);
}

TEST_CASE("session: an accept the database fails leaves the messages for the next wake-up",
          "[actors]") {
  session_fixture f;
  f.wake();
  auto b = f.db.take_batch("accept_messages");
  REQUIRE(b);
  test::fail(b->done, caf::make_error(core::sb_error::unavailable, std::string{"db down"}));
  f.run();
  CHECK(f.db.count("history") == 0);
  CHECK(f.llm.total == 0);
  // The poller wakes the session again: the same messages are accepted and answered.
  f.generating({inbound(1, "hi")});
  CHECK(f.asked() == std::vector<std::string>{"hi"});
  f.llm_answers();
  CHECK(f.reply_queued(100) == std::vector<int64_t>{1});
  CHECK(f.sms.sends.size() == 1);
}

TEST_CASE("session: past the reply bucket, new messages wait in the inbox and one accept takes "
          "them when a token frees up, for one answer",
          "[actors]") {
  session_fixture f{1, 6}; // one answer, then one every 10 s
  f.generating({inbound(1, "one")});
  f.llm_answers();
  CHECK(f.reply_queued(100) == std::vector<int64_t>{1});
  // The bucket is empty: the next burst is gathered, then held back.
  f.wake();
  f.accept({inbound(2, "two")});
  f.advance(std::chrono::milliseconds{1000});
  CHECK(f.llm.pending.empty());
  // Held: what arrives meanwhile stays in the inbox (no accept per wake-up, no rows in memory).
  f.wake();
  f.wake();
  CHECK(f.db.count("accept_messages") == 2);
  f.advance(std::chrono::seconds{10});
  // The token: one accept takes what waited, then one answer covers all of it, in order.
  CHECK(f.db.count("accept_messages") == 3);
  CHECK(f.llm.pending.empty());
  SECTION("one accept takes all that waited") {
    f.accept({inbound(3, "three"), inbound(4, "four")});
    f.history();
    CHECK(f.asked() == std::vector<std::string>{"two", "three", "four"});
    f.llm_answers();
    CHECK(f.reply_queued(101) == std::vector<int64_t>{2, 3, 4});
    CHECK(f.llm.total == 2);
    CHECK(f.sms.sends.size() == 2);
  }
  SECTION("a take that reaches the per-user cap is followed by another before the answer") {
    f.accept({inbound(3, "three"), inbound(4, "four")}, true);
    CHECK(f.db.count("accept_messages") == 4);
    CHECK(f.llm.pending.empty());
    f.accept({inbound(5, "five"), inbound(6, "six")}, true);
    CHECK(f.llm.pending.empty());
    f.accept({inbound(7, "seven")});
    CHECK(f.db.count("accept_messages") == 5);
    f.history();
    CHECK(f.asked() == std::vector<std::string>{"two", "three", "four", "five", "six", "seven"});
    f.llm_answers();
    CHECK(f.reply_queued(101) == std::vector<int64_t>{2, 3, 4, 5, 6, 7});
    CHECK(f.llm.total == 2);
  }
}

TEST_CASE("session: while acknowledgements are slow, a session waiting for its gathering window "
          "leaves room under inbox.min_active for another user's; under overload it does not",
          "[actors]") {
  auto load = std::make_shared<ingest_load>();
  load->slow_until_ms = ingest_load::now_ms() + 3600 * 1000; // slow acknowledgements
  session_fixture f{10, 60, load, 1};
  auto wake_other = [&](const std::string& other) {
    caf::anon_send(f.router, wake_atom::value, other);
    f.run();
  };
  f.wake();
  CHECK(f.db.count("accept_messages") == 1);
  wake_other("+15550002222"); // the first user's accept is at work: min_active reached
  CHECK(f.db.count("accept_messages") == 1);
  f.accept({inbound(1, "hi")}); // accepted: it only waits for its window now
  wake_other("+15550002222");
  CHECK(f.db.count("accept_messages") == 2);
  auto other = f.db.take_batch("accept_messages");
  REQUIRE(other);
  CHECK(std::any_cast<const storage::accept_request&>(other->input).phone == "+15550002222");

  // Overloaded (webhooks waiting to be stored): every live session counts.
  load->backlog = 1000;
  wake_other("+15550003333");
  CHECK(f.db.count("accept_messages") == 2);
  // The first user's answer is not held back by the overload: its window closes, it answers.
  f.advance(std::chrono::milliseconds{1000});
  f.history();
  CHECK(f.asked() == std::vector<std::string>{"hi"});
}
