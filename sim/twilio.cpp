// The simulated Twilio Messages API (/2010-04-01/Accounts/{sid}/Messages): sends with auto
// status callbacks, message fetches, and the signed inbound and status webhooks of /_sim/twilio/.

#include "sim/provider.hpp"

#include <algorithm>
#include <ctime>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/text/sms.hpp"
#include "providers/twilio/signature.hpp"

namespace switchboard::sim {

namespace {

constexpr const char* twilio_webhook_path = "/webhooks/sms/twilio";

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string rfc2822_now() {
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

/// The server's public URL for a target URL (Twilio signs the URL as the server publishes it).
std::string public_url_for(const sim_core& sim, const std::string& url) {
  auto pub = sim.public_url();
  auto srv = sim.server_url();
  if (!pub.empty() && !srv.empty() && starts_with(url, srv))
    return pub + url.substr(srv.size());
  return url;
}

/// The reachable URL for a URL the server gave as public (e.g. a Twilio StatusCallback).
std::string reachable_url_for(const sim_core& sim, const std::string& url) {
  auto pub = sim.public_url();
  auto srv = sim.server_url();
  if (!pub.empty() && !srv.empty() && starts_with(url, pub))
    return srv + url.substr(pub.size());
  return url;
}

json twilio_error(int code, std::string message, int status, std::string detail = {}) {
  json e = {{"code", code}};
  if (!detail.empty())
    e["detail"] = std::move(detail);
  e["message"] = std::move(message);
  e["more_info"] = "https://www.twilio.com/docs/errors/" + std::to_string(code);
  e["status"] = status;
  return e;
}

outbound twilio_webhook(const sim_core& sim, const std::string& url, std::string kind,
                        const core::form_params& params, const std::string& signature_url,
                        const std::string& secret_override, milliseconds timeout) {
  outbound o;
  o.service = "twilio";
  o.kind = std::move(kind);
  o.url = url;
  o.body = core::encode_form(params);
  o.timeout = timeout;
  o.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  o.headers.emplace_back("User-Agent", "TwilioProxy/1.1");
  o.headers.emplace_back("I-Twilio-Idempotency-Token", uuid4());
  auto token = secret_override.empty() ? sim.opts().creds.twilio_auth_token : secret_override;
  if (!token.empty())
    o.headers.emplace_back("X-Twilio-Signature",
                           providers::twilio_signature(token, signature_url, params));
  return o;
}

core::form_params twilio_status_params(const json& msg, const std::string& status,
                                       const std::string& error_code) {
  core::form_params p;
  auto sid = msg.value("sid", std::string{});
  if (!error_code.empty())
    p.emplace_back("ErrorCode", error_code);
  p.emplace_back("SmsSid", sid);
  p.emplace_back("SmsStatus", status);
  p.emplace_back("MessageStatus", status);
  p.emplace_back("To", msg.value("to", std::string{}));
  if (msg.contains("messaging_service_sid") && msg["messaging_service_sid"].is_string())
    p.emplace_back("MessagingServiceSid", msg["messaging_service_sid"].get<std::string>());
  p.emplace_back("MessageSid", sid);
  p.emplace_back("AccountSid", msg.value("account_sid", std::string{}));
  if (msg.contains("from") && msg["from"].is_string())
    p.emplace_back("From", msg["from"].get<std::string>());
  p.emplace_back("ApiVersion", "2010-04-01");
  return p;
}

void control_twilio_inbound(sim_core& sim, const json& body, http::responder& respond) {
  const auto& creds = sim.opts().creds;
  auto url = target_url(sim, body, twilio_webhook_path);
  auto from = body.value("from", std::string{"+15550001234"});
  auto to = body.value("to", std::string{"+15005550006"});
  auto text = body.value("body", std::string{"Hello"});
  auto sid = body.value("message_sid", "SM" + core::random_hex(16));
  auto account = body.value("account_sid", creds.twilio_account_sid.empty()
                                               ? std::string{"AC00000000000000000000000000000001"}
                                               : creds.twilio_account_sid);
  json media = body.value("media_urls", json::array());
  core::form_params p{{"ToCountry", "US"},
                      {"ToState", "CA"},
                      {"SmsMessageSid", sid},
                      {"NumMedia", std::to_string(media.size())},
                      {"ToCity", ""},
                      {"FromZip", ""},
                      {"SmsSid", sid},
                      {"FromState", "CA"},
                      {"SmsStatus", "received"},
                      {"FromCity", ""},
                      {"Body", text},
                      {"FromCountry", "US"},
                      {"To", to}};
  if (body.contains("messaging_service_sid"))
    p.emplace_back("MessagingServiceSid", text_of(body, "messaging_service_sid"));
  p.emplace_back("ToZip", "");
  p.emplace_back("NumSegments", std::to_string(core::sms_segment_count(text)));
  for (std::size_t i = 0; i < media.size(); ++i) {
    p.emplace_back("MediaContentType" + std::to_string(i), "image/jpeg");
    p.emplace_back("MediaUrl" + std::to_string(i), media[i].get<std::string>());
  }
  p.emplace_back("MessageSid", sid);
  p.emplace_back("AccountSid", account);
  p.emplace_back("From", from);
  p.emplace_back("ApiVersion", "2010-04-01");
  if (body.contains("params") && body["params"].is_object())
    for (auto& [k, v] : body["params"].items())
      p.emplace_back(k, v.is_string() ? v.get<std::string>() : to_text(v));
  auto sig_url = body.value("signature_url", public_url_for(sim, url));
  deliver_and_answer(
      sim,
      {twilio_webhook(sim, url, "inbound", p, sig_url, text_of(body, "secret"), timeout_of(body))},
      body, respond);
}

void control_twilio_status(sim_core& sim, const json& body, http::responder& respond) {
  const auto& creds = sim.opts().creds;
  auto sid = text_of(body, "sid");
  json msg;
  std::string callback;
  {
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.twilio_messages.find(sid);
    if (it != sim.state.twilio_messages.end()) {
      msg = it->second;
      callback = msg.value("_callback", std::string{});
      it->second["status"] = body.value("status", std::string{"delivered"});
    }
  }
  if (msg.is_null()) {
    if (sid.empty())
      return bad_request(respond, "\"sid\" is required");
    msg = {{"sid", sid},
           {"to", body.value("to", std::string{"+15550001234"})},
           {"from", body.value("from", std::string{"+15005550006"})},
           {"account_sid", creds.twilio_account_sid}};
  }
  auto url = text_of(body, "url");
  if (url.empty() && !text_of(body, "path").empty())
    url = target_url(sim, body, twilio_webhook_path);
  if (url.empty())
    url = reachable_url_for(sim, callback);
  if (url.empty())
    return bad_request(respond, "no StatusCallback for this message; give \"url\" or \"path\"");
  auto sig_url
      = body.value("signature_url", callback.empty() ? public_url_for(sim, url) : callback);
  auto params = twilio_status_params(msg, body.value("status", std::string{"delivered"}),
                                     text_of(body, "error_code"));
  deliver_and_answer(sim,
                     {twilio_webhook(sim, url, "status", params, sig_url, text_of(body, "secret"),
                                     timeout_of(body))},
                     body, respond);
}

void control_twilio_auto_status(sim_core& sim, const json& body, http::responder& respond) {
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto& st = sim.state;
  st.twilio_auto_status = body.value("enabled", true);
  if (body.contains("statuses"))
    st.twilio_auto_statuses = body["statuses"].get<std::vector<std::string>>();
  st.twilio_auto_delay = milliseconds{body.value("delay_ms", int64_t{50})};
  respond(json_response(
      200, {{"enabled", st.twilio_auto_status}, {"statuses", st.twilio_auto_statuses}}));
}

} // namespace

json twilio_error_body(int status) {
  switch (status) {
  case 400:
    return twilio_error(21211, "Invalid 'To' Phone Number", 400);
  case 401:
    return twilio_error(20003, "Authenticate", 401, "Your AccountSid or AuthToken was incorrect.");
  case 404:
    return twilio_error(20404, "The requested resource was not found", 404);
  case 429:
    return twilio_error(20429, "Too Many Requests", 429);
  default:
    if (status >= 500)
      return twilio_error(20500, "Internal Server Error", status);
    return twilio_error(20001, "Bad request", status);
  }
}

handled twilio_messages(sim_core& sim, const http::request& req) {
  handled h;
  const auto& creds = sim.opts().creds;
  auto seg = split_path(req.path);
  // 2010-04-01 / Accounts / {sid} / Messages.json  |  .../Messages/{MessageSid}.json
  if (seg.size() < 4 || seg[1] != "Accounts") {
    h.res = reply(404, twilio_error_body(404));
    return h;
  }
  const auto& path_sid = seg[2];
  auto auth = basic_of(req);
  if (!auth || auth->first != path_sid || !accepted(creds.twilio_account_sid, auth->first)
      || !accepted(creds.twilio_auth_token, auth->second)) {
    h.res = reply(401, twilio_error_body(401));
    return h;
  }
  if (seg.size() == 5 && seg[3] == "Messages" && ends_with(seg[4], ".json")
      && req.method == "GET") {
    auto sid = seg[4].substr(0, seg[4].size() - 5);
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.twilio_messages.find(sid);
    if (it == sim.state.twilio_messages.end()) {
      h.res = reply(404, twilio_error(20404,
                                      "The requested resource /2010-04-01/Accounts/" + path_sid
                                          + "/Messages/" + sid + ".json was not found",
                                      404));
      return h;
    }
    auto msg = it->second;
    msg.erase("_callback");
    h.res = reply(200, msg);
    return h;
  }
  if (!(seg.size() == 4 && seg[3] == "Messages.json" && req.method == "POST")) {
    h.res = reply(404, twilio_error_body(404));
    return h;
  }
  auto form = core::parse_form(req.body);
  auto to = std::string{core::form_value(form, "To")};
  auto from = std::string{core::form_value(form, "From")};
  auto service_sid = std::string{core::form_value(form, "MessagingServiceSid")};
  auto text = std::string{core::form_value(form, "Body")};
  auto media = std::string{core::form_value(form, "MediaUrl")};
  auto callback = std::string{core::form_value(form, "StatusCallback")};
  if (to.empty()) {
    h.res = reply(400, twilio_error(21604, "A 'To' phone number is required.", 400));
    return h;
  }
  if (from.empty() && service_sid.empty()) {
    h.res = reply(400, twilio_error(21603, "A 'From' phone number is required.", 400));
    return h;
  }
  if (text.empty() && media.empty()) {
    h.res = reply(400, twilio_error(21602, "Message body is required.", 400));
    return h;
  }
  if (text.size() > 1600) {
    h.res = reply(400, twilio_error(21617,
                                    "The concatenated message body exceeds the 1600 "
                                    "character limit.",
                                    400));
    return h;
  }
  auto sid = "SM" + core::random_hex(16);
  auto now = rfc2822_now();
  auto uri = "/2010-04-01/Accounts/" + path_sid + "/Messages/" + sid;
  int num_media = 0;
  for (auto& [k, v] : form)
    if (k == "MediaUrl")
      ++num_media;
  json msg = {{"body", text},
              {"num_segments", std::to_string(core::sms_segment_count(text))},
              {"direction", "outbound-api"},
              {"from", from.empty() ? json(nullptr) : json(from)},
              {"to", to},
              {"date_updated", now},
              {"price", nullptr},
              {"error_message", nullptr},
              {"uri", uri + ".json"},
              {"account_sid", path_sid},
              {"num_media", std::to_string(num_media)},
              {"status", from.empty() ? "accepted" : "queued"},
              {"messaging_service_sid", service_sid.empty() ? json(nullptr) : json(service_sid)},
              {"sid", sid},
              {"date_sent", nullptr},
              {"date_created", now},
              {"error_code", nullptr},
              {"price_unit", "USD"},
              {"api_version", "2010-04-01"},
              {"subresource_uris", {{"media", uri + "/Media.json"}}}};
  h.res = reply(201, msg);
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto stored = msg;
  stored["_callback"] = callback;
  if (from.empty())
    stored["from"] = "+15005550006";
  if (!callback.empty() && sim.state.twilio_auto_status) {
    for (auto& status : sim.state.twilio_auto_statuses) {
      auto params = twilio_status_params(stored, status, "");
      h.after.push_back(twilio_webhook(sim, reachable_url_for(sim, callback), "status", params,
                                       callback, "", milliseconds{10000}));
      stored["status"] = status;
    }
    h.after_delay = sim.state.twilio_auto_delay;
  }
  sim.state.twilio_messages[sid] = std::move(stored);
  return h;
}

std::vector<control_route> twilio_control_routes() {
  return {
      post_json("/_sim/twilio/inbound", control_twilio_inbound),
      post_json("/_sim/twilio/status", control_twilio_status),
      post_json("/_sim/twilio/auto_status", control_twilio_auto_status),
  };
}

} // namespace switchboard::sim
