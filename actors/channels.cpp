#include <deque>

#include "actors/common.hpp"
#include "core/circuit.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/phone.hpp"
#include "core/retry.hpp"
#include "core/sms.hpp"
#include "core/whatsapp_errors.hpp"
#include "providers/mtn/codec.hpp"
#include "providers/smtp/codec.hpp"
#include "providers/telegram/codec.hpp"
#include "providers/twilio/codec.hpp"
#include "providers/whatsapp/codec.hpp"
#include "storage/chatwoot.hpp"
#include "storage/outbox.hpp"

namespace switchboard::actors {

using core::sb_error;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::system_clock;

namespace {

/// The provider a channel adapter speaks.
enum class provider_kind { whatsapp_cloud, mtn, twilio, telegram, email };

struct channel_state {
  static inline const char* name = "channel";
  std::shared_ptr<services> svc;
  provider_kind kind = provider_kind::whatsapp_cloud;
  std::string service; ///< metrics label
  // MTN OAuth2 client-credentials token, cached until shortly before it expires.
  std::string token;
  std::chrono::steady_clock::time_point token_expiry;
  bool token_pending = false;
  std::deque<std::pair<outbound_send, core::circuit_permit>> waiting_for_token;
  // The provider's circuit breaker: every send to it passes here.
  core::circuit_breaker breaker;
  uint64_t opens_reported = 0;
  core::outbox_schedule schedule;
  // Flow control: at most max_in_flight sends awaiting the provider, at most rate_per_s a second
  // (token bucket); claimed sends beyond wait here, in order.
  std::size_t max_in_flight = 256;
  double rate_per_s = 0;
  std::size_t in_flight = 0;
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled;
  bool tick_armed = false;
  std::deque<outbound_send> waiting;
};

using channel_ptr = channel_actor::stateful_pointer<channel_state>;

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void log_send(const outbound_send& s, const char* msg, core::log_level level,
              std::initializer_list<core::log_field> extra = {}) {
  if (!core::log_enabled(level))
    return;
  // The fields are views: the strings they show must outlive the log call.
  auto to = core::mask_phone(s.recipient);
  auto id = std::to_string(s.delivery_id);
  std::vector<core::log_field> fields{{"correlation_id", s.correlation_id},
                                      {"channel", s.channel},
                                      {"provider", s.provider},
                                      {"to", to},
                                      {"delivery_id", id}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  core::log(level, msg, fields);
}

/// The HTTP request that sends `s` through the adapter's provider.
core::expected<http_call> build_call(const channel_state& st, const outbound_send& s) {
  const auto& cfg = st.svc->cfg;
  http_call call;
  call.service = st.service;
  call.correlation_id = s.correlation_id;
  switch (st.kind) {
  case provider_kind::whatsapp_cloud: {
    auto& w = cfg.whatsapp;
    call.url = w.base_url + "/" + w.api_version + "/" + w.phone_number_id + "/messages";
    call.headers
        = {{"Authorization", "Bearer " + w.access_token}, {"Content-Type", "application/json"}};
    auto to = s.recipient.substr(s.recipient.rfind('+') + 1);
    json body;
    if (!s.template_name.empty()) {
      providers::whatsapp_template tpl;
      tpl.name = s.template_name;
      tpl.language_code = s.template_language;
      tpl.body_parameters = {s.body};
      body = providers::build_whatsapp_template(to, tpl);
    } else {
      body = providers::build_whatsapp_text(to, s.body);
    }
    call.body = body.dump();
    return call;
  }
  case provider_kind::mtn: {
    auto& m = cfg.sms.mtn;
    call.url = m.base_url + "/v3/sms/messages/sms/outbound";
    call.headers = {{"Authorization", "Bearer " + st.token}, {"Content-Type", "application/json"}};
    providers::mtn_send_request req;
    req.sender_address = m.sender_address;
    req.receivers = {s.recipient};
    req.message = s.body;
    // The request's id is stable per row (every attempt sends the same), and distinct across
    // the two outboxes (a notification's id may equal a delivery's).
    req.client_correlator = (s.box == 1 ? "sb-n" : "sb-") + std::to_string(s.delivery_id);
    call.body = providers::build_mtn_send(req).dump();
    return call;
  }
  case provider_kind::twilio: {
    auto& t = cfg.sms.twilio;
    call.url = t.base_url + "/2010-04-01/Accounts/" + t.account_sid + "/Messages.json";
    call.basic_auth = t.account_sid + ":" + t.auth_token;
    call.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    providers::twilio_send_request req;
    req.to = s.recipient;
    req.from = t.from_number;
    req.messaging_service_sid = t.messaging_service_sid;
    req.body = s.body;
    req.status_callback = cfg.server.public_url + "/webhooks/sms/twilio/status";
    auto form = providers::build_twilio_send_form(req);
    if (!form)
      return form.error();
    call.body = core::encode_form(*form);
    return call;
  }
  case provider_kind::telegram: {
    auto& t = cfg.telegram;
    call.url = t.base_url + "/bot" + t.bot_token + "/sendMessage";
    call.headers = {{"Content-Type", "application/json"}};
    int64_t chat = 0;
    try {
      chat = std::stoll(s.recipient);
    } catch (...) {
      return caf::make_error(sb_error::invalid_argument, std::string{"bad Telegram chat id"});
    }
    auto body = providers::telegram_send_message_body(chat, s.body);
    if (!body)
      return body.error();
    call.body = std::move(*body);
    return call;
  }
  case provider_kind::email:
    break; // email goes through mail_call (build_mail)
  }
  return caf::make_error(sb_error::internal, std::string{"no HTTP call for this provider"});
}

/// The provider's message id from a send answer, or the error it describes.
core::expected<std::string> parse_answer(const channel_state& st, const http_reply& r) {
  switch (st.kind) {
  case provider_kind::whatsapp_cloud:
    return providers::parse_whatsapp_send_response(static_cast<int>(r.status), r.body);
  case provider_kind::mtn: {
    auto res = providers::parse_mtn_send_response(static_cast<int>(r.status), r.body);
    if (!res)
      return res.error();
    return res->message_id;
  }
  case provider_kind::twilio: {
    auto res = providers::parse_twilio_send_response(static_cast<int>(r.status), r.body);
    if (!res)
      return res.error();
    return res->message_id;
  }
  case provider_kind::telegram: {
    auto res = providers::parse_telegram_send_response(static_cast<int>(r.status), r.body);
    if (!res)
      return res.error();
    return std::to_string(*res);
  }
  case provider_kind::email: {
    // SMTP: 2xx accepted, 4xx try again later, 5xx refused for good.
    if (r.status >= 200 && r.status < 300)
      return std::string{};
    auto code = r.status >= 400 && r.status < 500 ? sb_error::provider_transient
                                                  : sb_error::provider_rejected;
    return caf::make_error(code, "SMTP answered " + std::to_string(r.status));
  }
  }
  return caf::make_error(sb_error::internal, std::string{"unknown provider"});
}

void attempt(channel_ptr self, outbound_send s);
void send_now(channel_ptr self, outbound_send s, core::circuit_permit permit);
void release_slot(channel_ptr self);

/// Records the final failure of a send.
void give_up(channel_ptr self, const outbound_send& s, const std::string& reason,
             int64_t latency_ms = -1) {
  auto& svc = *self->state.svc;
  svc.stats->message_sent(s.channel, s.provider, false);
  log_send(s, "send failed", core::log_level::warn, {{"reason", reason}});
  auto id = s.delivery_id;
  db_write<int>(
      self, svc, "record_failed",
      [id, reason, latency_ms, box = static_cast<storage::outbox>(s.box)](soci::session& sql) {
        storage::record_failed(sql, id, reason, box, latency_ms);
        return 0;
      },
      [](int) {},
      [s](caf::error& e) {
        log_send(s, "could not record a failed send; the sweeper will retry it",
                 core::log_level::warn, {{"error", core::reason_of(e)}});
      });
}

/// What the retry decision did with a row whose attempt failed.
struct retry_result {
  enum { gone, retried, failed, fell_back } what = gone;
  milliseconds delay{0};
  int attempts = 0;
  std::string fallback_channel; ///< fell_back: the channel of the send queued instead
};

/// After a transient failure: the row goes back to the outbox, due at the next step of the retry
/// schedule (durable; the sweeper sends it), or, past its kind's horizon, fails for good (a
/// WhatsApp reply then goes by SMS when it can). One transaction, 2-4 round trips.
void retry_later(channel_ptr self, outbound_send s, const std::string& reason,
                 std::optional<milliseconds> retry_after, int64_t latency_ms = -1) {
  auto& svc = *self->state.svc;
  auto schedule = self->state.schedule;
  auto policy = svc.policy;
  auto r = core::default_jitter()();
  auto id = s.delivery_id;
  auto box = static_cast<storage::outbox>(s.box);
  db_write<retry_result>(
      self, svc, "retry_or_fail",
      [=](soci::session& sql) {
        retry_result out;
        auto facts = storage::lock_for_retry(sql, id, box);
        if (!facts)
          return out;
        out.attempts = facts->attempts;
        auto horizon = core::horizon_for(schedule, facts->message_type);
        if (auto delay = core::next_outbox_attempt(schedule, horizon, facts->attempts, facts->age,
                                                   retry_after, r)) {
          storage::reschedule_row(sql, id, box, reason, *delay, latency_ms);
          out.what = retry_result::retried;
          out.delay = *delay;
          return out;
        }
        auto why = reason + " (gave up after " + std::to_string(facts->attempts) + " attempts in "
                   + std::to_string(facts->age.count() / 1000) + " s: the "
                   + (box == storage::outbox::notifications ? std::string{"notification"}
                                                            : facts->message_type)
                   + " retry horizon of " + std::to_string(horizon.count() / 1000) + " s passed)";
        if (box == storage::outbox::deliveries && facts->channel == "whatsapp"
            && facts->message_type == "reply") {
          auto fb = storage::fail_with_fallback(sql, policy, id, core::whatsapp_outage_fallback,
                                                why + "; sent by SMS instead");
          if (fb && fb->status == "queued") {
            out.what = retry_result::fell_back;
            out.fallback_channel = fb->channel;
            return out;
          }
          out.what = retry_result::failed;
          return out;
        }
        storage::record_failed(sql, id, why, box, latency_ms);
        out.what = retry_result::failed;
        return out;
      },
      [self, s, reason](retry_result& res) {
        auto& svc = *self->state.svc;
        switch (res.what) {
        case retry_result::gone:
          break;
        case retry_result::retried:
          svc.stats->provider_retry(self->state.service);
          log_send(
              s, "send will be retried", core::log_level::info,
              {{"reason", reason}, {"attempts", res.attempts}, {"delay_ms", res.delay.count()}});
          break;
        case retry_result::fell_back:
          svc.stats->count("whatsapp_fallbacks", res.fallback_channel);
          [[fallthrough]];
        case retry_result::failed:
          svc.stats->message_sent(s.channel, s.provider, false);
          log_send(
              s, "send failed: retry horizon passed", core::log_level::warn,
              {{"reason", reason}, {"attempts", res.attempts}, {"fallback", res.fallback_channel}});
          break;
        }
      },
      [s](caf::error& e) {
        // The row keeps its claim's lease: the sweeper sends it again when that runs out.
        log_send(s, "could not reschedule a failed send; the sweeper will retry it",
                 core::log_level::warn, {{"error", core::reason_of(e)}});
      });
}

/// The breaker's state and opens in /metrics; arms a tick for when an open breaker's cool-down
/// ends (so the gauge shows half-open and held-back sends are looked at again).
void report_circuit(channel_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  st.svc->stats->circuit_state(st.service, static_cast<int>(st.breaker.state(now)));
  if (st.breaker.opens() != st.opens_reported) {
    for (; st.opens_reported < st.breaker.opens(); ++st.opens_reported)
      st.svc->stats->circuit_opened(st.service);
    auto wait = st.breaker.open_for(now);
    self->delayed_send(self, wait + milliseconds{1}, tick_atom::value);
    core::log(core::log_level::warn, "circuit breaker opened: sends to the provider wait",
              {{"provider", st.service}, {"cooldown_ms", wait.count()}});
  }
}

/// How a provider's answer bears on its health: only provider-side failures count (5xx, 408,
/// 429; SMTP 4xx), not a refusal of one message.
core::call_outcome health_of(const channel_state& st, const http_reply& r) {
  auto status = static_cast<int>(r.status);
  if (st.kind == provider_kind::email)
    return status >= 400 && status < 500 ? core::call_outcome::failure
                                         : core::call_outcome::success;
  return core::provider_call_outcome(status);
}

/// Records a permitted call's outcome with the breaker.
void record_call(channel_ptr self, const core::circuit_permit& permit, core::call_outcome outcome) {
  auto& st = self->state;
  auto was = st.breaker.state(std::chrono::steady_clock::now());
  st.breaker.record(permit, outcome, std::chrono::steady_clock::now());
  auto now_state = st.breaker.state(std::chrono::steady_clock::now());
  if (was != now_state && now_state == core::circuit_state::closed)
    core::log(core::log_level::info, "circuit breaker closed: the provider answers again",
              {{"provider", st.service}});
  report_circuit(self);
}

/// A send its provider's open breaker holds back: not attempted, back in the outbox until the
/// breaker lets sends through again, its attempt counter as it was (`refund`: the claim already
/// counted this attempt).
void hold_back(channel_ptr self, const outbound_send& s, bool refund, milliseconds wait) {
  auto& svc = *self->state.svc;
  svc.stats->circuit_deferred(self->state.service);
  // Spread over a tenth of the wait, so the held-back rows do not all come due at once.
  auto spread
      = static_cast<int64_t>(static_cast<double>(wait.count()) * 0.1 * core::default_jitter()());
  auto delay = std::max(wait, milliseconds{50}) + milliseconds{spread};
  auto id = s.delivery_id;
  auto token = s.claim_token;
  auto box = static_cast<storage::outbox>(s.box);
  log_send(s, "circuit open: the send waits", core::log_level::debug,
           {{"delay_ms", delay.count()}});
  db_write<bool>(
      self, svc, "postpone",
      [=](soci::session& sql) { return storage::postpone_row(sql, id, box, token, delay, refund); },
      [](bool&) {},
      [s](caf::error& e) {
        log_send(s, "could not postpone a held-back send; the sweeper will retry it",
                 core::log_level::warn, {{"error", core::reason_of(e)}});
      });
}

/// A WhatsApp send Meta refused for its user (131047 outside the window, 131026 not on
/// WhatsApp): the row fails for good and its fallback (the template, or SMS) is queued for the
/// outbox sweeper, in one transaction.
void fall_back(channel_ptr self, const outbound_send& s, int64_t code, const std::string& reason) {
  auto& svc = *self->state.svc;
  svc.stats->message_sent(s.channel, s.provider, false);
  log_send(s, "WhatsApp refused the message for this user; falling back", core::log_level::warn,
           {{"reason", reason}});
  auto id = s.delivery_id;
  auto policy = svc.policy;
  db_write<std::string>(
      self, svc, "fail_with_fallback",
      [id, code, reason, policy](soci::session& sql) {
        auto row = storage::fail_with_fallback(sql, policy, id, code, reason);
        return row && row->status == "queued" ? row->channel : std::string{};
      },
      [self](std::string& channel) {
        if (!channel.empty())
          self->state.svc->stats->count("whatsapp_fallbacks", channel);
      },
      [s](caf::error& e) {
        log_send(s, "could not record a refused send; the sweeper will retry it",
                 core::log_level::warn, {{"error", core::reason_of(e)}});
      });
}

/// A send refused by a per-user limit (131049, 131056): only this row waits, back in the queue
/// until `wait` has passed (the outbox sweeper sends it then); the adapter goes on sending to
/// everybody else. Failed for good once the row's attempts are spent.
void back_off(channel_ptr self, const outbound_send& s, const std::string& reason,
              milliseconds wait) {
  auto& svc = *self->state.svc;
  svc.stats->count("whatsapp_user_backoffs", "send");
  log_send(s, "per-user limit: the send waits", core::log_level::info,
           {{"reason", reason}, {"delay_ms", wait.count()}});
  auto id = s.delivery_id;
  db_write<bool>(
      self, svc, "back_off",
      [id, reason, wait](soci::session& sql) {
        if (storage::back_off_row(sql, id, reason, wait))
          return true;
        storage::record_failed(sql, id, reason + " (per-user limit: attempts spent)");
        return false;
      },
      [self, s](bool& later) {
        if (!later)
          self->state.svc->stats->message_sent(s.channel, s.provider, false);
      },
      [s](caf::error& e) {
        log_send(s, "could not record a back-off; the sweeper will retry it", core::log_level::warn,
                 {{"error", core::reason_of(e)}});
      });
}

/// Acts on a WhatsApp error code that calls for more than the ordinary retry or failure (see
/// core::whatsapp_error_action_for); false when the ordinary handling applies.
bool on_whatsapp_error(channel_ptr self, const outbound_send& s, const caf::error& err,
                       const std::string& reason, std::optional<milliseconds> retry_after) {
  auto code = core::provider_error_code(err);
  if (!code || static_cast<storage::outbox>(s.box) != storage::outbox::deliveries)
    return false;
  switch (core::whatsapp_error_action_for(*code)) {
  case core::whatsapp_error_action::user_backoff:
    back_off(self, s, reason,
             std::max(core::whatsapp_user_backoff(*code), retry_after.value_or(milliseconds{0})));
    return true;
  case core::whatsapp_error_action::reengage:
  case core::whatsapp_error_action::undeliverable:
    fall_back(self, s, *code, reason);
    return true;
  default:
    return false; // 130429 is transient: retried with backoff like any throttling
  }
}

/// Fetches an MTN access token, then resumes the sends waiting for it.
void fetch_token(channel_ptr self) {
  auto& st = self->state;
  if (st.token_pending)
    return;
  st.token_pending = true;
  auto& m = st.svc->cfg.sms.mtn;
  http_call call;
  call.service = "mtn_oauth";
  call.url = m.base_url + m.token_path + "?grant_type=client_credentials";
  call.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  call.body = core::encode_form({{"client_id", m.client_id}, {"client_secret", m.client_secret}});
  self->request(st.svc->http, std::chrono::seconds{30}, std::move(call))
      .then(
          [self](http_reply& r) {
            auto& st = self->state;
            st.token_pending = false;
            auto tok = providers::parse_oauth_token_response(static_cast<int>(r.status), r.body);
            auto waiting = std::move(st.waiting_for_token);
            st.waiting_for_token.clear();
            if (!tok) {
              core::log(core::log_level::warn, "MTN token request failed",
                        {{"error", core::reason_of(tok.error())}});
              auto outcome = health_of(st, r);
              for (auto& [s, permit] : waiting) {
                record_call(self, permit, outcome);
                retry_later(self, s, "MTN token: " + core::reason_of(tok.error()), std::nullopt);
                release_slot(self);
              }
              return;
            }
            st.token = tok->access_token;
            auto lifetime = tok->expires_in.value_or(std::chrono::seconds{3600});
            // Renew a minute early (or at half-life for short tokens).
            auto margin = std::min<std::chrono::seconds>(std::chrono::seconds{60}, lifetime / 2);
            st.token_expiry = std::chrono::steady_clock::now() + lifetime - margin;
            for (auto& [s, permit] : waiting)
              send_now(self, s, permit);
          },
          [self](caf::error& e) {
            auto& st = self->state;
            st.token_pending = false;
            auto waiting = std::move(st.waiting_for_token);
            st.waiting_for_token.clear();
            for (auto& [s, permit] : waiting) {
              record_call(self, permit, core::call_outcome::failure);
              retry_later(self, s, "MTN token: " + core::reason_of(e), std::nullopt);
              release_slot(self);
            }
          });
}

/// Sends `s` (the claim is already held for this attempt).
/// Handles a provider's answer to a send: recorded as sent, retried, or failed for good.
void on_answer(channel_ptr self, outbound_send s, const core::circuit_permit& permit,
               http_reply& r) {
  auto& st = self->state;
  record_call(self, permit, health_of(st, r));
  release_slot(self);
  if (st.kind == provider_kind::mtn && r.status == 401) {
    // Revoked or expired early: get a new token and try again at once (counts as an attempt);
    // a token refused again and again waits for the retry schedule.
    st.token.clear();
    if (s.attempt < 3)
      self->send(self, retry_atom::value, s);
    else
      retry_later(self, s, "MTN rejected the access token", std::nullopt);
    return;
  }
  auto id = parse_answer(st, r);
  if (!id) {
    auto reason = core::reason_of(id.error());
    std::optional<milliseconds> retry_after;
    if (auto ra = core::parse_retry_after(r.header("retry-after"), system_clock::now()))
      retry_after = std::chrono::duration_cast<milliseconds>(*ra);
    if (st.kind == provider_kind::whatsapp_cloud
        && on_whatsapp_error(self, s, id.error(), reason, retry_after))
      return;
    auto latency_ms = static_cast<int64_t>(r.elapsed_us / 1000);
    if (core::code_of(id.error()) == sb_error::provider_transient) {
      retry_later(self, s, reason, retry_after, latency_ms);
    } else {
      give_up(self, s, reason, latency_ms);
    }
    return;
  }
  auto& svc = *st.svc;
  svc.stats->message_sent(s.channel, s.provider, true);
  log_send(s, "sent", core::log_level::info,
           {{"attempt", s.attempt}, {"latency_ms", r.elapsed_us / 1000}});
  storage::sent_record rec;
  rec.id = s.delivery_id;
  rec.external_id = *id;
  rec.box = static_cast<storage::outbox>(s.box);
  rec.latency_ms = static_cast<int64_t>(r.elapsed_us / 1000);
  if (st.kind == provider_kind::mtn || st.kind == provider_kind::twilio) {
    auto info = core::analyze_sms(s.body);
    rec.sms_segments = static_cast<int>(info.segments);
    rec.sms_encoding = core::to_string(info.encoding);
    svc.stats->cost("sms", rec.sms_encoding, "segments", static_cast<double>(info.segments));
  }
  db_batch<bool>(
      self, svc.storage, svc.sent_batch, std::move(rec), [](bool&) {},
      [s](caf::error& e) {
        log_send(s, "sent, but recording it failed", core::log_level::error,
                 {{"error", core::reason_of(e)}});
      });
}

/// The SMTP transfer for an email notification.
core::expected<mail_call> build_mail(const channel_state& st, const outbound_send& s) {
  const auto& smtp = st.svc->cfg.smtp;
  providers::email_message msg;
  msg.from.address = smtp.from;
  msg.from.name = "Switchboard";
  msg.to.push_back({"", s.recipient});
  msg.subject = s.subject;
  msg.body = s.body;
  msg.date_unix = now_ms() / 1000;
  auto payload = providers::build_email(msg);
  if (!payload)
    return payload.error();
  mail_call call;
  call.url = smtp.url;
  call.from = smtp.from;
  call.to = {s.recipient};
  call.payload = std::move(*payload);
  call.username = smtp.username;
  call.password = smtp.password;
  call.correlation_id = s.correlation_id;
  return call;
}

/// Sends `s` (the claim is already held for this attempt).
void send_now(channel_ptr self, outbound_send s, core::circuit_permit permit) {
  auto& st = self->state;
  if (st.kind == provider_kind::mtn
      && (st.token.empty() || std::chrono::steady_clock::now() >= st.token_expiry)) {
    st.waiting_for_token.emplace_back(std::move(s), permit);
    fetch_token(self);
    return;
  }
  auto answered = [self, s, permit](http_reply& r) { on_answer(self, s, permit, r); };
  auto failed = [self, s, permit](caf::error& e) {
    // No answer at all (timeout, connection refused or reset): the provider's side.
    record_call(self, permit, core::call_outcome::failure);
    release_slot(self);
    retry_later(self, s, core::reason_of(e), std::nullopt);
  };
  if (st.kind == provider_kind::email) {
    auto mail = build_mail(st, s);
    if (!mail) {
      record_call(self, permit, core::call_outcome::abandoned);
      give_up(self, s, core::reason_of(mail.error()));
      release_slot(self);
      return;
    }
    self->request(st.svc->http, std::chrono::minutes{5}, std::move(*mail)).then(answered, failed);
    return;
  }
  auto call = build_call(st, s);
  if (!call) {
    record_call(self, permit, core::call_outcome::abandoned);
    give_up(self, s, core::reason_of(call.error()));
    release_slot(self);
    return;
  }
  self->request(st.svc->http, std::chrono::minutes{5}, std::move(*call)).then(answered, failed);
}

/// Whether the rate limit lets one more send go now (token bucket, burst of one second).
bool take_token(channel_state& st) {
  if (st.rate_per_s <= 0)
    return true;
  auto now = std::chrono::steady_clock::now();
  auto elapsed = std::chrono::duration<double>(now - st.refilled).count();
  st.refilled = now;
  st.tokens = std::min(std::max(1.0, st.rate_per_s), st.tokens + elapsed * st.rate_per_s);
  if (st.tokens < 1.0)
    return false;
  st.tokens -= 1.0;
  return true;
}

/// Sends what the limits and the breaker allow (sends the breaker refuses go back to the
/// outbox); arms one timer when the rate limit holds sends back.
void drain(channel_ptr self) {
  auto& st = self->state;
  report_circuit(self);
  while (!st.waiting.empty() && st.in_flight < st.max_in_flight) {
    auto now = std::chrono::steady_clock::now();
    if (!st.breaker.would_allow(now)) {
      auto s = std::move(st.waiting.front());
      st.waiting.pop_front();
      hold_back(self, s, true, st.breaker.acquire(now).wait);
      continue;
    }
    if (!take_token(st))
      break;
    auto s = std::move(st.waiting.front());
    st.waiting.pop_front();
    auto permit = st.breaker.acquire(now);
    ++st.in_flight;
    send_now(self, std::move(s), permit);
  }
  if (!st.waiting.empty() && st.in_flight < st.max_in_flight && !st.tick_armed) {
    st.tick_armed = true;
    auto wait = std::chrono::duration<double>((1.0 - st.tokens) / st.rate_per_s);
    self->delayed_send(self,
                       std::max(std::chrono::duration_cast<milliseconds>(wait), milliseconds{1}),
                       tick_atom::value);
  }
}

/// A send slot ended (answered, failed or given up): let the next waiting send go.
void release_slot(channel_ptr self) {
  auto& st = self->state;
  if (st.in_flight > 0)
    --st.in_flight;
  drain(self);
}

/// One attempt: take the row's claim (and count the attempt; batched with other attempts'),
/// then send when the provider's limits allow.
void attempt(channel_ptr self, outbound_send s) {
  auto& svc = *self->state.svc;
  auto now = std::chrono::steady_clock::now();
  if (!self->state.breaker.would_allow(now)) {
    // The provider is failing: the row waits, unclaimed and not counted as an attempt.
    hold_back(self, s, false, self->state.breaker.acquire(now).wait);
    return;
  }
  if (s.first_attempt_ms == 0)
    s.first_attempt_ms = now_ms();
  ++s.attempt;
  storage::attempt_claim claim{s.delivery_id, s.claim_token, static_cast<storage::outbox>(s.box)};
  db_batch<bool>(
      self, svc.storage, svc.attempts_batch, std::move(claim),
      [self, s](bool& claimed) {
        if (!claimed) {
          log_send(s, "send dropped: its claim is held elsewhere or it is final",
                   core::log_level::debug);
          return;
        }
        self->state.waiting.push_back(s);
        drain(self);
      },
      [s](caf::error& e) {
        // Not even the claim could be recorded (database down): the sweeper sends the row again
        // once its current claim's lease runs out.
        log_send(s, "could not claim a send; the sweeper will retry it", core::log_level::warn,
                 {{"error", core::reason_of(e)}});
      });
}

channel_actor::behavior_type channel_fn(channel_ptr self, std::shared_ptr<services> svc,
                                        provider_kind kind) {
  self->state.svc = std::move(svc);
  self->state.kind = kind;
  switch (kind) {
  case provider_kind::whatsapp_cloud:
    self->state.service = "whatsapp";
    break;
  case provider_kind::mtn:
    self->state.service = "mtn";
    break;
  case provider_kind::twilio:
    self->state.service = "twilio";
    break;
  case provider_kind::telegram:
    self->state.service = "telegram";
    break;
  case provider_kind::email:
    self->state.service = "smtp";
    break;
  }
  auto& cfg = self->state.svc->cfg;
  switch (kind) {
  case provider_kind::whatsapp_cloud:
    self->state.max_in_flight = cfg.whatsapp.max_in_flight;
    self->state.rate_per_s = cfg.whatsapp.rate_per_s;
    break;
  case provider_kind::mtn:
    self->state.max_in_flight = cfg.sms.mtn.max_in_flight;
    self->state.rate_per_s = cfg.sms.mtn.rate_per_s;
    break;
  case provider_kind::twilio:
    self->state.max_in_flight = cfg.sms.twilio.max_in_flight;
    self->state.rate_per_s = cfg.sms.twilio.rate_per_s;
    break;
  default:
    self->state.max_in_flight = 64;
    break;
  }
  self->state.max_in_flight = std::max<std::size_t>(1, self->state.max_in_flight);
  core::circuit_settings cs;
  cs.failure_threshold = cfg.circuit.failure_threshold;
  cs.cooldown = cfg.circuit.cooldown;
  cs.max_cooldown = cfg.circuit.max_cooldown;
  self->state.breaker = core::circuit_breaker{cs};
  self->state.schedule = outbox_schedule_of(cfg);
  self->state.svc->stats->circuit_state(self->state.service, 0);
  self->state.tokens = std::max(1.0, self->state.rate_per_s);
  self->state.refilled = std::chrono::steady_clock::now();
  return {
      [=](outbound_send& s) { attempt(self, std::move(s)); },
      [=](tick_atom) {
        self->state.tick_armed = false;
        drain(self);
      },
      [=](retry_atom, outbound_send& s) { attempt(self, std::move(s)); },
      [=](token_atom) { fetch_token(self); },
      [=](resume_atom, deferred_step& step) { step(); },
  };
}

} // namespace

channel_actor spawn_whatsapp(caf::actor_system& sys, std::shared_ptr<services> svc) {
  return sys.spawn(channel_fn, std::move(svc), provider_kind::whatsapp_cloud);
}

channel_actor spawn_telegram(caf::actor_system& sys, std::shared_ptr<services> svc) {
  return sys.spawn(channel_fn, std::move(svc), provider_kind::telegram);
}

channel_actor spawn_email(caf::actor_system& sys, std::shared_ptr<services> svc) {
  return sys.spawn(channel_fn, std::move(svc), provider_kind::email);
}

const channel_actor& adapter_for(const services& svc, const std::string& channel) {
  if (channel == "whatsapp")
    return svc.whatsapp;
  if (channel == "telegram")
    return svc.telegram;
  if (channel == "email")
    return svc.email;
  return svc.sms;
}

channel_actor spawn_sms(caf::actor_system& sys, std::shared_ptr<services> svc) {
  auto kind = svc->cfg.sms.provider == "twilio" ? provider_kind::twilio : provider_kind::mtn;
  return sys.spawn(channel_fn, std::move(svc), kind);
}

} // namespace switchboard::actors
