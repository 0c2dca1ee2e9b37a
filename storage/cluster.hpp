#pragma once

// Shard leases with epoch fencing (migrations/0011_cluster.sql): one owner per shard across the
// nodes sharing a database. The lease store is an interface so that another coordination
// backend could replace it; the fence is PostgreSQL's own (it must run in the transaction of
// the writes it guards).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace switchboard::storage {

/// A shard held by a node, at the epoch its take gave it.
struct shard_lease {
  int32_t shard = 0;
  int64_t epoch = 0;
  /// From a take: ms since the previous owner's last renewal (-1: the shard was free).
  int64_t taken_over_ms = -1;

  friend bool operator==(const shard_lease& a, const shard_lease& b) {
    return a.shard == b.shard && a.epoch == b.epoch;
  }
};

/// A node of the cluster as it announces itself.
struct cluster_member {
  std::string node_id; ///< unique per process: host, pid, start time
  std::string address; ///< its internal address (informational)
};

/// What one renewal found.
struct lease_renewal {
  std::vector<shard_lease> held; ///< the node's shards, renewed (others' takes removed them)
  int live_members = 1;          ///< nodes whose heartbeat is younger than the TTL, itself included
};

/// Where leases live. Every call is one round trip and uses the store's clock only (never the
/// caller's), so nodes with skewed clocks agree on expiry.
class lease_store {
public:
  virtual ~lease_store() = default;

  /// Creates the lease rows of shards 0..shards-1 that do not exist yet (free).
  virtual void ensure_shards(int shards) = 0;

  /// Heartbeats the member and renews every shard it holds until now + ttl, in one statement;
  /// answers the shards still held and the live members.
  virtual lease_renewal renew(const cluster_member& me, std::chrono::milliseconds ttl) = 0;

  /// Takes up to `max` free or expired shards below `shards` (lowest first; `only` >= 0: just
  /// that one), each with its epoch bumped, until now + ttl. Two nodes racing for a shard: one
  /// gets it, the other skips it.
  virtual std::vector<shard_lease> take(const std::string& node, int shards, int max,
                                        std::chrono::milliseconds ttl, int only = -1)
      = 0;

  /// Releases some of the node's shards (free for the next take, which bumps the epoch).
  virtual void release(const std::string& node, const std::vector<int32_t>& shards) = 0;

  /// Removes the member and releases everything it holds (a clean shutdown).
  virtual void leave(const std::string& node) = 0;
};

/// The PostgreSQL lease store, on a session it does not own.
std::unique_ptr<lease_store> make_pg_lease_store(soci::session& sql);

/// The shards a node believes it holds, for fencing the writes of a transaction.
struct shard_fence {
  std::string node;
  std::vector<shard_lease> leases;
  /// The cluster's shard count (inbox.shards): fences of outbox rows find a row's shard as its
  /// shard_key % shards (migrations/0012_outbox_shards.sql).
  uint32_t shards = 0;
};

/// The fence for a transaction: reads the fenced shards' lease rows FOR SHARE (held until the
/// transaction ends, so a new owner's take waits for it) and answers the shards whose owner or
/// epoch is no longer the fence's: the caller must not write for them. 1 round trip; folded
/// into take_inbox (storage/inbox.hpp) where that is the transaction's first statement.
std::vector<int32_t> stale_shards(soci::session& sql, const shard_fence& fence);

/// Wake-up hints (migrations/0012_outbox_shards.sql): every batch of inbox rows stored notifies
/// channel sb_inbox with its shards. Starts listening on `sql`, a session of the listener's own.
void listen_inbox_hints(soci::session& sql);

/// Waits up to `timeout` for hints on a listening session; answers the shards notified since the
/// last call by nodes other than `self` (ascending, once each; empty on a timeout). Throws when
/// the connection broke.
std::vector<int32_t> wait_inbox_hints(soci::session& sql, std::chrono::milliseconds timeout,
                                      const std::string& self);

/// Names the node on a session that stores inbox rows (switchboard.node), so that its own hints
/// are not sent back to it.
void name_hint_sender(soci::session& sql, const std::string& node);

} // namespace switchboard::storage
