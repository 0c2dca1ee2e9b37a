// The simulated MTN SMS v3 API (MADAPI behind an Apigee OAuth2 client-credentials token
// endpoint): tokens, outbound SMS, and the signed inbound webhook of /_sim/mtn/.

#include "sim/provider.hpp"

#include <chrono>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "providers/mtn/signature.hpp"

namespace switchboard::sim {

namespace {

constexpr const char* mtn_webhook_path = "/webhooks/sms/mtn";

json mtn_error(const http::request& req, std::string code, std::string message) {
  return {{"statusCode", std::move(code)},
          {"statusMessage", std::move(message)},
          {"supportMessage", "switchboard-sim"},
          {"transactionId", uuid4()},
          {"timestamp", now_iso8601()},
          {"path", req.path},
          {"method", req.method}};
}

std::string apigee_token() {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  auto hex = core::random_hex(28);
  std::string out;
  for (std::size_t i = 0; i < 28; ++i)
    out += alphabet[std::stoi(hex.substr(i * 2, 2), nullptr, 16) % 62];
  return out;
}

handled mtn_token(sim_core& sim, const http::request& req) {
  handled h;
  const auto& creds = sim.opts().creds;
  auto form = core::parse_form(req.body);
  auto query = core::parse_form(req.query);
  auto grant = std::string{core::form_value(query, "grant_type")};
  if (grant.empty())
    grant = std::string{core::form_value(form, "grant_type")};
  if (req.method != "POST") {
    h.res = reply(405, {{"ErrorCode", "invalid_request"}, {"Error", "Method not allowed"}});
    return h;
  }
  if (grant != "client_credentials") {
    h.res = reply(
        400, {{"ErrorCode", "invalid_request"}, {"Error", "Unsupported grant type : " + grant}});
    return h;
  }
  auto id = std::string{core::form_value(form, "client_id")};
  auto secret = std::string{core::form_value(form, "client_secret")};
  if (auto basic = basic_of(req); basic && id.empty()) {
    id = basic->first;
    secret = basic->second;
  }
  if (id.empty()) {
    h.res = reply(401, {{"ErrorCode", "invalid_client"}, {"Error", "ClientId is Invalid"}});
    return h;
  }
  if (!accepted(creds.mtn_client_id, id) || !accepted(creds.mtn_client_secret, secret)) {
    h.res = reply(401,
                  {{"ErrorCode", "invalid_client"}, {"Error", "Client credentials are invalid"}});
    return h;
  }
  auto token = apigee_token();
  auto ttl = sim.opts().mtn_token_ttl;
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    sim.state.mtn_tokens[token] = std::chrono::steady_clock::now() + ttl;
  }
  auto issued_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // Apigee's OAuthV2 answer: every value is a string.
  h.res = reply(200, {{"refresh_token_expires_in", "0"},
                      {"api_product_list", "[SMS V3]"},
                      {"api_product_list_json", json::array({"SMS V3"})},
                      {"organization_name", "mtn-sim"},
                      {"developer.email", "developer@example.com"},
                      {"token_type", "BearerToken"},
                      {"issued_at", std::to_string(issued_ms)},
                      {"client_id", id},
                      {"access_token", token},
                      {"application_name", uuid4()},
                      {"scope", ""},
                      {"expires_in", std::to_string(ttl.count())},
                      {"refresh_count", "0"},
                      {"status", "approved"}});
  return h;
}

handled mtn_outbound(sim_core& sim, const http::request& req) {
  handled h;
  auto token = bearer_of(req);
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.mtn_tokens.find(token);
    if (token.empty() || it == sim.state.mtn_tokens.end()) {
      h.res = reply(401, mtn_error(req, "4010", "Unauthorized. Invalid access token"));
      return h;
    }
    if (it->second <= std::chrono::steady_clock::now()) {
      h.res = reply(401, mtn_error(req, "4010", "Unauthorized. Access token expired"));
      return h;
    }
  }
  if (req.method != "POST") {
    h.res = reply(405, mtn_error(req, "4050", "Method not allowed"));
    return h;
  }
  auto body = parse_json(req.body);
  if (!body.is_object()) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: the body is not a JSON object"));
    return h;
  }
  const json rcv = body.contains("receiverAddress") ? body["receiverAddress"] : json{};
  if (!rcv.is_array() || rcv.empty()
      || !std::all_of(rcv.begin(), rcv.end(), [](const json& x) { return x.is_string(); })) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: receiverAddress is required"));
    return h;
  }
  if (text_of(body, "message").empty()) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: message is required"));
    return h;
  }
  // MTN SMS v3 requires the request's id, clientCorrelatorId (at most 36 characters).
  auto correlator = text_of(body, "clientCorrelatorId");
  if (correlator.empty()) {
    h.res = reply(400, mtn_error(req, "4000", "Bad Request: clientCorrelatorId is required"));
    return h;
  }
  if (correlator.size() > 36) {
    h.res = reply(400,
                  mtn_error(req, "4000", "Bad Request: clientCorrelatorId exceeds 36 characters"));
    return h;
  }
  h.res = reply(200, {{"statusCode", "0000"},
                      {"statusMessage", "Successful"},
                      {"transactionId", uuid4()},
                      {"data", {{"status", "PENDING"}}}});
  return h;
}

void control_mtn_inbound(sim_core& sim, const json& body, http::responder& respond) {
  const auto& creds = sim.opts().creds;
  json payload
      = {{"from", body.value("from", std::string{"233240000001"})},
         {"to", body.value("to", std::string{"SWITCHBRD"})},
         {"message", body.value("message", std::string{"Hello"})},
         {"id", body.value("id", uuid4())},
         {"timestamp", body.contains("timestamp") ? body["timestamp"] : json(now_iso8601())}};
  outbound o;
  o.service = "mtn";
  o.kind = "inbound";
  o.url = target_url(sim, body, mtn_webhook_path);
  o.body = to_text(payload);
  o.timeout = timeout_of(body);
  o.headers.emplace_back("Content-Type", "application/json");
  auto secret = secret_of(body, creds.mtn_webhook_secret);
  if (!secret.empty())
    o.headers.emplace_back("X-MTN-Signature", providers::mtn_signature(secret, o.body));
  deliver_and_answer(sim, {std::move(o)}, body, respond);
}

void control_mtn_expire_tokens(sim_core& sim, const json& body, http::responder& respond) {
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto n = sim.state.mtn_tokens.size();
  for (auto& [t, exp] : sim.state.mtn_tokens)
    exp = std::chrono::steady_clock::now() - std::chrono::seconds{1};
  respond(json_response(200, {{"expired", n}}));
}

} // namespace

json mtn_error_body(int status, const http::request& req) {
  switch (status) {
  case 400:
    return mtn_error(req, "4000", "Bad Request");
  case 401:
    return mtn_error(req, "4010", "Unauthorized. Invalid or expired access token");
  case 404:
    return mtn_error(req, "4040", "Resource not found");
  case 429:
    return mtn_error(req, "4290", "Too many requests");
  default:
    if (status >= 500)
      return mtn_error(req, std::to_string(status) + "0", "Internal Server Error");
    return mtn_error(req, std::to_string(status) + "0", "Request failed");
  }
}

handled mtn_call(sim_core& sim, const http::request& req) {
  if (starts_with(req.path, "/v1/oauth/access_token"))
    return mtn_token(sim, req);
  if (req.path == "/v3/sms/messages/sms/outbound")
    return mtn_outbound(sim, req);
  handled h;
  h.res = reply(404, mtn_error_body(404, req));
  return h;
}

std::vector<control_route> mtn_control_routes() {
  return {
      post_json("/_sim/mtn/inbound", control_mtn_inbound),
      post_json("/_sim/mtn/expire_tokens", control_mtn_expire_tokens),
  };
}

} // namespace switchboard::sim
