#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "providers/mtn/codec.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/unit/providers/common.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using switchboard::test::error_of;
using switchboard::test::fixture_json;
using json = nlohmann::json;

// The provider fixtures hold no MTN payloads, so the inputs below are written from the provider's
// documentation (MTN SMS v3 / MADAPI response shape {statusCode, statusMessage, transactionId,
// data}).

TEST_CASE("MTN inbound: fields, normalisation and ids", "[sms_codecs][mtn]") {
  auto res = parse_mtn_inbound(
      R"({"from":"250788123456","to":"tel:+250788000111","message":"Muraho","id":"MO-1","timestamp":"2024-05-01T10:00:00Z"})");
  REQUIRE(res);
  CHECK(res->from == "+250788123456");
  CHECK(res->to == "+250788000111");
  CHECK(res->body == "Muraho");
  CHECK(res->id == "MO-1");
  CHECK_FALSE(res->id_derived);
  CHECK(res->timestamp == "2024-05-01T10:00:00Z");

  // Short codes stay as sent; numeric ids and timestamps are accepted.
  res = parse_mtn_inbound(
      R"({"from":"+250 788 123 456","to":"8080","message":"","id":42,"timestamp":1714557600})");
  REQUIRE(res);
  CHECK(res->to == "8080");
  CHECK(res->id == "42");
  CHECK(res->timestamp == "1714557600");
  CHECK(res->body.empty());
}

TEST_CASE("MTN inbound: derived dedupe id is stable and content-addressed", "[sms_codecs][mtn]") {
  auto a
      = parse_mtn_inbound(R"({"from":"250788123456","to":"8080","message":"hi","timestamp":"t1"})");
  // Same message, differently formatted sender: same id.
  auto b = parse_mtn_inbound(
      R"({"timestamp":"t1","message":"hi","to":"8080","from":"+250 788-123-456"})");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->id_derived);
  CHECK(a->id == b->id);
  CHECK(a->id == to_hex(sha256("+250788123456|8080|hi|t1")));
  CHECK(a->id.size() == 64);
  // Any field change changes the id.
  for (auto body : {R"({"from":"250788123457","to":"8080","message":"hi","timestamp":"t1"})",
                    R"({"from":"250788123456","to":"8081","message":"hi","timestamp":"t1"})",
                    R"({"from":"250788123456","to":"8080","message":"hi!","timestamp":"t1"})",
                    R"({"from":"250788123456","to":"8080","message":"hi","timestamp":"t2"})",
                    R"({"from":"250788123456","to":"8080","message":"hi"})"}) {
    auto c = parse_mtn_inbound(body);
    REQUIRE(c);
    CHECK(c->id != a->id);
  }
  // An empty id counts as absent.
  auto d = parse_mtn_inbound(
      R"({"from":"250788123456","to":"8080","message":"hi","timestamp":"t1","id":""})");
  REQUIRE(d);
  CHECK(d->id == a->id);
}

TEST_CASE("MTN inbound: malformed bodies", "[sms_codecs][mtn]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"to":"8080","message":"x"})", "missing 'from'"},
      {R"({"from":"250788123456","message":"x"})", "missing 'to'"},
      {R"({"from":"250788123456","to":"8080"})", "missing 'message'"},
      {R"({"from":"250788123456","to":"8080","message":7})", "missing 'message'"},
      {R"({"from":"0788123456","to":"8080","message":"x"})", "from: phone number must"},
      {R"({"from":"250788123456","to":"12","message":"x"})", "to:"},
      {R"({"from":"250788123456","to":"80#80","message":"x"})", "to:"},
  };
  for (auto [body, fragment] : cases) {
    INFO(body);
    auto err = error_of(parse_mtn_inbound(body));
    CHECK(code_of(err) == sb_error::malformed);
    CHECK_THAT(reason_of(err), Catch::Contains(fragment));
  }
}

TEST_CASE("MTN send body", "[sms_codecs][mtn]") {
  auto body = build_mtn_send({"SWITCHBRD", {"+250788123456", "250788654321"}, "Hello", "corr-1"});
  CHECK(body == R"({"senderAddress":"SWITCHBRD","receiverAddress":["250788123456","250788654321"],
                    "message":"Hello","clientCorrelatorId":"corr-1"})"_json);
}

TEST_CASE("OAuth token responses", "[sms_codecs][mtn]") {
  auto tok = parse_oauth_token_response(
      200,
      R"({"access_token":"abc","token_type":"Bearer","expires_in":"3599","scope":"SEND-SMS"})");
  REQUIRE(tok);
  CHECK(tok->access_token == "abc");
  CHECK(tok->token_type == "Bearer");
  CHECK(tok->expires_in == std::chrono::seconds{3599});
  tok = parse_oauth_token_response(200, R"({"access_token":"abc","expires_in":3600})");
  REQUIRE(tok);
  CHECK(tok->expires_in == std::chrono::seconds{3600});
  tok = parse_oauth_token_response(200, R"({"access_token":"abc","expires_in":59.9})");
  REQUIRE(tok);
  CHECK(tok->expires_in == std::chrono::seconds{59});
  tok = parse_oauth_token_response(200, R"({"access_token":"abc"})");
  REQUIRE(tok);
  CHECK_FALSE(tok->expires_in);

  for (auto body :
       {R"({"token_type":"Bearer"})", R"({"access_token":""})", "nope",
        R"({"access_token":"a","expires_in":"soon"})", R"({"access_token":"a","expires_in":-5})",
        R"({"access_token":"a","expires_in":"-5"})"}) {
    INFO(body);
    CHECK(code_of(error_of(parse_oauth_token_response(200, body))) == sb_error::malformed);
  }
  auto denied = error_of(parse_oauth_token_response(
      401, R"({"error":"invalid_client","error_description":"Client authentication failed"})"));
  CHECK(code_of(denied) == sb_error::provider_rejected);
  CHECK_THAT(reason_of(denied), Catch::Contains("invalid_client"));
  CHECK_THAT(reason_of(denied), Catch::Contains("Client authentication failed"));
  CHECK(code_of(error_of(parse_oauth_token_response(503, ""))) == sb_error::provider_transient);
  CHECK(code_of(error_of(parse_oauth_token_response(429, "{}"))) == sb_error::provider_transient);
}

TEST_CASE("MTN send responses", "[sms_codecs][mtn]") {
  auto ok = parse_mtn_send_response(
      201,
      R"({"statusCode":"0000","statusMessage":"Successful","transactionId":"tx-123","data":{"status":"ACCEPTED"}})");
  REQUIRE(ok);
  CHECK(ok->message_id == "tx-123");
  CHECK(ok->status == "ACCEPTED");
  // Defensive fallbacks for the id.
  ok = parse_mtn_send_response(200, R"({"data":{"requestId":"req-9","status":"PENDING"}})");
  REQUIRE(ok);
  CHECK(ok->message_id == "req-9");
  ok = parse_mtn_send_response(200, R"({"requestId":"req-10"})");
  REQUIRE(ok);
  CHECK(ok->message_id == "req-10");
  ok = parse_mtn_send_response(200, R"({"statusCode":"0000"})");
  REQUIRE(ok);
  CHECK(ok->message_id.empty());

  auto rejected = error_of(parse_mtn_send_response(
      200,
      R"({"statusCode":"4001","statusMessage":"Invalid receiverAddress","transactionId":"tx"})"));
  CHECK(code_of(rejected) == sb_error::provider_rejected);
  CHECK_THAT(reason_of(rejected), Catch::Contains("4001"));
  CHECK_THAT(reason_of(rejected), Catch::Contains("Invalid receiverAddress"));
  CHECK(provider_error_code(rejected) == 4001);

  auto bad_request = error_of(
      parse_mtn_send_response(400, R"({"statusCode":"1000","statusMessage":"User not found"})"));
  CHECK(code_of(bad_request) == sb_error::provider_rejected);
  for (int status : {429, 500, 503, 504}) {
    auto err = error_of(parse_mtn_send_response(status, "<html>busy</html>"));
    CHECK(code_of(err) == sb_error::provider_transient);
    CHECK_THAT(reason_of(err), Catch::Contains(std::to_string(status)));
  }
  CHECK(code_of(error_of(parse_mtn_send_response(200, "not json"))) == sb_error::malformed);
}

TEST_CASE("MTN inbound addressed to an alphanumeric sender ID keeps it as sent", "[sms_codecs]") {
  auto sms = switchboard::providers::parse_mtn_inbound(
      R"({"from":"+250788123456","to":"SWITCHBRD","message":"hi","id":"m1"})");
  REQUIRE(sms);
  CHECK(sms->to == "SWITCHBRD");
  CHECK(sms->from == "+250788123456");
  CHECK_FALSE(switchboard::providers::parse_mtn_inbound(
      R"({"from":"+250788123456","to":"NOT A SENDER ID!","message":"hi"})"));
}
