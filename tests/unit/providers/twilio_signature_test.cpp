#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "providers/twilio/signature.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
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
