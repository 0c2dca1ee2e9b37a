// The channel actor (actors/channel.cpp, over providers/whatsapp) under CAF's deterministic test
// scheduler, with the storage actor and the HTTP client as scripted fakes (fakes.hpp): a
// transient failure goes back to the durable retry schedule, the next attempt's success is
// recorded once, the provider's circuit breaker (core/circuit) holds sends back once it opens,
// and a provider answer arriving after the call timed out is not counted a second time.

#include <catch2/catch.hpp>

#include "tests/support/fixtures.hpp"
#include "tests/unit/actors/fakes.hpp"

using namespace switchboard;
using namespace switchboard::actors;
using switchboard::test::answer;

namespace {

outbound_send send_of(int64_t id) {
  outbound_send s;
  s.delivery_id = id;
  s.claim_token = "claim-" + std::to_string(id);
  s.channel = "whatsapp";
  s.provider = "whatsapp";
  s.recipient = "+16505551234";
  s.body = "Thanks, we received your message.";
  s.correlation_id = "c-" + std::to_string(id);
  return s;
}

/// The Cloud API's own answer to an accepted send.
http_reply accepted() {
  auto doc = test::fixture_json("whatsapp/cloud_api_responses.json");
  return http_reply{
      200, {{"content-type", "application/json"}}, doc.at("send_success_response").dump(), 1000};
}

http_reply unavailable() {
  return http_reply{503, {}, "Service Unavailable", 1000};
}

const std::string wamid = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";

struct channel_fixture : test::actor_harness {
  channel_actor adapter;

  explicit channel_fixture(int failure_threshold = 5) {
    cfg.whatsapp.rate_per_s = 0; // no rate limit: every claimed send goes at once
    cfg.circuit.failure_threshold = failure_threshold;
    cfg.circuit.cooldown = std::chrono::hours{1};
    cfg.circuit.max_cooldown = std::chrono::hours{1};
    start_fakes();
    adapter = keep(spawn_channel(*sys, make_channel_deps("whatsapp")));
    run();
  }

  /// Hands a send to the adapter and grants its claim; the adapter then calls the provider.
  void attempt(const outbound_send& s) {
    caf::anon_send(adapter, s);
    run();
    auto b = db.take_batch("begin_attempts");
    REQUIRE(b);
    CHECK(std::any_cast<const storage::attempt_claim&>(b->input).id == s.delivery_id);
    answer(b->done, true);
    run();
  }

  /// The provider answers the oldest call.
  void provider_answers(http_reply r) {
    auto c = http.take();
    REQUIRE(c);
    CHECK(c->call.service == "whatsapp");
    c->deliver(std::move(r));
    run();
  }

  double sent() { return metric("switchboard_messages_total", {{"outcome", "sent"}}); }
  double failed() { return metric("switchboard_messages_total", {{"outcome", "failed"}}); }
};

} // namespace

TEST_CASE("channel: an accepted send is recorded once, with the provider's id", "[actors]") {
  channel_fixture f;
  f.attempt(send_of(1));
  REQUIRE(f.http.pending.size() == 1);
  CHECK(nlohmann::json::parse(f.http.pending[0].call.body).at("to") == "16505551234");
  f.provider_answers(accepted());
  auto rec = f.db.take_batch("record_sends");
  REQUIRE(rec);
  auto& r = std::any_cast<const storage::sent_record&>(rec->input);
  CHECK(r.id == 1);
  CHECK(r.external_id == wamid);
  CHECK(f.db.count("record_sends") == 1);
  CHECK(f.sent() == 1);
}

TEST_CASE("channel: a transient failure goes back to the retry schedule; the next attempt's "
          "success is recorded once",
          "[actors]") {
  channel_fixture f;
  f.attempt(send_of(1));
  f.provider_answers(unavailable());
  // Not given up, not recorded: the row goes back to the outbox on the retry schedule.
  CHECK(f.db.count("retry_or_fail") == 1);
  CHECK(f.db.count("record_failed") == 0);
  CHECK(f.db.count("record_sends") == 0);
  CHECK(f.failed() == 0);
  // The sweeper hands it back when due: this attempt is accepted.
  f.attempt(send_of(1));
  f.provider_answers(accepted());
  CHECK(f.db.count("record_sends") == 1);
  CHECK(f.db.count("retry_or_fail") == 1);
  CHECK(f.sent() == 1);
  CHECK(f.failed() == 0);
}

TEST_CASE("channel: a refused send fails for good, without a retry", "[actors]") {
  channel_fixture f;
  f.attempt(send_of(1));
  auto doc = test::fixture_json("whatsapp/cloud_api_responses.json");
  f.provider_answers(
      http_reply{400, {}, doc.at("error_responses_http_body").at("generic_400").dump(), 1000});
  CHECK(f.db.count("record_failed") == 1);
  CHECK(f.db.count("retry_or_fail") == 0);
  CHECK(f.failed() == 1);
}

TEST_CASE("channel: the circuit breaker opens after consecutive provider failures and holds "
          "later sends back without calling the provider",
          "[actors]") {
  channel_fixture f{2};
  f.attempt(send_of(1));
  f.provider_answers(unavailable());
  CHECK(f.metric("switchboard_circuit_opens_total", {{"service", "whatsapp"}}) == 0);
  // No answer at all (connection refused) counts as much as a 5xx.
  f.attempt(send_of(2));
  auto refused = f.http.take();
  REQUIRE(refused);
  refused->deliver(
      caf::make_error(core::sb_error::provider_transient, std::string{"connection refused"}));
  f.run();
  CHECK(f.metric("switchboard_circuit_opens_total", {{"service", "whatsapp"}}) == 1);
  CHECK(f.db.count("retry_or_fail") == 2);
  // The breaker is open: the next send is postponed, neither claimed nor sent.
  caf::anon_send(f.adapter, send_of(3));
  f.run();
  CHECK(f.db.count("begin_attempts") == 2);
  CHECK(f.db.count("postpone") == 1);
  CHECK(f.http.total == 2);
  CHECK(f.metric("switchboard_circuit_deferred_total", {{"service", "whatsapp"}}) == 1);
}

TEST_CASE("channel: a provider answer arriving after the call timed out is not counted twice",
          "[actors]") {
  channel_fixture f;
  f.attempt(send_of(1));
  auto late = f.http.take();
  REQUIRE(late);
  // No answer within the call's deadline: a failure, back to the retry schedule.
  f.advance(std::chrono::minutes{5} + std::chrono::seconds{1});
  CHECK(f.db.count("retry_or_fail") == 1);
  // The answer arrives after all: not recorded, not counted.
  late->deliver(accepted());
  f.run();
  CHECK(f.db.count("record_sends") == 0);
  CHECK(f.sent() == 0);
  // The retry is the one that counts, once.
  f.attempt(send_of(1));
  f.provider_answers(accepted());
  CHECK(f.db.count("record_sends") == 1);
  CHECK(f.sent() == 1);
  CHECK(f.failed() == 0);
}

TEST_CASE("channel: the sends awaiting the provider share one deadline timer; each unanswered "
          "send fails at its own deadline",
          "[actors]") {
  channel_fixture f{1000}; // the breaker stays closed (an open one arms a timer of its own)
  for (int64_t id = 1; id <= 30; ++id)
    f.attempt(send_of(id));
  f.advance(std::chrono::minutes{2});
  for (int64_t id = 31; id <= 50; ++id)
    f.attempt(send_of(id));
  REQUIRE(f.http.pending.size() == 50);
  // One timer for the fifty calls in flight, not one each.
  CHECK(f.pending_timers() == 1);
  // Twenty of the first thirty and ten of the later twenty are answered.
  std::vector<test::pending_call<http_call, http_reply>> silent;
  for (int i = 0; i < 50; ++i) {
    auto c = f.http.take();
    REQUIRE(c);
    if (i % 3 == 0 && i < 30)
      silent.push_back(std::move(*c)); // 10 of the first 30
    else if (i % 2 == 0 && i >= 30)
      silent.push_back(std::move(*c)); // 10 of the later 20
    else
      c->deliver(accepted());
  }
  f.run();
  CHECK(f.sent() == 30);
  CHECK(f.db.count("retry_or_fail") == 0);
  // Three minutes later (5 min after the first thirty): their ten silent calls fail, no others.
  f.advance(std::chrono::minutes{3} + std::chrono::seconds{1});
  CHECK(f.db.count("retry_or_fail") == 10);
  CHECK(f.pending_timers() == 1);
  // Two minutes more: the later ten fail; nothing is awaited and no timer is left.
  f.advance(std::chrono::minutes{2});
  CHECK(f.db.count("retry_or_fail") == 20);
  CHECK(f.pending_timers() == 0);
  // Answers arriving after their deadline are ignored: not recorded, not counted.
  for (auto& c : silent)
    c.deliver(accepted());
  f.run();
  CHECK(f.sent() == 30);
  CHECK(f.db.count("retry_or_fail") == 20);
}

TEST_CASE("channel over MTN: the send waits for the token; a 401 forgets it and the row is "
          "tried again at once with a new one",
          "[actors]") {
  test::actor_harness h;
  h.cfg.sms.provider = "mtn";
  h.cfg.sms.mtn.rate_per_s = 0;
  h.start_fakes();
  auto adapter = h.keep(spawn_channel(*h.sys, h.make_channel_deps(h.cfg.sms.provider)));
  h.run();
  auto s = send_of(1);
  s.channel = "sms";
  s.provider = "mtn";
  s.recipient = "+250788123456";
  auto claim = [&] {
    caf::anon_send(adapter, s);
    h.run();
    auto b = h.db.take_batch("begin_attempts");
    REQUIRE(b);
    answer(b->done, true);
    h.run();
  };
  auto token = [&](const std::string& value) {
    auto c = h.http.take();
    REQUIRE(c);
    CHECK(c->call.service == "mtn_oauth");
    c->deliver(http_reply{200, {}, R"({"access_token":")" + value + R"(","expires_in":3600})", 0});
    h.run();
  };
  claim();
  token("tok-1");
  auto send = h.http.take();
  REQUIRE(send);
  CHECK(send->call.service == "mtn");
  CHECK(send->call.headers.at(0).second == "Bearer tok-1");
  send->deliver(http_reply{401, {}, R"({"error":"invalid_token"})", 0});
  h.run();
  // Not a failure of the row: claimed again at once, after a new token.
  CHECK(h.db.count("retry_or_fail") == 0);
  auto again = h.db.take_batch("begin_attempts");
  REQUIRE(again);
  answer(again->done, true);
  h.run();
  token("tok-2");
  auto resend = h.http.take();
  REQUIRE(resend);
  CHECK(resend->call.headers.at(0).second == "Bearer tok-2");
  resend->deliver(http_reply{
      201, {}, R"({"statusCode":"0000","transactionId":"tx-1","data":{"status":"ACCEPTED"}})", 0});
  h.run();
  auto rec = h.db.take_batch("record_sends");
  REQUIRE(rec);
  auto& r = std::any_cast<const storage::sent_record&>(rec->input);
  CHECK(r.external_id == "tx-1");
  CHECK(r.sms_segments == 1);
  CHECK(r.sms_encoding == "GSM-7");
  CHECK(h.http.total == 4);
}
