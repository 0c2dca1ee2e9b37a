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
  /// inbox.yield_latency_ms: while more than one in slow_share of a second's acknowledgements
  /// (and at least slow_min) take longer than this, processing yields for the next second (0:
  /// never on latency). A share, not any one slow acknowledgement: on a shared machine a few
  /// are slow at any rate (a checkpoint, a descheduled thread), and yielding on each of them
  /// held other users' answers back behind one flooding number at 400 webhooks/s
  /// (bench/isolation_bench: answer p99 1.5 s -> 3.6 s).
  long latency_target_ms = 0;
  static constexpr long slow_share = 50; ///< 2 %: the acknowledgements' p98 above the target
  static constexpr long slow_min = 2;
  std::atomic<long> slow_in_window{0}; ///< acknowledgements slower than the target in the window
  std::atomic<long> slow_until_ms{0};

  /// Counts a submitted webhook.
  void submitted() {
    backlog.fetch_add(1, std::memory_order_relaxed);
    auto now = now_ms();
    auto start = window_ms.load(std::memory_order_relaxed);
    if (now - start >= 1000 && window_ms.compare_exchange_strong(start, now)) {
      last_window.store(in_window.exchange(0, std::memory_order_relaxed),
                        std::memory_order_relaxed);
      slow_in_window.store(0, std::memory_order_relaxed);
      if (now - start >= 2000)
        last_window.store(0, std::memory_order_relaxed); // a quiet second in between
    }
    in_window.fetch_add(1, std::memory_order_relaxed);
  }

  /// Counts an acknowledgement that took `ms` from submission to commit (no clock read unless
  /// it was slow).
  void acked(long ms) {
    if (latency_target_ms <= 0 || ms <= latency_target_ms)
      return;
    auto slow = slow_in_window.fetch_add(1, std::memory_order_relaxed) + 1;
    if (slow >= std::max(slow_min, rate() / slow_share))
      slow_until_ms.store(now_ms() + 1000, std::memory_order_relaxed);
  }

  /// Whether processing should yield to the acknowledgement path (inbox.yield_rate,
  /// yield_backlog and yield_latency_ms).
  bool busy(std::size_t yield_rate, std::size_t yield_backlog) const {
    return overloaded(yield_rate, yield_backlog) || slow();
  }

  /// Whether more webhooks arrive than inbox.yield_rate a second, or more than
  /// inbox.yield_backlog wait to be stored: the load itself is high.
  bool overloaded(std::size_t yield_rate, std::size_t yield_backlog) const {
    return backlog.load(std::memory_order_relaxed) > static_cast<long>(yield_backlog)
           || rate() > static_cast<long>(yield_rate);
  }

  /// Whether the acknowledgements were slow (inbox.yield_latency_ms) within the last second:
  /// the machine is slow, whatever the load.
  bool slow() const { return now_ms() < slow_until_ms.load(std::memory_order_relaxed); }

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

/// Runs a storage job for an actor and continues in that actor with `ok(T&)` or
/// `err(caf::error&)`: the storage actor answers through a callback that sends the continuation
/// back as (resume_atom, deferred_step), so no request and no timeout timer is made per job (the
/// storage actor times out whole batches; every job is answered once). The actor must handle
/// (resume_atom, deferred_step) by running the step.
template <class T, class Self, class F, class Ok, class Err>
void db_job_for(Self* self, const storage_actor& storage, bool write, std::string name, F fn, Ok ok,
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
    caf::anon_send(storage, write_atom::value, std::move(job), std::move(done));
  else
    caf::anon_send(storage, read_atom::value, std::move(job), std::move(done));
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
void db_write(Self* self, const storage_actor& storage, std::string name, F fn, Ok ok, Err err) {
  db_job_for<T>(self, storage, true, std::move(name), std::move(fn), std::move(ok), std::move(err));
}

/// Runs `fn` as a read job and continues with `ok(T&)` or `err(caf::error&)`.
template <class T, class Self, class F, class Ok, class Err>
void db_read(Self* self, const storage_actor& storage, std::string name, F fn, Ok ok, Err err) {
  db_job_for<T>(self, storage, false, std::move(name), std::move(fn), std::move(ok),
                std::move(err));
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
void dispatch_send(const channel_set& channels, const storage::delivery_row& row);

/// Hands a queued provider notification to its channel adapter.
void dispatch_notification(const channel_set& channels, const storage::notification_row& n);

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

/// The kinds defined with their actors.
batch_kind_ptr make_chatwoot_kind(std::shared_ptr<cluster_view> cluster);
batch_kind_ptr make_telegram_kind(std::shared_ptr<cluster_view> cluster);

/// Wakes the processor of an entity with pending inbox rows of `kind`.
void wake(const inbox_targets& to, const std::string& kind, const std::string& entity);

/// The retry policy of patient HTTP calls (retry.*).
core::backoff_policy retry_policy(const config::retry_settings& cfg);
/// The outbox retry schedule and horizons (retry.*).
core::outbox_schedule outbox_schedule_of(const config::retry_settings& cfg);

} // namespace switchboard::actors
