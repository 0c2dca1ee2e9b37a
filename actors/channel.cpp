// The one channel adapter: every outbound row of every channel (WhatsApp, SMS by MTN or Twilio,
// Telegram, email) goes through a channel actor over its providers::provider, which builds the
// call and reads the answer. This file owns what is the same for all of them: the claim, flow
// control (in flight, rate), the circuit breaker, the durable retry schedule and its fallbacks,
// credentials that expire (asked of the provider), and recording the outcome.

#include <deque>
#include <map>
#include <variant>

#include "actors/common.hpp"
#include "core/circuit.hpp"
#include "core/phone.hpp"
#include "core/retry.hpp"
#include "core/text/sms.hpp"
#include "core/whatsapp_errors.hpp"
#include "providers/provider.hpp"
#include "storage/outbox.hpp"

namespace switchboard::actors {

using core::sb_error;
using std::chrono::milliseconds;
using std::chrono::system_clock;

namespace {

/// A send awaiting the HTTP client's answer.
struct awaited_call {
  caf::actor_clock::time_point deadline;
  outbound_send send;
  core::circuit_permit permit;
};

struct channel_state {
  static inline const char* name = "channel";
  channel_deps deps;
  std::shared_ptr<providers::provider> provider; ///< builds the calls, reads the answers (deps')
  std::string service;                           ///< metrics label (provider->service())
  // Sends waiting for the provider's credential (MTN's OAuth token) while it is fetched.
  bool credential_pending = false;
  std::deque<std::pair<outbound_send, core::circuit_permit>> waiting_for_credential;
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
  // Sends awaiting the HTTP client's answer, by call number. The client answers every call (its
  // transfers have their own timeouts), so the calls are made without a CAF timeout: in CAF 0.17
  // each request timeout is an event allocated and handed to the clock thread when set and again
  // when cancelled, two wake-ups of that thread per send (13.7 % of the server's CPU in the call
  // fan-out profile). The guard against an answer that never comes is kept here instead: one
  // deadline timer per channel (`timeout_atom`), re-armed at most once a second, fails the calls
  // older than `answer_deadline`; a late answer finds its call gone and is ignored. Every call
  // waits the same `answer_deadline`, so call-number order is deadline order: the first entry is
  // the next to expire.
  uint64_t calls = 0;
  std::map<uint64_t, awaited_call> awaiting;
  bool deadline_armed = false;
};

/// How long a send waits for the HTTP client's answer before it counts as unanswered.
constexpr std::chrono::minutes answer_deadline{5};

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

void attempt(channel_ptr self, outbound_send s);
void send_now(channel_ptr self, outbound_send s, core::circuit_permit permit);
void release_slot(channel_ptr self);

/// Whether a failure-path write for the row must be left out: in a cluster, the row's shard lease
/// moved on to another node (or epoch), which now owns the row; the shard is dropped here at once.
/// Runs first in the write's transaction: +1 round trip in a cluster, none on a single node.
bool fenced_out(const std::shared_ptr<cluster_view>& cluster, soci::session& sql, int64_t id,
                storage::outbox box) {
  if (!cluster)
    return false;
  auto stale = storage::row_fenced_out(sql, id, box, cluster->fence_held());
  if (!stale)
    return false;
  cluster->rejected({*stale});
  return true;
}

/// Records the final failure of a send.
void give_up(channel_ptr self, const outbound_send& s, const std::string& reason,
             int64_t latency_ms = -1) {
  auto& d = self->state.deps;
  d.stats->message_sent(s.channel, s.provider, false);
  log_send(s, "send failed", core::log_level::warn, {{"reason", reason}});
  auto id = s.delivery_id;
  db_write<int>(
      self, d.storage, "record_failed",
      [id, reason, latency_ms, box = static_cast<storage::outbox>(s.box),
       cluster = d.cluster](soci::session& sql) {
        if (fenced_out(cluster, sql, id, box))
          return 0;
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
  auto& d = self->state.deps;
  auto schedule = self->state.schedule;
  auto policy = d.policy;
  auto r = core::default_jitter()();
  auto id = s.delivery_id;
  auto box = static_cast<storage::outbox>(s.box);
  auto cluster = d.cluster;
  db_write<retry_result>(
      self, d.storage, "retry_or_fail",
      [=](soci::session& sql) {
        retry_result out;
        if (fenced_out(cluster, sql, id, box))
          return out; // gone: the shard's new owner retries the row
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
        auto& d = self->state.deps;
        switch (res.what) {
        case retry_result::gone:
          break;
        case retry_result::retried:
          d.stats->provider_retry(self->state.service);
          log_send(
              s, "send will be retried", core::log_level::info,
              {{"reason", reason}, {"attempts", res.attempts}, {"delay_ms", res.delay.count()}});
          break;
        case retry_result::fell_back:
          d.stats->count("whatsapp_fallbacks", res.fallback_channel);
          [[fallthrough]];
        case retry_result::failed:
          d.stats->message_sent(s.channel, s.provider, false);
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
  st.deps.stats->circuit_state(st.service, static_cast<int>(st.breaker.state(now)));
  if (st.breaker.opens() != st.opens_reported) {
    for (; st.opens_reported < st.breaker.opens(); ++st.opens_reported)
      st.deps.stats->circuit_opened(st.service);
    auto wait = st.breaker.open_for(now);
    self->delayed_send(self, wait + milliseconds{1}, tick_atom::value);
    core::log(core::log_level::warn, "circuit breaker opened: sends to the provider wait",
              {{"provider", st.service}, {"cooldown_ms", wait.count()}});
  }
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
  auto& d = self->state.deps;
  d.stats->circuit_deferred(self->state.service);
  // Spread over a tenth of the wait, so the held-back rows do not all come due at once.
  auto spread
      = static_cast<int64_t>(static_cast<double>(wait.count()) * 0.1 * core::default_jitter()());
  auto delay = std::max(wait, milliseconds{50}) + milliseconds{spread};
  auto id = s.delivery_id;
  auto token = s.claim_token;
  auto box = static_cast<storage::outbox>(s.box);
  auto cluster = d.cluster;
  log_send(s, "circuit open: the send waits", core::log_level::debug,
           {{"delay_ms", delay.count()}});
  db_write<bool>(
      self, d.storage, "postpone",
      [=](soci::session& sql) {
        if (fenced_out(cluster, sql, id, box))
          return false;
        return storage::postpone_row(sql, id, box, token, delay, refund);
      },
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
  auto& d = self->state.deps;
  d.stats->message_sent(s.channel, s.provider, false);
  log_send(s, "WhatsApp refused the message for this user; falling back", core::log_level::warn,
           {{"reason", reason}});
  auto id = s.delivery_id;
  auto policy = d.policy;
  db_write<std::string>(
      self, d.storage, "fail_with_fallback",
      [id, code, reason, policy, cluster = d.cluster](soci::session& sql) {
        if (fenced_out(cluster, sql, id, storage::outbox::deliveries))
          return std::string{};
        auto row = storage::fail_with_fallback(sql, policy, id, code, reason);
        return row && row->status == "queued" ? row->channel : std::string{};
      },
      [self](std::string& channel) {
        if (!channel.empty())
          self->state.deps.stats->count("whatsapp_fallbacks", channel);
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
  auto& d = self->state.deps;
  d.stats->count("whatsapp_user_backoffs", "send");
  log_send(s, "per-user limit: the send waits", core::log_level::info,
           {{"reason", reason}, {"delay_ms", wait.count()}});
  auto id = s.delivery_id;
  db_write<bool>(
      self, d.storage, "back_off",
      [id, reason, wait, cluster = d.cluster](soci::session& sql) {
        if (fenced_out(cluster, sql, id, storage::outbox::deliveries))
          return true; // not failed here: the shard's new owner has the row
        if (storage::back_off_row(sql, id, reason, wait))
          return true;
        storage::record_failed(sql, id, reason + " (per-user limit: attempts spent)");
        return false;
      },
      [self, s](bool& later) {
        if (!later)
          self->state.deps.stats->message_sent(s.channel, s.provider, false);
      },
      [s](caf::error& e) {
        log_send(s, "could not record a back-off; the sweeper will retry it", core::log_level::warn,
                 {{"error", core::reason_of(e)}});
      });
}

/// Acts on a provider error code that calls for more than the ordinary retry or failure (the
/// provider's error_action: WhatsApp's per-user limits and fallbacks); false when the ordinary
/// handling applies.
bool on_error_action(channel_ptr self, const outbound_send& s, const caf::error& err,
                     const std::string& reason, std::optional<milliseconds> retry_after) {
  auto code = core::provider_error_code(err);
  if (!code || static_cast<storage::outbox>(s.box) != storage::outbox::deliveries)
    return false;
  switch (self->state.provider->error_action(err)) {
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

/// The sends waiting for a credential, handed back (the queue emptied).
std::deque<std::pair<outbound_send, core::circuit_permit>> take_waiting(channel_state& st) {
  st.credential_pending = false;
  auto waiting = std::move(st.waiting_for_credential);
  st.waiting_for_credential.clear();
  return waiting;
}

/// The sends waiting for a credential that could not be had: each back to the retry schedule.
void fail_waiting(channel_ptr self, core::call_outcome outcome, const std::string& reason) {
  for (auto& [s, permit] : take_waiting(self->state)) {
    record_call(self, permit, outcome);
    retry_later(self, s, self->state.provider->credential_name() + ": " + reason, std::nullopt);
    release_slot(self);
  }
}

/// Fetches the provider's credential (MTN's access token) when it needs one, then resumes the
/// sends waiting for it.
void fetch_credential(channel_ptr self) {
  auto& st = self->state;
  if (st.credential_pending)
    return;
  auto call = st.provider->credential_call(std::chrono::steady_clock::now());
  if (!call)
    return;
  st.credential_pending = true;
  self->request(st.deps.http, std::chrono::seconds{30}, std::move(*call))
      .then(
          [self](http_reply& r) {
            auto& st = self->state;
            auto took = st.provider->take_credential(r, std::chrono::steady_clock::now());
            if (!took) {
              core::log(core::log_level::warn, st.provider->credential_name() + " request failed",
                        {{"error", core::reason_of(took.error())}});
              fail_waiting(self, st.provider->health_of(r), core::reason_of(took.error()));
              return;
            }
            for (auto& [s, permit] : take_waiting(st))
              send_now(self, s, permit);
          },
          [self](caf::error& e) {
            fail_waiting(self, core::call_outcome::failure, core::reason_of(e));
          });
}

/// Handles a provider's answer to a send: recorded as sent, retried, or failed for good.
void on_answer(channel_ptr self, outbound_send s, const core::circuit_permit& permit,
               http_reply& r) {
  auto& st = self->state;
  record_call(self, permit, st.provider->health_of(r));
  release_slot(self);
  if (auto refused = st.provider->credential_refused(r)) {
    // Revoked or expired early: get a new one and try again at once (counts as an attempt);
    // a credential refused again and again waits for the retry schedule.
    if (s.attempt < 3)
      self->send(self, retry_atom::value, s);
    else
      retry_later(self, s, *refused, std::nullopt);
    return;
  }
  auto id = st.provider->parse_send_answer(r);
  if (!id) {
    auto reason = core::reason_of(id.error());
    std::optional<milliseconds> retry_after;
    if (auto ra = core::parse_retry_after(r.header("retry-after"), system_clock::now()))
      retry_after = std::chrono::duration_cast<milliseconds>(*ra);
    if (on_error_action(self, s, id.error(), reason, retry_after))
      return;
    auto latency_ms = static_cast<int64_t>(r.elapsed_us / 1000);
    if (core::code_of(id.error()) == sb_error::provider_transient) {
      retry_later(self, s, reason, retry_after, latency_ms);
    } else {
      give_up(self, s, reason, latency_ms);
    }
    return;
  }
  auto& d = st.deps;
  d.stats->message_sent(s.channel, s.provider, true);
  log_send(s, "sent", core::log_level::info,
           {{"attempt", s.attempt}, {"latency_ms", r.elapsed_us / 1000}});
  storage::sent_record rec;
  rec.id = s.delivery_id;
  rec.external_id = *id;
  rec.box = static_cast<storage::outbox>(s.box);
  rec.latency_ms = static_cast<int64_t>(r.elapsed_us / 1000);
  if (st.provider->counts_sms_segments()) {
    auto info = core::analyze_sms(s.body);
    rec.sms_segments = static_cast<int>(info.segments);
    rec.sms_encoding = core::to_string(info.encoding);
    d.stats->cost("sms", rec.sms_encoding, "segments", static_cast<double>(info.segments));
  }
  db_batch<bool>(
      self, d.storage, d.sent, std::move(rec), [](bool&) {},
      [s](caf::error& e) {
        log_send(s, "sent, but recording it failed", core::log_level::error,
                 {{"error", core::reason_of(e)}});
      });
}

/// Removes an awaited call: its send and permit, or nothing when it was already settled (the
/// deadline passed before the answer came, or the answer came before the deadline).
std::optional<awaited_call> take_awaiting(channel_state& st, uint64_t id) {
  auto it = st.awaiting.find(id);
  if (it == st.awaiting.end())
    return std::nullopt;
  auto out = std::move(it->second);
  st.awaiting.erase(it);
  return out;
}

/// No answer at all (deadline, connection refused or reset): the provider's side.
void unanswered(channel_ptr self, outbound_send s, const core::circuit_permit& permit,
                const std::string& reason) {
  record_call(self, permit, core::call_outcome::failure);
  release_slot(self);
  retry_later(self, s, reason, std::nullopt);
}

/// Arms the deadline timer for the oldest awaited call, unless armed or nothing is awaited. The
/// timer stays set until it fires (answers do not cancel it), and fires no sooner than a second
/// after it is armed, so the calls expiring within that second are failed together.
void arm_deadline(channel_ptr self) {
  auto& st = self->state;
  if (st.deadline_armed || st.awaiting.empty())
    return;
  st.deadline_armed = true;
  auto wait = std::chrono::duration_cast<milliseconds>(st.awaiting.begin()->second.deadline
                                                       - self->clock().now());
  self->delayed_send(self, std::max(wait, milliseconds{1000}), timeout_atom::value);
}

/// Sends `s` (the claim is already held for this attempt).
void send_now(channel_ptr self, outbound_send s, core::circuit_permit permit) {
  auto& st = self->state;
  if (st.credential_pending || st.provider->credential_call(std::chrono::steady_clock::now())) {
    st.waiting_for_credential.emplace_back(std::move(s), permit);
    fetch_credential(self);
    return;
  }
  auto call = st.provider->build_send(s);
  if (!call) {
    record_call(self, permit, core::call_outcome::abandoned);
    give_up(self, s, core::reason_of(call.error()));
    release_slot(self);
    return;
  }
  auto id = ++st.calls;
  st.awaiting.emplace_hint(
      st.awaiting.end(), id,
      awaited_call{self->clock().now() + answer_deadline, std::move(s), permit});
  arm_deadline(self);
  auto answered = [self, id](http_reply& r) {
    if (auto call = take_awaiting(self->state, id))
      on_answer(self, std::move(call->send), call->permit, r);
  };
  auto failed = [self, id](caf::error& e) {
    if (auto call = take_awaiting(self->state, id))
      unanswered(self, std::move(call->send), call->permit, core::reason_of(e));
  };
  // No CAF timeout (see channel_state::awaiting): the deadline timer is the guard.
  std::visit(
      [&](auto& c) {
        self->request(st.deps.http, caf::infinite, std::move(c)).then(answered, failed);
      },
      *call);
}

/// Fails the sends whose answer is overdue; re-arms the timer for the next one.
void expire_overdue(channel_ptr self) {
  auto& st = self->state;
  st.deadline_armed = false;
  auto now = self->clock().now();
  const auto reason = st.service + ": no answer within "
                      + std::to_string(milliseconds{answer_deadline}.count()) + " ms";
  while (!st.awaiting.empty() && st.awaiting.begin()->second.deadline <= now) {
    auto call = std::move(st.awaiting.begin()->second);
    st.awaiting.erase(st.awaiting.begin());
    unanswered(self, std::move(call.send), call.permit, reason);
  }
  arm_deadline(self);
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
  auto& d = self->state.deps;
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
      self, d.storage, d.attempts, std::move(claim),
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

channel_actor::behavior_type channel_fn(channel_ptr self, channel_deps deps) {
  self->state.provider = deps.provider;
  self->state.deps = std::move(deps);
  self->state.service = self->state.provider->service();
  auto limits = self->state.provider->limits();
  self->state.max_in_flight = std::max<std::size_t>(1, limits.max_in_flight);
  self->state.rate_per_s = limits.rate_per_s;
  auto& cfg = self->state.deps;
  core::circuit_settings cs;
  cs.failure_threshold = cfg.circuit.failure_threshold;
  cs.cooldown = cfg.circuit.cooldown;
  cs.max_cooldown = cfg.circuit.max_cooldown;
  self->state.breaker = core::circuit_breaker{cs};
  self->state.schedule = outbox_schedule_of(cfg.retry);
  self->state.deps.stats->circuit_state(self->state.service, 0);
  self->state.tokens = std::max(1.0, self->state.rate_per_s);
  self->state.refilled = std::chrono::steady_clock::now();
  return {
      [=](outbound_send& s) { attempt(self, std::move(s)); },
      [=](tick_atom) {
        self->state.tick_armed = false;
        drain(self);
      },
      [=](retry_atom, outbound_send& s) { attempt(self, std::move(s)); },
      [=](resume_atom, deferred_step& step) { step(); },
      [=](timeout_atom) { expire_overdue(self); },
  };
}

} // namespace

channel_actor spawn_channel(caf::actor_system& sys, channel_deps deps) {
  return sys.spawn(channel_fn, std::move(deps));
}

} // namespace switchboard::actors
