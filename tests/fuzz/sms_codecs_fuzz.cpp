// The SMS providers' codecs: MTN's inbound notification (JSON) and Twilio's inbound and status
// webhooks (forms), the send-response and OAuth token parsers, and phone normalisation; the
// same bytes are tried as each.

#include <array>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/phone.hpp"
#include "core/text/utf8.hpp"
#include "providers/mtn/codec.hpp"
#include "providers/twilio/codec.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

template <class T> void check_error(const core::expected<T>& x) {
  if (!x)
    SB_FUZZ_CHECK(fuzz::is_codec_error(x.error()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto body = fuzz::text_of(data, size);

  if (auto mo = providers::parse_mtn_inbound(body)) {
    SB_FUZZ_CHECK(fuzz::is_e164(mo->from) && !mo->to.empty() && !mo->id.empty());
    SB_FUZZ_CHECK(!mo->id_derived
                  || mo->id
                         == core::to_hex(core::sha256(mo->from + "|" + mo->to + "|" + mo->body + "|"
                                                      + mo->timestamp)));
    auto again = providers::parse_mtn_inbound(body);
    SB_FUZZ_CHECK(again && again->id == mo->id);
  } else {
    SB_FUZZ_CHECK(core::code_of(mo.error()) == core::sb_error::malformed);
  }

  // Twilio posts forms: what parsed once parses the same after re-encoding.
  auto params = core::parse_form(body);
  auto reposted = core::parse_form(core::encode_form(params));
  if (auto in = providers::parse_twilio_inbound(params)) {
    SB_FUZZ_CHECK(!in->message_sid.empty() && fuzz::is_e164(in->from) && !in->to.empty());
    SB_FUZZ_CHECK(in->num_media >= 0 && in->num_media <= 100);
    auto again = providers::parse_twilio_inbound(reposted);
    SB_FUZZ_CHECK(again && again->message_sid == in->message_sid && again->from == in->from
                  && again->body == in->body);
  } else {
    SB_FUZZ_CHECK(core::code_of(in.error()) == core::sb_error::malformed);
  }
  if (auto st = providers::parse_twilio_status(params)) {
    SB_FUZZ_CHECK(!st->message_sid.empty() && !st->message_status.empty());
    auto again = providers::parse_twilio_status(reposted);
    SB_FUZZ_CHECK(again && again->error_code == st->error_code
                  && again->status.has_value() == st->status.has_value());
  } else {
    SB_FUZZ_CHECK(core::code_of(st.error()) == core::sb_error::malformed);
  }

  static constexpr std::array<int, 7> statuses{200, 201, 400, 401, 408, 429, 503};
  int status = statuses[size % statuses.size()];
  auto token = providers::parse_oauth_token_response(status, body);
  check_error(token);
  if (token)
    SB_FUZZ_CHECK(!token->access_token.empty()
                  && (!token->expires_in || token->expires_in->count() >= 0));
  check_error(providers::parse_mtn_send_response(status, body));
  check_error(providers::parse_twilio_send_response(status, body));
  (void)providers::parse_twilio_error(body);

  if (auto phone = core::normalize_phone(body)) {
    SB_FUZZ_CHECK(fuzz::is_e164(*phone));
    auto again = core::normalize_phone(*phone);
    SB_FUZZ_CHECK(again && *again == *phone);
    SB_FUZZ_CHECK(core::mask_phone(*phone) != *phone);
  }
  (void)core::mask_phone(body);
  SB_FUZZ_CHECK(core::is_valid_utf8(core::mask_text(body)));

  providers::mtn_send_request req{
      "SB", {std::string{body}, "+250788123456"}, std::string{body}, "c1"};
  auto send = providers::build_mtn_send(req);
  SB_FUZZ_CHECK(send.at("receiverAddress").size() == 2);
  providers::twilio_send_request tw{std::string{body}, "", "MG1", std::string{body}, ""};
  auto form = providers::build_twilio_send_form(tw);
  SB_FUZZ_CHECK(form.engaged() == !body.empty());
  return 0;
}
