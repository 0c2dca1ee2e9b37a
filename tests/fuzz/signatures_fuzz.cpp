// The webhook signature checks (WhatsApp X-Hub-Signature-256, MTN, Chatwoot with its timestamp
// window and secret rotation, Twilio form and JSON bodies, shared tokens): what a signer makes
// always verifies, a changed signature never does, and hostile headers are just refused.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cctype>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/signatures.hpp"
#include "providers/chatwoot/signature.hpp"
#include "providers/mtn/signature.hpp"
#include "providers/twilio/signature.hpp"
#include "providers/whatsapp/signature.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

/// The signature with its last character changed to another digit (hex is compared in any case,
/// so a letter would not do).
std::string tampered(std::string sig) {
  if (sig.empty())
    return "0";
  sig.back() = sig.back() == '0' ? '1' : '0';
  return sig;
}

bool trimmed(const std::string& s) {
  return !s.empty() && !std::isspace(static_cast<unsigned char>(s.front()))
         && !std::isspace(static_cast<unsigned char>(s.back()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  FuzzedDataProvider in{data, size};
  auto secret = "k" + in.ConsumeRandomLengthString(64);
  auto url = in.ConsumeRandomLengthString(256);
  auto header = in.ConsumeRandomLengthString(128);
  auto now = in.ConsumeIntegralInRange<int64_t>(0, int64_t{1} << 40);
  auto body = in.ConsumeRemainingBytesAsString();

  auto hub = providers::hub_signature(secret, body);
  SB_FUZZ_CHECK(providers::verify_hub_signature(secret, body, hub));
  SB_FUZZ_CHECK(!providers::verify_hub_signature(secret, body, tampered(hub)));
  SB_FUZZ_CHECK(!providers::verify_hub_signature("", body, hub));
  SB_FUZZ_CHECK(providers::verify_hub_signature(secret, body, header) == (header == hub));

  auto mtn = providers::mtn_signature(secret, body);
  auto upper = mtn;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  SB_FUZZ_CHECK(providers::verify_mtn_signature(secret, body, mtn));
  SB_FUZZ_CHECK(providers::verify_mtn_signature(secret, body, upper));
  SB_FUZZ_CHECK(providers::verify_mtn_signature(secret, body, "sha256=" + mtn));
  SB_FUZZ_CHECK(!providers::verify_mtn_signature(secret, body, tampered(mtn)));
  (void)providers::verify_mtn_signature(secret, body, header);

  // Chatwoot: the timestamp is signed with the body and must be within the tolerance.
  auto ts = std::to_string(now);
  auto cw = providers::chatwoot_signature(secret, ts, body);
  SB_FUZZ_CHECK(providers::verify_chatwoot_signature(secret, ts, body, cw, now));
  SB_FUZZ_CHECK(providers::verify_chatwoot_signature(secret, ts, body, cw, now + 300));
  SB_FUZZ_CHECK(!providers::verify_chatwoot_signature(secret, ts, body, cw, now + 301));
  SB_FUZZ_CHECK(!providers::verify_chatwoot_signature(secret, ts, body, tampered(cw), now));
  SB_FUZZ_CHECK(providers::verify_chatwoot_signature({"old", secret}, ts, body, cw, now));
  SB_FUZZ_CHECK(
      !providers::verify_chatwoot_signature(std::vector<std::string>{}, ts, body, cw, now));
  (void)providers::verify_chatwoot_signature(secret, header, body, cw, now);
  (void)providers::verify_chatwoot_signature(secret, ts, body, header, now);

  // Twilio form webhooks: the parameters as Twilio would post them, the URL as configured.
  auto params = core::parse_form(body);
  auto tw = providers::twilio_signature(secret, url, params);
  SB_FUZZ_CHECK(providers::verify_twilio_signature(secret, url, params, tw));
  SB_FUZZ_CHECK(!providers::verify_twilio_signature(secret, url, params, tampered(tw)));
  SB_FUZZ_CHECK(!providers::verify_twilio_signature(secret, url, params, ""));
  (void)providers::verify_twilio_signature(secret, url, params, header);

  // Twilio JSON webhooks: the URL carries the body's hash, the signature covers the URL.
  auto base = url.substr(0, url.find_first_of("?#"));
  auto signed_url = base + "?bodySHA256=" + core::to_hex(core::sha256(body));
  auto tj = providers::twilio_json_signature(secret, signed_url);
  SB_FUZZ_CHECK(providers::verify_twilio_json_signature(secret, signed_url, body, tj));
  SB_FUZZ_CHECK(!providers::verify_twilio_json_signature(secret, signed_url, body + "x", tj));
  SB_FUZZ_CHECK(!providers::verify_twilio_json_signature(secret, signed_url, body, tampered(tj)));
  (void)providers::verify_twilio_json_signature(secret, url, body, header);

  auto secrets = providers::chatwoot_webhook_secrets(header, body);
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    SB_FUZZ_CHECK(trimmed(secrets[i]));
    SB_FUZZ_CHECK(std::count(secrets.begin(), secrets.end(), secrets[i]) == 1);
  }

  SB_FUZZ_CHECK(core::verify_secret_token(header, header) == !header.empty());
  SB_FUZZ_CHECK(!core::verify_secret_token(header, body) || header == body);
  return 0;
}
