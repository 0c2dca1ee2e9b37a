#pragma once

// Shared by the actor implementation files (each includes caf/all.hpp through this header).

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/cluster.hpp"
#include "actors/fwd.hpp"
#include "actors/metrics.hpp"
#include "actors/storage.hpp"
#include "config/settings.hpp"
#include "core/bot/chatwoot.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/omni/session.hpp"
#include "core/retry.hpp"
#include "core/text/search.hpp"
#include "storage/chatwoot.hpp"
#include "storage/flows.hpp"
#include "storage/inbox.hpp"
#include "storage/outbox.hpp"

namespace switchboard::actors {

/// A portal's published articles and their BM25 index (shared, read-only once built).
struct article_set {
  std::vector<core::help_article> articles;
  core::search_index index;
};

/// How busy the acknowledgement path is, read by the routers (thread-safe, lock-free).
struct ingest_load {
  std::atomic<long> backlog{0};   ///< webhooks submitted to the ingest workers, not answered yet
  std::atomic<long> window_ms{0}; ///< start of the current one-second window (steady clock)
  std::atomic<long> in_window{0}; ///< webhooks submitted in it
  std::atomic<long> last_window{0};
  /// inbox.yield_latency_ms: an acknowledgement slower than this makes processing yield for
  /// the next second (0: never on latency).
  long latency_target_ms = 0;
  std::atomic<long> slow_until_ms{0};

  /// Counts a submitted webhook.
  void submitted() {
    backlog.fetch_add(1, std::memory_order_relaxed);
    auto now = now_ms();
    auto start = window_ms.load(std::memory_order_relaxed);
    if (now - start >= 1000 && window_ms.compare_exchange_strong(start, now)) {
      last_window.store(in_window.exchange(0, std::memory_order_relaxed),
                        std::memory_order_relaxed);
      if (now - start >= 2000)
        last_window.store(0, std::memory_order_relaxed); // a quiet second in between
    }
    in_window.fetch_add(1, std::memory_order_relaxed);
  }

  /// Counts an acknowledgement that took `ms` from submission to commit.
  void acked(long ms) {
    if (latency_target_ms > 0 && ms > latency_target_ms)
      slow_until_ms.store(now_ms() + 1000, std::memory_order_relaxed);
  }

  /// Whether processing should yield to the acknowledgement path (inbox.yield_rate,
  /// yield_backlog and yield_latency_ms).
  bool busy(std::size_t yield_rate, std::size_t yield_backlog) const {
    return backlog.load(std::memory_order_relaxed) > static_cast<long>(yield_backlog)
           || rate() > static_cast<long>(yield_rate)
           || now_ms() < slow_until_ms.load(std::memory_order_relaxed);
  }

  /// Webhooks per second, over the last full second (or the current one when busier).
  long rate() const {
    auto now = now_ms();
    if (now - window_ms.load(std::memory_order_relaxed) >= 2000)
      return 0;
    return std::max(last_window.load(std::memory_order_relaxed),
                    in_window.load(std::memory_order_relaxed));
  }

  static long now_ms() {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
  }
};

/// What every actor of the graph may use: settings, metrics and the shared actors.
struct services {
  config::settings cfg;
  std::shared_ptr<metrics> stats;
  storage_actor storage;
  http_client_actor http;
  llm_actor llm;              ///< invalid when llm.enabled = false
  channel_actor whatsapp;     ///< invalid when whatsapp.enabled = false
  channel_actor sms;          ///< invalid when sms.enabled = false
  channel_actor telegram;     ///< invalid when telegram.enabled = false
  channel_actor email;        ///< invalid when smtp.enabled = false
  patient_http_actor patient; ///< HTTP with retries (Chatwoot and Telegram API calls)
  articles_actor articles;    ///< Help Center cache
  core::session_machine machine{std::chrono::hours{24}};
  core::channel_policy policy;
  // Storage work batched across requesters (one set-based job per batch).
  batch_kind_ptr accept_batch;   ///< storage::accept_request -> storage::accepted_messages
  batch_kind_ptr calls_batch;    ///< storage::call_ended_input -> storage::accepted_call
  batch_kind_ptr statuses_batch; ///< entity (provider:message id) -> statuses after each
  batch_kind_ptr chatwoot_batch; ///< entity (account:conversation) -> chatwoot_events
  batch_kind_ptr telegram_batch; ///< entity (chat id) -> telegram_updates
  batch_kind_ptr replies_batch;  ///< storage::reply_request -> std::optional<delivery_row>
  batch_kind_ptr attempts_batch; ///< storage::attempt_claim -> bool (claim taken)
  batch_kind_ptr sent_batch;     ///< storage::sent_record -> bool (recorded)
  std::string followup_prompt;
  std::string bot_prompt;
  /// How busy the acknowledgement path is: processing yields to it.
  std::shared_ptr<ingest_load> load;
  /// The shards this node owns (cluster.enabled), or null: a single node processes them all.
  std::shared_ptr<cluster_view> cluster;

  /// How long a storage request may take before its caller gives up.
  std::chrono::milliseconds storage_timeout() const {
    return cfg.storage.request_timeout + std::chrono::seconds{1};
  }
};

using services_ptr = std::shared_ptr<const services>;

/// Runs a storage job for an actor and continues in that actor with `ok(T&)` or
/// `err(caf::error&)`: the storage actor answers through a callback that sends the continuation
/// back as (resume_atom, deferred_step), so no request and no timeout timer is made per job (the
/// storage actor times out whole batches; every job is answered once). The actor must handle
/// (resume_atom, deferred_step) by running the step.
template <class T, class Self, class F, class Ok, class Err>
void db_job_for(Self* self, const services& svc, bool write, std::string name, F fn, Ok ok,
                Err err) {
  auto me = caf::actor_cast<caf::actor>(self);
  batch_callback done = [me, ok = std::move(ok), err = std::move(err)](db_result& r) mutable {
    caf::anon_send(me, resume_atom::value, deferred_step{[ok, err, r = std::move(r)]() mutable {
                     if (r.error)
                       err(r.error);
                     else
                       ok(*std::any_cast<T>(&r.value));
                   }});
  };
  auto job = make_job<T>(std::move(name), std::move(fn));
  if (write)
    caf::anon_send(svc.storage, write_atom::value, std::move(job), std::move(done));
  else
    caf::anon_send(svc.storage, read_atom::value, std::move(job), std::move(done));
}

/// Queues one request of a batch kind for an actor and continues in that actor with `ok(Out&)`
/// or `err(caf::error&)` (as db_job_for: no request and no timer of its own).
template <class Out, class Self, class In, class Ok, class Err>
void db_batch(Self* self, const storage_actor& storage, const batch_kind_ptr& kind, In input, Ok ok,
              Err err) {
  auto me = caf::actor_cast<caf::actor>(self);
  submit_batch(storage, kind, std::move(input),
               [me, ok = std::move(ok), err = std::move(err)](db_result& r) mutable {
                 caf::anon_send(me, resume_atom::value,
                                deferred_step{[ok, err, r = std::move(r)]() mutable {
                                  if (r.error)
                                    err(r.error);
                                  else
                                    ok(*std::any_cast<Out>(&r.value));
                                }});
               });
}

/// Runs `fn` as a write job (group commit) and continues with `ok(T&)` or `err(caf::error&)`.
template <class T, class Self, class F, class Ok, class Err>
void db_write(Self* self, const services& svc, std::string name, F fn, Ok ok, Err err) {
  db_job_for<T>(self, svc, true, std::move(name), std::move(fn), std::move(ok), std::move(err));
}

/// Runs `fn` as a read job and continues with `ok(T&)` or `err(caf::error&)`.
template <class T, class Self, class F, class Ok, class Err>
void db_read(Self* self, const services& svc, std::string name, F fn, Ok ok, Err err) {
  db_job_for<T>(self, svc, false, std::move(name), std::move(fn), std::move(ok), std::move(err));
}

/// The edge answer for an error: its HTTP status and {"error", "reason"}.
inline edge_reply error_reply(const caf::error& e) {
  auto code = core::code_of(e);
  auto reason = core::reason_of(e);
  if (reason.empty())
    reason = core::to_string(code);
  nlohmann::json body{{"error", core::to_string(code)}, {"reason", reason}};
  return edge_reply{core::http_status_for(code), body.dump()};
}

/// A JSON edge answer.
inline edge_reply json_reply(int status, const nlohmann::json& body) {
  return edge_reply{status, body.dump()};
}

/// The outbound_send for a queued delivery row.
outbound_send make_send(const storage::delivery_row& row);

/// Hands a queued row to its channel adapter (or logs why it cannot).
void dispatch_send(const services& svc, const storage::delivery_row& row);

/// Hands a queued provider notification to its channel adapter.
void dispatch_notification(const services& svc, const storage::notification_row& n);

/// The Chatwoot events of one conversation taken from the inbox, each with what its accept found.
using chatwoot_events = std::vector<std::pair<core::chatwoot_inbound, storage::chatwoot_accepted>>;

/// A batch kind whose requests are entity keys: it takes the pending inbox rows of `kind` for
/// them (1 round trip for up to `max_entities`), decodes each row with `decode`
/// (core::decode_*) and answers, per requested entity, `handle(sql, event)` of each of its
/// rows in order. Rows that do not decode are logged and dropped.
template <class Decode, class Handle>
batch_kind_ptr make_take_kind(std::string name, std::string kind, Decode decode, Handle handle,
                              std::size_t max_entities = 256,
                              std::shared_ptr<cluster_view> cluster = nullptr) {
  using event_t = std::decay_t<decltype(*decode(std::string_view{}))>;
  using result_t
      = std::decay_t<decltype(handle(std::declval<soci::session&>(), std::declval<event_t&>()))>;
  return make_batch_kind<std::string, std::vector<result_t>>(
      name, max_entities, false,
      [kind, decode, handle, cluster](soci::session& sql,
                                      const std::vector<const std::string*>& in) {
        std::vector<std::string> keys;
        std::map<std::string, std::size_t> index;
        for (std::size_t i = 0; i < in.size(); ++i)
          if (index.emplace(*in[i], i).second)
            keys.push_back(*in[i]);
        std::vector<std::vector<result_t>> out(in.size());
        // In a cluster the take is fenced (same round trip): only owned shards' rows. At most
        // 512 rows of one entity per take (beyond that: the next wake-up or the poller).
        constexpr int per_entity = 512;
        std::vector<storage::inbox_row> rows;
        if (cluster) {
          std::vector<int32_t> stale;
          rows = storage::take_inbox(sql, kind, keys, per_entity, cluster->fence_for(keys), stale);
          cluster->rejected(stale);
        } else {
          rows = storage::take_inbox(sql, kind, keys, per_entity);
        }
        for (auto& row : rows) {
          auto ev = decode(row.payload);
          if (!ev) {
            core::log(core::log_level::error, "unusable inbox row dropped",
                      {{"kind", kind}, {"correlation_id", row.correlation_id}});
            continue;
          }
          ev->correlation_id = row.correlation_id;
          out[index.at(row.entity)].push_back(handle(sql, *ev));
        }
        return out;
      });
}

/// The batch kinds of the graph (services::ingest_batch, ...), from the settings.
void make_batch_kinds(services& svc);
/// The kinds defined with their actors.
batch_kind_ptr make_chatwoot_kind(std::shared_ptr<cluster_view> cluster);
batch_kind_ptr make_telegram_kind(std::shared_ptr<cluster_view> cluster);

/// The router for an inbox row's kind wakes its entity (message: session, chatwoot:
/// conversation, telegram: bridge); statuses are applied by a batch job directly.
struct inbox_targets {
  session_router_actor sessions;
  conversation_router_actor conversations;
  telegram_bridge_actor telegram;
};

/// Wakes the processor of an entity with pending inbox rows of `kind`.
void wake(const services& svc, const inbox_targets& to, const std::string& kind,
          const std::string& entity);

/// Spawns the channel adapters, the LLM actor, the session router, the sweeper and the edge.
struct graph {
  services_ptr svc;
  session_router_actor sessions;
  conversation_router_actor conversations;
  telegram_bridge_actor telegram;
  sweeper_actor sweeper;
  edge_actor edge;
};

/// Channel adapters: WhatsApp Cloud API, MTN SMS v3, Twilio, Telegram, email (SMTP).
channel_actor spawn_whatsapp(caf::actor_system& sys, std::shared_ptr<services> svc);
channel_actor spawn_sms(caf::actor_system& sys, std::shared_ptr<services> svc);
channel_actor spawn_telegram(caf::actor_system& sys, std::shared_ptr<services> svc);
channel_actor spawn_email(caf::actor_system& sys, std::shared_ptr<services> svc);
/// HTTP with retries.
patient_http_actor spawn_patient_http(caf::actor_system& sys, std::shared_ptr<services> svc);
/// The Help Center article cache.
articles_actor spawn_articles(caf::actor_system& sys, std::shared_ptr<services> svc);
/// Runs one of core::read_only_tool_definitions() (arguments already validated) on a short-lived
/// actor; `done` gets 200 {"result": ...} or the error's status and {"error", "reason"}.
void run_read_only_tool(caf::actor_system& sys, services_ptr svc, std::string name,
                        nlohmann::json args, edge_callback done);
/// The conversation router.
conversation_router_actor spawn_conversation_router(caf::actor_system& sys, services_ptr svc);
/// The Telegram bridge.
telegram_bridge_actor spawn_telegram_bridge(caf::actor_system& sys, services_ptr svc,
                                            conversation_router_actor conversations);
/// The adapter for a channel name (whatsapp, sms, telegram, email); may be invalid.
const channel_actor& adapter_for(const services& svc, const std::string& channel);
/// The retry policy from the configuration.
core::backoff_policy retry_policy(const config::settings& cfg);
/// The outbox retry schedule and horizons from the configuration.
core::outbox_schedule outbox_schedule_of(const config::settings& cfg);
/// The LLM actor.
llm_actor spawn_llm(caf::actor_system& sys, std::shared_ptr<services> svc);
/// The session router.
session_router_actor spawn_session_router(caf::actor_system& sys, services_ptr svc);
/// The sweeper (starts its timers at once).
sweeper_actor spawn_sweeper(caf::actor_system& sys, services_ptr svc, inbox_targets targets);
/// The lease actor of a cluster node (detached: its own connection).
lease_actor spawn_leases(caf::actor_system& sys, services_ptr svc,
                         std::shared_ptr<cluster_view> view, inbox_targets targets);
/// The wake-up hint listener of a cluster node (detached: its own connection).
hint_actor spawn_hints(caf::actor_system& sys, services_ptr svc, std::shared_ptr<cluster_view> view,
                       sweeper_actor sweeper);
/// The edge actor.
edge_actor spawn_edge(caf::actor_system& sys, services_ptr svc);

} // namespace switchboard::actors
