#include "providers/twilio/codec.hpp"

#include "core/json_fields.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/crypto.hpp"
#include "core/phone.hpp"
#include "core/retry.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

using namespace json_fields;

using json = nlohmann::json;

} // namespace

expected<twilio_inbound> parse_twilio_inbound(const form_params& params) {
  twilio_inbound out;
  out.message_sid = std::string{form_value(params, "MessageSid")};
  if (out.message_sid.empty())
    out.message_sid = std::string{form_value(params, "SmsSid")};
  if (out.message_sid.empty())
    return malformed("Twilio inbound: missing MessageSid");
  out.account_sid = std::string{form_value(params, "AccountSid")};
  auto from = form_value(params, "From");
  if (from.empty())
    return malformed("Twilio inbound: missing From");
  out.whatsapp = from.substr(0, 9) == "whatsapp:";
  auto from_phone = normalize_phone(from);
  if (!from_phone)
    return malformed("Twilio inbound From: " + reason_of(from_phone.error()));
  out.from = std::move(*from_phone);
  auto to = form_value(params, "To");
  if (to.empty())
    return malformed("Twilio inbound: missing To");
  auto to_addr = normalize_sms_address(to.substr(0, 9) == "whatsapp:" ? to.substr(9) : to);
  if (!to_addr)
    return malformed("Twilio inbound To: " + reason_of(to_addr.error()));
  out.to = std::move(*to_addr);
  out.body = std::string{form_value(params, "Body")};
  auto num_media = form_value(params, "NumMedia");
  if (!num_media.empty()) {
    auto n = parse_sms_decimal(num_media);
    if (!n || *n > 100)
      return malformed("Twilio inbound: invalid NumMedia");
    out.num_media = static_cast<int>(*n);
  }
  return out;
}

expected<twilio_status_update> parse_twilio_status(const form_params& params) {
  twilio_status_update out;
  out.message_sid = std::string{form_value(params, "MessageSid")};
  if (out.message_sid.empty())
    out.message_sid = std::string{form_value(params, "SmsSid")};
  if (out.message_sid.empty())
    return malformed("Twilio status callback: missing MessageSid");
  out.message_status = std::string{form_value(params, "MessageStatus")};
  if (out.message_status.empty())
    out.message_status = std::string{form_value(params, "SmsStatus")};
  if (out.message_status.empty())
    return malformed("Twilio status callback: missing MessageStatus");
  out.status = from_twilio_status(out.message_status);
  auto error_code = form_value(params, "ErrorCode");
  if (!error_code.empty()) {
    auto n = parse_sms_decimal(error_code);
    if (!n)
      return malformed("Twilio status callback: invalid ErrorCode");
    out.error_code = *n;
  }
  out.error_message = std::string{form_value(params, "ErrorMessage")};
  out.to = std::string{form_value(params, "To")};
  return out;
}

expected<form_params> build_twilio_send_form(const twilio_send_request& req) {
  if (req.to.empty())
    return caf::make_error(sb_error::invalid_argument, std::string{"Twilio send: missing To"});
  if (req.from.empty() && req.messaging_service_sid.empty())
    return caf::make_error(sb_error::invalid_argument,
                           std::string{"Twilio send: needs From or MessagingServiceSid"});
  if (req.body.empty())
    return caf::make_error(sb_error::invalid_argument, std::string{"Twilio send: empty Body"});
  form_params out;
  out.emplace_back("To", req.to);
  if (!req.from.empty())
    out.emplace_back("From", req.from);
  else
    out.emplace_back("MessagingServiceSid", req.messaging_service_sid);
  out.emplace_back("Body", req.body);
  if (!req.status_callback.empty())
    out.emplace_back("StatusCallback", req.status_callback);
  return out;
}

std::optional<twilio_api_error> parse_twilio_error(std::string_view body) {
  auto doc = parse_untrusted_json(body);
  if (doc.is_discarded() || !doc.is_object())
    return std::nullopt;
  auto code = doc.find("code");
  if (code == doc.end() || !code->is_number_integer())
    return std::nullopt;
  twilio_api_error out;
  out.code = code->get<int64_t>();
  out.message = text_or_empty(doc, "message");
  if (out.message.empty())
    out.message = text_or_empty(doc, "detail"); // RFC 9457
  if (out.message.empty())
    out.message = text_or_empty(doc, "title");
  out.more_info = text_or_empty(doc, "more_info");
  if (out.more_info.empty())
    out.more_info = text_or_empty(doc, "type");
  auto status = doc.find("status");
  if (status != doc.end() && status->is_number_integer())
    out.status = status->get<int>();
  return out;
}

expected<provider_send_result> parse_twilio_send_response(int http_status, std::string_view body) {
  if (is_2xx(http_status)) {
    auto doc = parse_untrusted_json(body);
    if (doc.is_discarded() || !doc.is_object())
      return malformed("Twilio send response is not a JSON object");
    provider_send_result out;
    out.message_id = text_or_empty(doc, "sid");
    if (out.message_id.empty())
      return malformed("Twilio send response has no sid");
    out.status = text_or_empty(doc, "status");
    return out;
  }
  std::string reason = "Twilio HTTP " + std::to_string(http_status);
  auto err = parse_twilio_error(body);
  if (!err)
    return caf::make_error(provider_failure_kind(http_status), std::move(reason));
  reason += ", error " + std::to_string(err->code) + ": " + err->message;
  if (!err->more_info.empty())
    reason += " (" + err->more_info + ")";
  return caf::make_error(provider_failure_kind(http_status), std::move(reason), err->code);
}

} // namespace switchboard::providers
