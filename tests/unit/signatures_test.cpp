#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/signatures.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using switchboard::test::fixture_json;
using switchboard::test::read_fixture;

namespace {

/// Turns a vector's "params" (an object of string or string-array values, or the name of a
/// shared object) into form pairs, keeping the array order.
form_params to_form(const nlohmann::json& doc, const nlohmann::json& params) {
  const auto& obj = params.is_string() ? doc.at(params.get<std::string>()) : params;
  form_params out;
  for (auto& [k, v] : obj.items()) {
    if (v.is_array())
      for (auto& item : v)
        out.emplace_back(k, item.get<std::string>());
    else
      out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

} // namespace

TEST_CASE("Twilio signature: every fixture vector", "[signatures][twilio]") {
  auto doc = fixture_json("twilio/request_signature_vectors.json");
  auto token = doc.at("auth_token").get<std::string>();
  REQUIRE(doc.at("vectors").size() >= 13);
  for (auto& v : doc.at("vectors")) {
    auto name = v.at("name").get<std::string>();
    auto url = v.at("url").get<std::string>();
    auto sig = v.at("expected_signature").get<std::string>();
    auto params = to_form(doc, v.at("params"));
    INFO(name);
    CHECK(verify_twilio_signature(token, url, params, sig) == v.at("valid").get<bool>());
    if (v.contains("raw_form_body")) {
      auto parsed = parse_form(v.at("raw_form_body").get<std::string>());
      CHECK(verify_twilio_signature(token, url, parsed, sig) == v.at("valid").get<bool>());
    }
    // A different token never verifies a valid vector.
    CHECK_FALSE(verify_twilio_signature("54321", url, params, sig));
  }
}

TEST_CASE("Twilio signature: computing matches the basic vector exactly", "[signatures][twilio]") {
  auto doc = fixture_json("twilio/request_signature_vectors.json");
  auto params = to_form(doc, "default_params");
  CHECK(twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
        == "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  // Parameter order in the request does not matter; the signature sorts by name.
  std::reverse(params.begin(), params.end());
  CHECK(twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
        == "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
}

TEST_CASE("Twilio signature: tampering is detected", "[signatures][twilio]") {
  auto doc = fixture_json("twilio/request_signature_vectors.json");
  auto params = to_form(doc, "default_params");
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const std::string sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
  REQUIRE(verify_twilio_signature("12345", url, params, sig));

  auto changed = params;
  changed[0].second += "x";
  CHECK_FALSE(verify_twilio_signature("12345", url, changed, sig));
  auto extra = params;
  extra.emplace_back("Body", "hi");
  CHECK_FALSE(verify_twilio_signature("12345", url, extra, sig));
  CHECK_FALSE(verify_twilio_signature("12345", url + "&baz=3", params, sig));
  CHECK_FALSE(
      verify_twilio_signature("12345", "https://evil.com/myapp.php?foo=1&bar=2", params, sig));
  CHECK_FALSE(verify_twilio_signature("12345", url, params, ""));
  CHECK_FALSE(verify_twilio_signature("", url, params, sig));
  CHECK_FALSE(verify_twilio_signature("12345", url, params, sig.substr(0, sig.size() - 1)));
  CHECK_FALSE(verify_twilio_signature("12345", "not a url", params, sig));
}

TEST_CASE("Twilio signature: JSON body vectors (bodySHA256)", "[signatures][twilio]") {
  auto doc = fixture_json("twilio/request_signature_vectors.json");
  auto token = doc.at("auth_token").get<std::string>();
  const auto& json_vectors = doc.at("json_body_vectors");
  CHECK(to_hex(sha256(json_vectors.at("body").get<std::string>()))
        == json_vectors.at("body_sha256_hex").get<std::string>());
  REQUIRE(json_vectors.at("cases").size() == 3);
  for (auto& c : json_vectors.at("cases")) {
    auto name = c.at("name").get<std::string>();
    auto url = c.at("url").get<std::string>();
    auto body = c.at("body").get<std::string>();
    auto sig = c.at("expected_signature").get<std::string>();
    INFO(name);
    // One fixture case was signed over the URL with the default port added (":443").
    auto with_port = url;
    with_port.insert(with_port.find(".com") + 4, ":443");
    CHECK((twilio_json_signature(token, url) == sig
           || twilio_json_signature(token, with_port) == sig));
    CHECK(verify_twilio_json_signature(token, url, body, sig) == c.at("valid").get<bool>());
    // The body must match the hash in the URL, byte for byte.
    CHECK_FALSE(verify_twilio_json_signature(token, url, body + " ", sig));
    CHECK_FALSE(verify_twilio_json_signature(token, url, body, "AAAA" + sig.substr(4)));
  }
  // A URL without bodySHA256, or with two of them, is refused.
  auto body = json_vectors.at("body").get<std::string>();
  const std::string plain = "https://mycompany.com/myapp.php?foo=1&bar=2";
  CHECK_FALSE(
      verify_twilio_json_signature(token, plain, body, twilio_json_signature(token, plain)));
  auto hash = to_hex(sha256(body));
  auto twice = plain + "&bodySHA256=" + hash + "&bodySHA256=" + hash;
  CHECK_FALSE(
      verify_twilio_json_signature(token, twice, body, twilio_json_signature(token, twice)));
}

TEST_CASE("Twilio signature: default port and normalisation variants", "[signatures][twilio]") {
  form_params params{{"Body", "hello"}, {"From", "+250788123456"}};
  // Signed over the URL with :443, validated against the URL without it, and vice versa.
  auto with_port = twilio_signature("tok", "https://example.com:443/hook", params);
  CHECK(verify_twilio_signature("tok", "https://example.com/hook", params, with_port));
  auto without_port = twilio_signature("tok", "https://example.com/hook", params);
  CHECK(verify_twilio_signature("tok", "https://example.com:443/hook", params, without_port));
  // Signed over the WHATWG form (space and apostrophe encoded in the query).
  auto encoded = twilio_signature("tok", "https://example.com/hook?q=a%20b%27c", params);
  CHECK(verify_twilio_signature("tok", "https://example.com/hook?q=a b'c", params, encoded));
  // Host case does not matter to a WHATWG serialiser.
  CHECK(verify_twilio_signature("tok", "https://EXAMPLE.com/hook", params, without_port));
}

TEST_CASE("WhatsApp hub signature: every fixture vector", "[signatures][whatsapp]") {
  auto doc = fixture_json("whatsapp/signature_vectors.json");
  auto secret = doc.at("app_secret").get<std::string>();
  int checked = 0;
  for (auto& v : doc.at("vectors")) {
    auto name = v.at("name").get<std::string>();
    INFO(name);
    auto body = v.contains("body_file")
                    ? read_fixture("whatsapp/" + v.at("body_file").get<std::string>())
                    : v.at("body_inline").get<std::string>();
    const auto& headers = v.at("headers");
    std::string header = headers.contains("X-Hub-Signature-256")
                             ? headers.at("X-Hub-Signature-256").get<std::string>()
                             : std::string{};
    if (v.at("valid").is_null()) {
      // Policy: hex digits are accepted in either case (the digest is the same value).
      CHECK(verify_hub_signature(secret, body, header));
    } else {
      CHECK(verify_hub_signature(secret, body, header) == v.at("valid").get<bool>());
    }
    // The legacy SHA-1 header is never accepted in place of the SHA-256 one.
    if (headers.contains("X-Hub-Signature"))
      CHECK_FALSE(
          verify_hub_signature(secret, body, headers.at("X-Hub-Signature").get<std::string>()));
    ++checked;
  }
  CHECK(checked == 7);
}

TEST_CASE("WhatsApp hub signature: computing matches the real delivery", "[signatures][whatsapp]") {
  auto doc = fixture_json("whatsapp/signature_vectors.json");
  auto secret = doc.at("app_secret").get<std::string>();
  auto body = read_fixture("whatsapp/signed_body_pywa_real_delivery.json");
  auto expected
      = doc.at("vectors").at(0).at("headers").at("X-Hub-Signature-256").get<std::string>();
  CHECK(hub_signature(secret, body) == expected);
  CHECK_FALSE(verify_hub_signature("", body, expected));
  CHECK_FALSE(verify_hub_signature(secret, body, expected.substr(7))); // no prefix
  CHECK_FALSE(verify_hub_signature(secret, body, "SHA256=" + expected.substr(7)));
  CHECK_FALSE(verify_hub_signature(secret, body, expected + "0"));         // too long
  CHECK_FALSE(verify_hub_signature(secret, body, expected.substr(0, 70))); // too short
  auto non_hex = expected;
  non_hex.back() = 'g';
  CHECK_FALSE(verify_hub_signature(secret, body, non_hex));
  CHECK_FALSE(verify_hub_signature(secret, body + "\n", expected)); // trailing newline matters
}

TEST_CASE("MTN signature: hex, optional prefix, either case", "[signatures][mtn]") {
  // RFC 4231 test case 2 (key "Jefe") gives an independent expected digest.
  const std::string body = "what do ya want for nothing?";
  const std::string hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  CHECK(mtn_signature("Jefe", body) == hex);
  CHECK(verify_mtn_signature("Jefe", body, hex));
  CHECK(verify_mtn_signature("Jefe", body, "sha256=" + hex));
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  CHECK(verify_mtn_signature("Jefe", body, upper));
  CHECK(verify_mtn_signature("Jefe", body, "sha256=" + upper));
  CHECK_FALSE(verify_mtn_signature("Jefe", body + " ", hex));
  CHECK_FALSE(verify_mtn_signature("jefe", body, hex));
  CHECK_FALSE(verify_mtn_signature("", body, hex));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, ""));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, "sha256="));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, hex.substr(1)));
  CHECK_FALSE(verify_mtn_signature("Jefe", body, base64_encode(hmac_sha256("Jefe", body))));
}

TEST_CASE("Chatwoot signature: timestamp.body over raw bytes", "[signatures][chatwoot]") {
  const std::string secret = "whsec_test";
  // Raw bytes with JSON unicode escapes: re-serialising would turn \u003c into '<'.
  const std::string body
      = R"({"event":"message_created","content":"\u003cb\u003ehi\u003c/b\u003e"})";
  const std::string reserialised = R"({"content":"<b>hi</b>","event":"message_created"})";
  const std::string ts = "1717000000";
  const int64_t now = 1717000000;

  // The expected value is computed from its definition in the Chatwoot docs.
  auto expected = "sha256=" + to_hex(hmac_sha256(secret, ts + "." + body));
  CHECK(chatwoot_signature(secret, ts, body) == expected);
  // Signing the body alone gives a different digest.
  CHECK(expected != "sha256=" + to_hex(hmac_sha256(secret, body)));

  CHECK(verify_chatwoot_signature(secret, ts, body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature(secret, ts, reserialised, expected, now));
  CHECK_FALSE(verify_chatwoot_signature(secret, "1717000001", body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature("other", ts, body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature("", ts, body, expected, now));
  CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected.substr(7), now));
  CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, "", now));

  SECTION("timestamp window is inclusive at +-tolerance") {
    CHECK(verify_chatwoot_signature(secret, ts, body, expected, now + 300));
    CHECK(verify_chatwoot_signature(secret, ts, body, expected, now - 300));
    CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected, now + 301));
    CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected, now - 301));
    CHECK(verify_chatwoot_signature(secret, ts, body, expected, now + 30, 30));
    CHECK_FALSE(verify_chatwoot_signature(secret, ts, body, expected, now + 31, 30));
  }

  SECTION("timestamp must be a plain integer") {
    for (std::string bad : {"", "-1717000000", "1717000000.5", " 1717000000", "1717000000 ",
                            "17170000x0", "+1717000000", "99999999999999999999999"}) {
      INFO(bad);
      auto sig = chatwoot_signature(secret, bad, body);
      CHECK_FALSE(verify_chatwoot_signature(secret, bad, body, sig, now));
    }
  }
}

TEST_CASE("Chatwoot signature against several secrets (one per webhook kind, rotation)",
          "[signatures][chatwoot]") {
  const std::string body = R"({"event":"message_created","id":1})";
  const std::string ts = "1717000000";
  const int64_t now = 1717000000;
  const std::vector<std::string> secrets{"account-secret", "api-inbox-secret", "agent-bot-secret"};
  for (const auto& secret : secrets) {
    INFO(secret);
    CHECK(verify_chatwoot_signature(secrets, ts, body, chatwoot_signature(secret, ts, body), now));
  }
  CHECK_FALSE(
      verify_chatwoot_signature(secrets, ts, body, chatwoot_signature("third", ts, body), now));
  CHECK_FALSE(verify_chatwoot_signature(std::vector<std::string>{}, ts, body,
                                        chatwoot_signature("", ts, body), now));
  // Each secret still gets the timestamp window.
  CHECK_FALSE(verify_chatwoot_signature(
      secrets, ts, body, chatwoot_signature("agent-bot-secret", ts, body), now + 301));

  SECTION("the configured list: the single key first, then the comma-separated one") {
    CHECK(chatwoot_webhook_secrets("", "").empty());
    CHECK(chatwoot_webhook_secrets("a", "") == std::vector<std::string>{"a"});
    CHECK(chatwoot_webhook_secrets("", "b") == std::vector<std::string>{"b"});
    CHECK(chatwoot_webhook_secrets("a", " b , c,,a, ") == std::vector<std::string>{"a", "b", "c"});
    CHECK(chatwoot_webhook_secrets(" ", ",").empty());
  }
}

TEST_CASE("Secret token comparison", "[signatures]") {
  CHECK(verify_secret_token("s3cr3t", "s3cr3t"));
  CHECK_FALSE(verify_secret_token("s3cr3t", "s3cr3T"));
  CHECK_FALSE(verify_secret_token("s3cr3t", "s3cr3t "));
  CHECK_FALSE(verify_secret_token("s3cr3t", ""));
  CHECK_FALSE(verify_secret_token("", ""));
}
