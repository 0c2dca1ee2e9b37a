#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::actors {

/// Process metrics in Prometheus form. Thread-safe; shared by the HTTP edge and the actors.
class metrics {
public:
  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// One HTTP request answered by the edge.
  void http_request(std::string_view route, std::string_view method, int status, double seconds);
  /// A webhook refused for its signature or token.
  void auth_failure(std::string_view route);
  /// One group-commit batch: its size and how long the transaction took.
  void storage_batch(std::size_t jobs, double seconds, bool ok);
  /// Storage workers with a live connection.
  void storage_workers_up(std::size_t n);
  /// Live entity actors of a kind (session, conversation).
  void live_actors(std::string_view kind, long delta);
  /// One provider API call: service, outcome (ok, http_4xx, http_5xx, network, timeout), latency.
  void provider_call(std::string_view service, std::string_view outcome, double seconds);
  /// A provider's outbound bulkhead: its budget, calls in flight and calls queued for a slot.
  void http_bulkhead(std::string_view provider, std::size_t budget, std::size_t in_flight,
                     std::size_t queued);
  /// A retry of a provider call.
  void provider_retry(std::string_view service);
  /// A message sent (or failed for good) on a channel through a provider.
  void message_sent(std::string_view channel, std::string_view provider, bool ok);
  /// What one message cost: `units` billable units (a charged WhatsApp message: 1, an SMS: its
  /// segments) on a channel, by category (WhatsApp pricing category, SMS encoding) and pricing
  /// type (WhatsApp pricing.type; "segments" for SMS).
  void cost(std::string_view channel, std::string_view category, std::string_view type,
            double units);
  /// A provider's circuit breaker state: 0 closed, 1 half-open, 2 open.
  void circuit_state(std::string_view service, int state);
  /// A provider's circuit breaker opened (or re-opened after a failed probe).
  void circuit_opened(std::string_view service);
  /// A send held back by an open breaker: back in the outbox, not attempted, attempts unchanged.
  void circuit_deferred(std::string_view service);
  /// Queued outbox rows of a provider service, and how many of them are due (sampled).
  void outbox_queued(std::string_view service, double queued, double due);
  /// A duplicate webhook recognised.
  void dedupe_hit(std::string_view source);
  /// A table's size on disk (sampled by the sweeper).
  void table_bytes(std::string_view table, double bytes);
  /// Rows retention deleted from a table (0 pre-creates the table's counter).
  void rows_purged(std::string_view table, double rows);
  /// Session lifecycle: opened, closed, expired.
  void session_event(std::string_view what);
  /// An answer held back by its user's reply bucket (session.reply_burst, reply_rate_per_min).
  void reply_deferred(std::string_view kind);
  /// `messages` inbound messages answered by one answer that had been held back (coalesced).
  void reply_coalesced(std::string_view kind, std::size_t messages);
  /// An API call refused with 429 by its key's bucket (api.rate_per_s, api.burst).
  void api_rate_limited(std::string_view route);
  /// Cluster (cluster.enabled only; nothing is exported otherwise): shards this node owns and
  /// whether its leases are healthy (renewed within 2/3 of the TTL).
  void cluster_shards(std::size_t owned, bool healthy);
  /// A lease renewal round (heartbeat and renewal of every shard held): ok or failed.
  void cluster_renewal(bool ok);
  /// Shards lost: stolen (another node's take), rejected (a fenced write found another epoch),
  /// released (handed over for balance), expired (not renewed in time).
  void cluster_shards_lost(std::string_view reason, std::size_t shards);
  /// Fenced writes that found their shard's lease at another epoch or owner.
  void cluster_epoch_rejection(std::size_t shards);
  /// A shard taken over from a node that stopped renewing: seconds since that node's last
  /// renewal (at most the time from its death to the take-over).
  void cluster_failover(double seconds);
  /// A counter with one label, for events not listed above: switchboard_<name>_total. The known
  /// names (actors/metrics.cpp generic_counters) have their own label name, HELP text and
  /// series pre-created at 0; others get the label "kind".
  void count(std::string_view name, std::string_view label_value, double by = 1);
  /// switchboard_build_info{version, commit} (the commit is known to the executable only).
  void set_build(std::string_view version, std::string_view commit);

  /// A provider service's in-process state as last reported (circuit_state, http_bulkhead).
  struct provider_state {
    std::string service;
    int circuit = 0; ///< 0 closed, 1 half-open, 2 open
    std::size_t budget = 0, in_flight = 0, queued = 0;
  };
  /// Every service that reported a circuit or bulkhead state, by name.
  std::vector<provider_state> provider_states() const;

  /// What the build and the process say: version, commit, start time (Unix seconds).
  struct build_facts {
    std::string version, commit;
    double started_at = 0;
  };
  build_facts build() const;

  /// The Prometheus text exposition of every metric.
  std::string render() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace switchboard::actors
