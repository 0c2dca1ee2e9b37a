#include "http/bot_routes.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/runtime.hpp"
#include "core/bot/chatwoot.hpp"
#include "core/form.hpp"
#include "core/signatures.hpp"
#include "http/edge.hpp"
#include "http/openapi_ops.hpp"
#include "providers/chatwoot/codec.hpp"
#include "providers/chatwoot/signature.hpp"
#include "providers/telegram/codec.hpp"

namespace switchboard::http {

namespace {

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// `secrets`: providers::chatwoot_webhook_secrets of the config (none: webhooks are not signed).
/// The signature is checked before the body is parsed.
void chatwoot_webhook(actors::runtime& rt, const std::vector<std::string>& secrets, request&& req,
                      responder respond) {
  if (!secrets.empty()
      && !providers::verify_chatwoot_signature(secrets, req.headers.get("X-Chatwoot-Timestamp"),
                                               req.body, req.headers.get("X-Chatwoot-Signature"),
                                               now_unix(), 300)) {
    respond(response::error(401, "unauthorized", "invalid or stale X-Chatwoot-Signature"));
    return;
  }
  auto ev = providers::parse_chatwoot_webhook(req.body);
  if (!ev) {
    respond(response::error(400, "malformed", core::reason_of(ev.error())));
    return;
  }
  if (!ev->account_id) {
    // Chatwoot's conversation events may carry no account (chatwoot#11753, #12442); webhooks
    // and agent bots are set up per account, so the URL can name it: ?account_id=N.
    auto q = std::string{core::form_value(core::parse_form(req.query), "account_id")};
    if (!q.empty() && q.size() < 19 && std::all_of(q.begin(), q.end(), ::isdigit))
      ev->account_id = std::stoll(q);
  }
  if (!ev->account_id || !ev->conversation_id) {
    // Events without a conversation (contact_created, ...) concern no bot.
    respond(response::make(200, R"({"status":"ignored"})"));
    return;
  }
  core::chatwoot_inbound out;
  out.account_id = *ev->account_id;
  out.conversation_id = *ev->conversation_id;
  out.event = ev->event;
  out.status = ev->conversation_status;
  if (ev->status_change)
    out.previous_status = ev->status_change->previous;
  out.delivery_id = std::string{req.headers.get("X-Chatwoot-Delivery")};
  if (ev->event == "message_created" && ev->message) {
    auto& m = *ev->message;
    out.customer_message = m.type == core::chatwoot_message_type::incoming && !m.is_private
                           && m.sender_type == core::chatwoot_sender_type::contact;
    out.content = m.content;
  }
  out.bot_should_answer = core::should_bot_answer(*ev);
  if (ev->contact)
    out.contact_name = ev->contact->name;
  out.correlation_id = req.request_id;
  rt.submit(std::move(out), providers::chatwoot_dedupe_key(*ev, req.body), reply_to(respond));
}

void telegram_webhook(actors::runtime& rt, const config::settings& cfg, request&& req,
                      responder respond) {
  if (!core::verify_secret_token(cfg.telegram.webhook_secret,
                                 req.headers.get("X-Telegram-Bot-Api-Secret-Token"))) {
    respond(response::error(401, "unauthorized", "invalid X-Telegram-Bot-Api-Secret-Token"));
    return;
  }
  auto update = providers::parse_telegram_update(req.body);
  if (!update) {
    respond(response::error(400, "malformed", core::reason_of(update.error())));
    return;
  }
  if (update->kind != providers::telegram_update_kind::message || !update->message) {
    respond(response::make(200, R"({"status":"ignored"})"));
    return;
  }
  auto& m = *update->message;
  core::telegram_inbound ev;
  ev.update_id = update->update_id;
  ev.chat_id = m.chat_id;
  ev.message_id = m.message_id;
  ev.from_name = m.from_name;
  ev.text = m.text;
  ev.reply_to_message_id = m.reply_to_message_id.value_or(0);
  ev.is_start = m.is_start;
  ev.correlation_id = req.request_id;
  rt.submit(std::move(ev), reply_to(respond));
}

} // namespace

void add_bot_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg) {
  auto limit = cfg.server.webhook_body_limit;
  auto* r = &rt;
  auto* c = &cfg;
  if (cfg.chatwoot.enabled) {
    auto secrets
        = std::make_shared<const std::vector<std::string>>(providers::chatwoot_webhook_secrets(
            cfg.chatwoot.webhook_secret, cfg.chatwoot.webhook_secrets));
    routes.add({"POST", "/webhooks/chatwoot", "chatwoot", limit,
                [r, secrets](request&& req, const path_params&, responder res) {
                  chatwoot_webhook(*r, *secrets, std::move(req), std::move(res));
                },
                openapi_ops::chatwoot_webhook()});
  }
  if (cfg.telegram.enabled)
    routes.add({"POST", "/webhooks/telegram", "telegram", limit,
                [r, c](request&& req, const path_params&, responder res) {
                  telegram_webhook(*r, *c, std::move(req), std::move(res));
                },
                openapi_ops::telegram_webhook()});
}

} // namespace switchboard::http
