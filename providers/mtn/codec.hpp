#pragma once

// MTN SMS v3 (MADAPI) wire format: the inbound (MO) notification, the outbound request and its
// answer, and the OAuth2 client-credentials token answer.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/delivery.hpp"
#include "core/form.hpp"
#include "core/sms_codecs.hpp"
#include "providers/common.hpp"

namespace switchboard::providers {

using core::inbound_sms;
using core::provider_send_result;

/// Parses an MTN SMS v3 inbound (MO) notification {from, to, message, id?, timestamp?}. Without
/// an id, the dedupe id is hex SHA-256 of "from|to|message|timestamp" (normalised numbers), so
/// a redelivered notification gets the same id.
expected<inbound_sms> parse_mtn_inbound(std::string_view raw_body);

/// An outbound SMS through MTN SMS v3 (POST /v3/sms/messages/sms/outbound).
struct mtn_send_request {
  std::string sender_address;         ///< approved sender id or short code
  std::vector<std::string> receivers; ///< E.164 numbers
  std::string message;                ///< text (already fitted to the segment budget)
  std::string client_correlator;      ///< our idempotency key for the request
};

/// {senderAddress, receiverAddress: [...], message, clientCorrelatorId} (MTN SMS v3 names the
/// request's own id clientCorrelatorId, at most 36 characters); receivers are sent as
/// international digits without "+", the form MTN's examples use.
nlohmann::json build_mtn_send(const mtn_send_request& req);

/// An OAuth2 client-credentials token (RFC 6749 section 5.1).
struct oauth_token {
  std::string access_token;                       ///< bearer token
  std::string token_type;                         ///< usually "Bearer" (may be absent)
  std::optional<std::chrono::seconds> expires_in; ///< lifetime; nullopt when not given
};

/// Parses a token endpoint response; expires_in may be a number or a numeric string (Apigee,
/// which fronts MTN's APIs, sends strings). Non-2xx: provider_transient for 408/425/429/5xx,
/// else provider_rejected with error/error_description in the reason.
expected<oauth_token> parse_oauth_token_response(int http_status, std::string_view body);

/// Parses an MTN SMS v3 send response. MADAPI answers {statusCode: "0000", statusMessage,
/// transactionId, data: {status}}; the id is transactionId, else data.requestId, requestId or
/// data.transactionId (empty when none: use the clientCorrelatorId). A 2xx with a non-zero
/// statusCode is provider_rejected; 408/425/429/5xx are provider_transient.
expected<provider_send_result> parse_mtn_send_response(int http_status, std::string_view body);

} // namespace switchboard::providers
