#include "core/sms_codecs.hpp"

#include "core/json_fields.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/crypto.hpp"
#include "core/phone.hpp"
#include "core/retry.hpp"

namespace switchboard::core {

namespace {

using namespace json_fields;

using json = nlohmann::json;

caf::error malformed(std::string reason) {
  return caf::make_error(sb_error::malformed, std::move(reason));
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Whether `s` is an alphanumeric sender ID (GSM 03.38: at most 11 letters, digits, spaces).
bool is_alphanumeric_sender(std::string_view s) {
  if (s.empty() || s.size() > 11)
    return false;
  bool letter = false;
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c)))
      letter = true;
    else if (!std::isdigit(static_cast<unsigned char>(c)) && c != ' ')
      return false;
  }
  return letter;
}

/// Our side of a conversation: an E.164 number, a short code (3-8 digits) or an alphanumeric
/// sender ID, the last two kept as sent.
expected<std::string> normalize_address(std::string_view raw) {
  auto phone = normalize_phone(raw);
  if (phone)
    return phone;
  std::string_view s = raw;
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  if (all_digits(s) && s.size() >= 3 && s.size() <= 8)
    return std::string{s};
  if (is_alphanumeric_sender(raw))
    return std::string{raw};
  return phone.error();
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (!all_digits(s) || s.size() > 18)
    return std::nullopt;
  return std::stoll(std::string{s});
}

bool is_2xx(int status) {
  return status >= 200 && status < 300;
}

sb_error failure_kind(int http_status) {
  return is_transient_http_status(http_status) ? sb_error::provider_transient
                                               : sb_error::provider_rejected;
}

/// True for MADAPI's success code "0000" (any all-zero code) or an HTTP-style 2xx code.
bool mtn_success_code(const std::string& code) {
  if (code.empty() || std::all_of(code.begin(), code.end(), [](char c) { return c == '0'; }))
    return true;
  return code.size() == 3 && code[0] == '2' && all_digits(code);
}

} // namespace

expected<inbound_sms> parse_mtn_inbound(std::string_view raw_body) {
  auto doc = parse_untrusted_json(raw_body);
  if (doc.is_discarded() || !doc.is_object())
    return malformed("MTN inbound body is not a JSON object");
  inbound_sms out;
  auto from = text_field(doc, "from");
  if (!from)
    return malformed("MTN inbound: missing 'from'");
  auto from_phone = normalize_phone(*from);
  if (!from_phone)
    return malformed("MTN inbound from: " + reason_of(from_phone.error()));
  out.from = std::move(*from_phone);
  auto to = text_field(doc, "to");
  if (!to)
    return malformed("MTN inbound: missing 'to'");
  auto to_addr = normalize_address(*to);
  if (!to_addr)
    return malformed("MTN inbound to: " + reason_of(to_addr.error()));
  out.to = std::move(*to_addr);
  auto message = doc.find("message");
  if (message == doc.end() || !message->is_string())
    return malformed("MTN inbound: missing 'message' text");
  out.body = message->get<std::string>();
  out.timestamp = text_or_empty(doc, "timestamp");
  auto id = text_or_empty(doc, "id");
  if (!id.empty()) {
    out.id = std::move(id);
  } else {
    out.id = to_hex(sha256(out.from + "|" + out.to + "|" + out.body + "|" + out.timestamp));
    out.id_derived = true;
  }
  return out;
}

nlohmann::json build_mtn_send(const mtn_send_request& req) {
  json receivers = json::array();
  for (const auto& r : req.receivers)
    receivers.push_back(!r.empty() && r.front() == '+' ? r.substr(1) : r);
  return {
      {"senderAddress", req.sender_address},
      {"receiverAddress", receivers},
      {"message", req.message},
      {"clientCorrelatorId", req.client_correlator},
  };
}

expected<oauth_token> parse_oauth_token_response(int http_status, std::string_view body) {
  auto doc = parse_untrusted_json(body);
  bool is_object = !doc.is_discarded() && doc.is_object();
  if (!is_2xx(http_status)) {
    std::string reason = "token endpoint HTTP " + std::to_string(http_status);
    if (is_object) {
      // RFC 6749 section 5.2, or Apigee's fault shape.
      auto error = text_or_empty(doc, "error");
      auto description = text_or_empty(doc, "error_description");
      if (error.empty())
        error = text_or_empty(doc, "ErrorCode");
      if (description.empty())
        description = text_or_empty(doc, "Error");
      if (!error.empty())
        reason += ": " + error;
      if (!description.empty())
        reason += " (" + description + ")";
    }
    return caf::make_error(failure_kind(http_status), std::move(reason));
  }
  if (!is_object)
    return malformed("token response is not a JSON object");
  oauth_token out;
  out.access_token = text_or_empty(doc, "access_token");
  if (out.access_token.empty())
    return malformed("token response has no access_token");
  out.token_type = text_or_empty(doc, "token_type");
  auto exp = doc.find("expires_in");
  if (exp != doc.end() && !exp->is_null()) {
    std::optional<int64_t> secs;
    if (exp->is_number_integer())
      secs = exp->get<int64_t>();
    else if (exp->is_number_float() && std::isfinite(exp->get<double>()))
      secs = static_cast<int64_t>(std::floor(exp->get<double>()));
    else if (exp->is_string())
      secs = parse_int(exp->get<std::string>());
    if (!secs || *secs < 0)
      return malformed("token response has an invalid expires_in");
    out.expires_in = std::chrono::seconds{*secs};
  }
  return out;
}

expected<provider_send_result> parse_mtn_send_response(int http_status, std::string_view body) {
  auto doc = parse_untrusted_json(body);
  bool is_object = !doc.is_discarded() && doc.is_object();
  auto status_code = is_object ? text_or_empty(doc, "statusCode") : std::string{};
  auto status_message = is_object ? text_or_empty(doc, "statusMessage") : std::string{};
  if (is_object && status_message.empty())
    status_message = text_or_empty(doc, "message");
  auto describe = [&] {
    std::string reason = "MTN SMS HTTP " + std::to_string(http_status);
    if (!status_code.empty())
      reason += ", statusCode " + status_code;
    if (!status_message.empty())
      reason += ": " + status_message;
    return reason;
  };
  auto fail = [&](sb_error kind) -> caf::error {
    if (auto code = parse_int(status_code))
      return caf::make_error(kind, describe(), *code);
    return caf::make_error(kind, describe());
  };
  if (!is_2xx(http_status))
    return fail(failure_kind(http_status));
  if (!is_object)
    return malformed("MTN send response is not a JSON object");
  if (!mtn_success_code(status_code))
    return fail(sb_error::provider_rejected);
  const auto& data = object_or_empty(doc, "data");
  provider_send_result out;
  for (auto candidate : {text_or_empty(doc, "transactionId"), text_or_empty(data, "requestId"),
                         text_or_empty(doc, "requestId"), text_or_empty(data, "transactionId")}) {
    if (!candidate.empty()) {
      out.message_id = std::move(candidate);
      break;
    }
  }
  out.status = text_or_empty(data, "status");
  if (out.status.empty())
    out.status = text_or_empty(doc, "status");
  return out;
}

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
  auto to_addr = normalize_address(to.substr(0, 9) == "whatsapp:" ? to.substr(9) : to);
  if (!to_addr)
    return malformed("Twilio inbound To: " + reason_of(to_addr.error()));
  out.to = std::move(*to_addr);
  out.body = std::string{form_value(params, "Body")};
  auto num_media = form_value(params, "NumMedia");
  if (!num_media.empty()) {
    auto n = parse_int(num_media);
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
    auto n = parse_int(error_code);
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
    return caf::make_error(failure_kind(http_status), std::move(reason));
  reason += ", error " + std::to_string(err->code) + ": " + err->message;
  if (!err->more_info.empty())
    reason += " (" + err->more_info + ")";
  return caf::make_error(failure_kind(http_status), std::move(reason), err->code);
}

} // namespace switchboard::core
