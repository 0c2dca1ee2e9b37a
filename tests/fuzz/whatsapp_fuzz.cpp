// WhatsApp Cloud API: the webhook parser, the send-response and error parsers, the
// X-Hub-Signature-256 check and the verify-token challenge over the same untrusted bytes.

#include <array>

#include "core/form.hpp"
#include "core/json_fields.hpp"
#include "providers/whatsapp/codec.hpp"
#include "providers/whatsapp/signature.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

void check_webhook(const core::expected<providers::whatsapp_webhook>& hook) {
  if (!hook) {
    SB_FUZZ_CHECK(fuzz::is_codec_error(hook.error()));
    return;
  }
  for (auto& m : hook->messages) {
    SB_FUZZ_CHECK(!m.id.empty() && !m.type.empty());
    SB_FUZZ_CHECK(m.type == "text" || m.text.empty());
    SB_FUZZ_CHECK(m.from.empty() || fuzz::is_e164(m.from));
    SB_FUZZ_CHECK(m.user_id.empty() || providers::is_whatsapp_user_id(m.user_id));
    SB_FUZZ_CHECK(m.type == "reaction" || (m.reaction_to.empty() && m.reaction_emoji.empty()));
  }
  for (auto& s : hook->statuses) {
    SB_FUZZ_CHECK(!s.message_id.empty() && !s.status.empty());
    SB_FUZZ_CHECK(s.recipient.empty() || fuzz::is_e164(s.recipient));
    SB_FUZZ_CHECK(!s.recipient_id.empty() || !s.recipient_user_id.empty() || s.recipient.empty());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto body = fuzz::text_of(data, size);

  auto hook = providers::parse_whatsapp_webhook(body);
  check_webhook(hook);
  // The parser reads the JSON value only: its compact serialisation parses the same way.
  if (hook) {
    auto doc = core::parse_untrusted_json(body);
    auto again = providers::parse_whatsapp_webhook(core::json_fields::dump(doc));
    SB_FUZZ_CHECK(again.engaged());
    SB_FUZZ_CHECK(again->messages.size() == hook->messages.size());
    SB_FUZZ_CHECK(again->statuses.size() == hook->statuses.size());
  }

  static constexpr std::array<int, 8> statuses{200, 201, 400, 401, 404, 429, 500, 503};
  int status = statuses[size % statuses.size()];
  auto sent = providers::parse_whatsapp_send_response(status, body);
  if (sent)
    SB_FUZZ_CHECK(status < 300 && !sent->empty());
  else
    SB_FUZZ_CHECK(fuzz::is_codec_error(sent.error()));
  (void)providers::parse_whatsapp_error(body);

  static const std::string secret = "fuzz-app-secret";
  SB_FUZZ_CHECK(
      providers::verify_hub_signature(secret, body, providers::hub_signature(secret, body)));
  (void)providers::verify_hub_signature(secret, "{}", body);

  auto query = core::parse_form(body);
  auto challenge = providers::whatsapp_verify_challenge(query, "fuzz-verify-token");
  if (challenge)
    SB_FUZZ_CHECK(core::form_value(query, "hub.verify_token") == "fuzz-verify-token");
  (void)providers::is_whatsapp_user_id(body);
  return 0;
}
