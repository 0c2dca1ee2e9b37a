// providers/mtn/send.cpp: the MTN SMS v3 request a row becomes, its OAuth2 token (fetched when
// missing or near its expiry, forgotten on a 401) and what MTN's answers mean. The fixtures hold
// no MTN payloads: the shapes are MADAPI's documented ones (see mtn_codec_test.cpp).

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/form.hpp"
#include "providers/provider.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard;
using namespace switchboard::providers;
using json = nlohmann::json;
using std::chrono::seconds;

namespace {

std::shared_ptr<provider> mtn() {
  config::settings cfg;
  cfg.sms.mtn.base_url = "https://mtn.example";
  cfg.sms.mtn.token_path = "/v1/oauth/access_token";
  cfg.sms.mtn.client_id = "client-1";
  cfg.sms.mtn.client_secret = "s3cr3t&=";
  cfg.sms.mtn.sender_address = "SWITCHBRD";
  cfg.sms.mtn.max_in_flight = 9;
  return test::provider_named("mtn", cfg);
}

core::http_reply reply(long status, std::string body) {
  return core::http_reply{status, {}, std::move(body), 1000};
}

const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours{1};

} // namespace

TEST_CASE("MTN provider: a token first, cached until a minute before it expires",
          "[providers][mtn]") {
  auto p = mtn();
  CHECK(p->service() == "mtn");
  CHECK(p->limits().max_in_flight == 9);
  CHECK(p->counts_sms_segments());
  auto call = p->credential_call(t0);
  REQUIRE(call);
  CHECK(call->service == "mtn_oauth");
  CHECK(call->url == "https://mtn.example/v1/oauth/access_token?grant_type=client_credentials");
  CHECK(core::parse_form(call->body)
        == core::form_params{{"client_id", "client-1"}, {"client_secret", "s3cr3t&="}});

  // Apigee, in front of MTN's APIs, sends expires_in as a string.
  REQUIRE(p->take_credential(
      reply(200, R"({"access_token":"tok-1","token_type":"Bearer","expires_in":"3600"})"), t0));
  CHECK(p->credential_call(t0) == std::nullopt);
  CHECK(p->credential_call(t0 + seconds{3539}) == std::nullopt);
  CHECK(p->credential_call(t0 + seconds{3540}));
}

TEST_CASE("MTN provider: the send request carries the token and a stable correlator",
          "[providers][mtn]") {
  auto p = mtn();
  REQUIRE(p->take_credential(reply(200, R"({"access_token":"tok-1","expires_in":3600})"), t0));
  auto s = test::send_of(42, "+250788123456", "Hello", "corr-42");
  auto call = p->build_send(s);
  REQUIRE(call);
  const auto& http = std::get<core::http_call>(*call);
  CHECK(http.service == "mtn");
  CHECK(http.url == "https://mtn.example/v3/sms/messages/sms/outbound");
  CHECK(http.correlation_id == "corr-42");
  CHECK(http.headers
        == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer tok-1"},
                                                            {"Content-Type", "application/json"}});
  CHECK(json::parse(http.body)
        == R"({"senderAddress":"SWITCHBRD","receiverAddress":["250788123456"],
                                     "message":"Hello","clientCorrelatorId":"sb-42"})"_json);
  // A notification's id may equal a delivery's: the other outbox gets its own prefix.
  s.box = 1;
  auto note = p->build_send(s);
  REQUIRE(note);
  CHECK(json::parse(std::get<core::http_call>(*note).body)["clientCorrelatorId"] == "sb-n42");
}

TEST_CASE("MTN provider: a 401 forgets the token; other answers are parsed", "[providers][mtn]") {
  auto p = mtn();
  REQUIRE(p->take_credential(reply(200, R"({"access_token":"tok-1","expires_in":3600})"), t0));
  CHECK_FALSE(p->credential_refused(reply(200, "{}")));
  CHECK(p->credential_call(t0) == std::nullopt);
  auto refused = p->credential_refused(reply(401, R"({"error":"invalid_token"})"));
  REQUIRE(refused);
  CHECK(*refused == "MTN rejected the access token");
  CHECK(p->credential_call(t0)); // a new token before the next send

  auto id = p->parse_send_answer(reply(
      201,
      R"({"statusCode":"0000","statusMessage":"Created","transactionId":"tx-1","data":{"status":"ACCEPTED"}})"));
  REQUIRE(id);
  CHECK(*id == "tx-1");
  auto busy = p->parse_send_answer(reply(503, "upstream unavailable"));
  REQUIRE_FALSE(busy);
  CHECK(core::code_of(busy.error()) == core::sb_error::provider_transient);
  CHECK(p->health_of(reply(503, "")) == core::call_outcome::failure);

  auto bad = p->take_credential(reply(401, R"({"error":"invalid_client"})"), t0);
  REQUIRE_FALSE(bad);
  CHECK(core::code_of(bad.error()) == core::sb_error::provider_rejected);
  CHECK(p->credential_name() == "MTN token");
}
