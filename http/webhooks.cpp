#include "http/webhooks.hpp"
#include "core/json_fields.hpp"

#include <atomic>
#include <mutex>

#include <nlohmann/json.hpp>

#include "actors/runtime.hpp"
#include "core/delivery.hpp"
#include "core/form.hpp"
#include "core/log.hpp"
#include "core/omni/tools.hpp"
#include "core/phone.hpp"
#include "core/signatures.hpp"
#include "http/edge.hpp"
#include "http/openapi_ops.hpp"
#include "http/provider_api.hpp"
#include "providers/mtn/codec.hpp"
#include "providers/mtn/signature.hpp"
#include "providers/twilio/codec.hpp"
#include "providers/twilio/signature.hpp"
#include "providers/whatsapp/codec.hpp"
#include "providers/whatsapp/signature.hpp"

namespace switchboard::http {

using nlohmann::json;

namespace {

constexpr const char* twiml_empty = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// 401; `bearer` routes say which scheme in WWW-Authenticate (RFC 9110 15.5.2), signature
/// routes have no HTTP authentication scheme to name.
response unauthorized(std::string_view why, bool bearer = false) {
  auto r = response::error(401, "unauthorized", why);
  if (bearer)
    r.headers.add("WWW-Authenticate", "Bearer realm=\"switchboard\"");
  return r;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Collects the answers of several events of one webhook: 200 when all were stored, else the
/// first failure (so the provider retries; the stored ones are deduplicated then).
class fan_in {
public:
  fan_in(std::size_t n, responder respond, response ok)
      : left_(n), respond_(std::move(respond)), ok_(std::move(ok)) {}

  actors::edge_callback callback(const std::shared_ptr<fan_in>& self) {
    return [self](actors::edge_reply r) { self->done(r); };
  }

private:
  void done(const actors::edge_reply& r) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (r.status >= 300 && !failure_)
      failure_ = to_response(r);
    if (--left_ == 0)
      respond_(failure_ ? *failure_ : ok_);
  }

  std::mutex mtx_;
  std::size_t left_;
  responder respond_;
  response ok_;
  std::optional<response> failure_;
};

/// JSON field helpers for the call-ended payload: typed, with reasons naming the field.
std::optional<std::string> text_field(const json& j, const char* key, bool required,
                                      std::size_t max, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required)
      error = std::string{key} + ": required";
    return std::nullopt;
  }
  if (!it->is_string()) {
    error = std::string{key} + ": must be a string";
    return std::nullopt;
  }
  auto v = it->get<std::string>();
  if (required && v.empty()) {
    error = std::string{key} + ": must not be empty";
    return std::nullopt;
  }
  if (v.size() > max) {
    error = std::string{key} + ": longer than " + std::to_string(max) + " bytes";
    return std::nullopt;
  }
  // PostgreSQL text cannot hold a NUL: refuse it here, naming the field, not at the INSERT.
  if (v.find('\0') != std::string::npos) {
    error = std::string{key} + ": contains a NUL character";
    return std::nullopt;
  }
  return v;
}

int8_t tri_state(const json& j, const char* key, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return -1;
  if (!it->is_boolean()) {
    error = std::string{key} + ": must be true or false";
    return -1;
  }
  return it->get<bool>() ? 1 : 0;
}

void call_ended(actors::runtime& rt, const config::settings& cfg, api_rate_limit& limit,
                request&& req, responder respond) {
  auto token = bearer_of(req);
  if (!core::verify_secret_token(cfg.voice.token, token)) {
    respond(unauthorized("missing or invalid bearer token", true));
    return;
  }
  if (!limit.admit("voice_call_ended", token, respond))
    return;
  std::string why;
  auto j = core::parse_untrusted_json(req.body, &why);
  if (j.is_discarded() || !j.is_object()) {
    respond(response::error(400, "malformed",
                            "the body must be a JSON object" + (why.empty() ? "" : ": " + why)));
    return;
  }
  std::string error;
  actors::call_ended_event ev;
  auto call_id = text_field(j, "call_id", true, 200, error);
  auto phone = error.empty() ? text_field(j, "phone_number", true, 40, error) : std::nullopt;
  auto summary = error.empty() ? text_field(j, "summary", true, 20000, error) : std::nullopt;
  if (error.empty()) {
    ev.outcome = text_field(j, "outcome", false, 500, error).value_or("");
    ev.language = text_field(j, "language", false, 35, error).value_or("");
    ev.transcript = text_field(j, "transcript", false, 200000, error).value_or("");
    ev.customer_name = text_field(j, "customer_name", false, 200, error).value_or("");
    ev.has_whatsapp = tri_state(j, "has_whatsapp", error);
    ev.allows_sms = tri_state(j, "allows_sms", error);
    if (auto items = j.find("action_items"); items != j.end() && !items->is_null()) {
      if (!items->is_array())
        error = "action_items: must be an array of strings";
      else
        for (auto& item : *items) {
          if (!item.is_string()) {
            error = "action_items: must be an array of strings";
            break;
          }
          if (item.get_ref<const std::string&>().find('\0') != std::string::npos) {
            error = "action_items: an item contains a NUL character";
            break;
          }
          ev.action_items.push_back(item.get<std::string>());
        }
    }
  }
  if (!error.empty()) {
    respond(response::error(400, "malformed", error));
    return;
  }
  auto e164 = core::normalize_phone(*phone);
  if (!e164) {
    respond(response::error(400, "malformed", "phone_number: " + core::reason_of(e164.error())));
    return;
  }
  ev.call_id = *call_id;
  ev.phone = *e164;
  ev.summary = *summary;
  ev.correlation_id = req.request_id;
  rt.submit(std::move(ev), reply_to(respond));
}

void mtn_inbound(actors::runtime& rt, const config::settings& cfg, request&& req,
                 responder respond) {
  if (!providers::verify_mtn_signature(cfg.sms.mtn.webhook_secret, req.body,
                                       req.headers.get("X-MTN-Signature"))) {
    respond(unauthorized("invalid X-MTN-Signature"));
    return;
  }
  auto sms = providers::parse_mtn_inbound(req.body);
  if (!sms) {
    respond(response::error(400, "malformed", core::reason_of(sms.error())));
    return;
  }
  core::inbound_message ev;
  ev.channel = "sms";
  ev.provider = "mtn";
  ev.external_id = sms->id;
  ev.from = sms->from;
  ev.type = "text";
  ev.text = sms->body;
  ev.received_at_ms = now_ms();
  ev.correlation_id = req.request_id;
  rt.submit(std::move(ev), reply_to(respond));
}

/// Verifies X-Twilio-Signature over our public URL of this request and its form parameters.
bool twilio_verified(const config::settings& cfg, const request& req, const core::form_params& p) {
  auto url = cfg.server.public_url + req.target;
  return providers::verify_twilio_signature(cfg.sms.twilio.auth_token, url, p,
                                            req.headers.get("X-Twilio-Signature"));
}

void twilio_inbound(actors::runtime& rt, const config::settings& cfg, request&& req,
                    responder respond) {
  auto params = core::parse_form(req.body);
  if (!twilio_verified(cfg, req, params)) {
    respond(unauthorized("invalid X-Twilio-Signature"));
    return;
  }
  auto sms = providers::parse_twilio_inbound(params);
  if (!sms) {
    respond(response::error(400, "malformed", core::reason_of(sms.error())));
    return;
  }
  if (!cfg.sms.twilio.account_sid.empty() && sms->account_sid != cfg.sms.twilio.account_sid) {
    respond(response::error(403, "forbidden", "AccountSid does not match this account"));
    return;
  }
  core::inbound_message ev;
  ev.channel = "sms";
  ev.provider = "twilio";
  ev.external_id = sms->message_sid;
  ev.from = sms->from;
  ev.type = sms->body.empty() && sms->num_media > 0 ? "media" : "text";
  ev.text = sms->body;
  ev.received_at_ms = now_ms();
  ev.correlation_id = req.request_id;
  rt.submit(std::move(ev), [respond](actors::edge_reply r) {
    // Twilio wants TwiML; the reply itself goes out through the REST API.
    if (r.status < 300)
      respond(response::make(200, twiml_empty, "text/xml"));
    else
      respond(to_response(r));
  });
}

void twilio_status(actors::runtime& rt, const config::settings& cfg, request&& req,
                   responder respond) {
  auto params = core::parse_form(req.body);
  if (!twilio_verified(cfg, req, params)) {
    respond(unauthorized("invalid X-Twilio-Signature"));
    return;
  }
  auto st = providers::parse_twilio_status(params);
  if (!st) {
    respond(response::error(400, "malformed", core::reason_of(st.error())));
    return;
  }
  if (!st->status) {
    // A status we do not track (e.g. "accepted"): nothing to record.
    respond(response::make(200, R"({"status":"ignored"})"));
    return;
  }
  core::status_update ev;
  ev.provider = "twilio";
  ev.external_id = st->message_sid;
  ev.status = core::to_string(*st->status);
  ev.error = st->error_message;
  ev.correlation_id = req.request_id;
  rt.submit(std::move(ev), reply_to(respond));
}

void whatsapp_verify(const config::settings& cfg, request&& req, responder respond) {
  auto challenge = providers::whatsapp_verify_challenge(core::parse_form(req.query),
                                                        cfg.whatsapp.verify_token);
  if (!challenge) {
    respond(response::error(403, "forbidden", core::reason_of(challenge.error())));
    return;
  }
  respond(response::make(200, *challenge, "text/plain"));
}

void whatsapp_inbound(actors::runtime& rt, const config::settings& cfg, request&& req,
                      responder respond) {
  if (!providers::verify_hub_signature(cfg.whatsapp.app_secret, req.body,
                                       req.headers.get("X-Hub-Signature-256"))) {
    respond(unauthorized("invalid X-Hub-Signature-256"));
    return;
  }
  auto hook = providers::parse_whatsapp_webhook(req.body);
  if (!hook) {
    respond(response::error(400, "malformed", core::reason_of(hook.error())));
    return;
  }
  std::vector<core::inbound_message> messages;
  std::vector<core::status_update> statuses;
  for (auto& m : hook->messages) {
    // A sender is known by its number, or by its business-scoped user id when the number is
    // withheld (a username); without either the message cannot be answered.
    if ((m.from.empty() && m.user_id.empty()) || m.id.empty()) {
      core::log(core::log_level::warn, "WhatsApp message without a usable sender skipped",
                {{"type", m.type}, {"correlation_id", req.request_id}});
      continue;
    }
    core::inbound_message ev;
    ev.channel = "whatsapp";
    ev.provider = "whatsapp_cloud";
    ev.external_id = m.id;
    ev.from = m.from;
    ev.user_id = m.user_id;
    ev.business = m.phone_number_id;
    ev.type = m.type;
    ev.text = m.text;
    ev.profile_name = m.profile_name;
    ev.received_at_ms = now_ms();
    ev.correlation_id = req.request_id;
    messages.push_back(std::move(ev));
  }
  for (auto& s : hook->statuses) {
    auto mapped = core::from_whatsapp_status(s.status);
    if (!mapped || s.message_id.empty())
      continue;
    core::status_update ev;
    ev.provider = "whatsapp_cloud";
    ev.external_id = s.message_id;
    ev.status = core::to_string(*mapped);
    ev.error = s.error_title.empty() ? s.error_details : s.error_title;
    if (s.error_code != 0)
      ev.error = std::to_string(s.error_code) + ": " + ev.error;
    ev.error_code = s.error_code;
    core::set_pricing(ev, s.pricing);
    ev.correlation_id = req.request_id;
    statuses.push_back(std::move(ev));
  }
  auto total = messages.size() + statuses.size();
  if (total == 0) {
    respond(response::make(200, R"({"status":"ignored"})"));
    return;
  }
  auto collector = std::make_shared<fan_in>(total, std::move(respond),
                                            response::make(200, R"({"status":"ok"})"));
  for (auto& ev : messages)
    rt.submit(std::move(ev), collector->callback(collector));
  for (auto& ev : statuses)
    rt.submit(std::move(ev), collector->callback(collector));
}

void tool_call(actors::runtime& rt, const config::settings& cfg, api_rate_limit& limit,
               request&& req, const path_params& params, responder respond) {
  auto token = bearer_of(req);
  if (!core::verify_secret_token(cfg.api.token, token)) {
    respond(unauthorized("missing or invalid bearer token", true));
    return;
  }
  if (!limit.admit("tools_call", token, respond))
    return;
  auto name = params.at("name");
  auto names = core::tool_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    respond(response::error(404, "not_found", "unknown tool '" + name + "'"));
    return;
  }
  std::string why;
  auto args = core::parse_untrusted_json(req.body, &why);
  if (args.is_discarded() || !args.is_object()) {
    respond(response::error(400, "malformed",
                            "the body must be a JSON object of arguments"
                                + (why.empty() ? "" : ": " + why)));
    return;
  }
  if (auto valid = core::validate_tool_arguments(name, args); !valid) {
    respond(response::error(422, "invalid_argument", core::reason_of(valid.error())));
    return;
  }
  actors::tool_request tr;
  tr.name = name;
  tr.arguments = args.dump();
  tr.phone = args.at("phone_number").get<std::string>();
  tr.correlation_id = req.request_id;
  rt.submit(std::move(tr), reply_to(respond));
}

} // namespace

void add_omnichannel_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                            api_rate_limit& api_limit) {
  auto limit = cfg.server.webhook_body_limit;
  auto* r = &rt;
  auto* c = &cfg;
  auto* l = &api_limit;
  routes.add({"POST", "/webhooks/voice/call-ended", "voice_call_ended", limit,
              [r, c, l](request&& req, const path_params&, responder res) {
                call_ended(*r, *c, *l, std::move(req), std::move(res));
              },
              openapi_ops::call_ended()});
  routes.add({"POST", "/webhooks/sms/mtn", "sms_mtn", limit,
              [r, c](request&& req, const path_params&, responder res) {
                mtn_inbound(*r, *c, std::move(req), std::move(res));
              },
              openapi_ops::mtn_inbound()});
  routes.add({"POST", "/webhooks/sms/twilio", "sms_twilio", limit,
              [r, c](request&& req, const path_params&, responder res) {
                twilio_inbound(*r, *c, std::move(req), std::move(res));
              },
              openapi_ops::twilio_inbound()});
  routes.add({"POST", "/webhooks/sms/twilio/status", "sms_twilio_status", limit,
              [r, c](request&& req, const path_params&, responder res) {
                twilio_status(*r, *c, std::move(req), std::move(res));
              },
              openapi_ops::twilio_status()});
  routes.add({"GET", "/webhooks/whatsapp", "whatsapp_verify", limit,
              [c](request&& req, const path_params&, responder res) {
                whatsapp_verify(*c, std::move(req), std::move(res));
              },
              openapi_ops::whatsapp_verify()});
  routes.add({"POST", "/webhooks/whatsapp", "whatsapp", limit,
              [r, c](request&& req, const path_params&, responder res) {
                whatsapp_inbound(*r, *c, std::move(req), std::move(res));
              },
              openapi_ops::whatsapp_webhook()});
  routes.add({"GET", "/api/v1/tools", "tools_list", 0,
              [](request&&, const path_params&, responder res) {
                res(response::make(200, core::tool_definitions().dump()));
              },
              tools_list_operation().dump()});
  routes.add({"POST", "/api/v1/tools/{name}", "tools_call", 64 * 1024,
              [r, c, l](request&& req, const path_params& p, responder res) {
                tool_call(*r, *c, *l, std::move(req), p, std::move(res));
              },
              tools_call_operation().dump()});
}

} // namespace switchboard::http
