#include "providers/mtn/codec.hpp"

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

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
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
  auto to_addr = normalize_sms_address(*to);
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
    return caf::make_error(provider_failure_kind(http_status), std::move(reason));
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
      secs = parse_sms_decimal(exp->get<std::string>());
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
    if (auto code = parse_sms_decimal(status_code))
      return caf::make_error(kind, describe(), *code);
    return caf::make_error(kind, describe());
  };
  if (!is_2xx(http_status))
    return fail(provider_failure_kind(http_status));
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

} // namespace switchboard::providers
