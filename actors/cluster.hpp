#pragma once

// What this node of a cluster owns (cluster.enabled): the shard leases the lease actor holds,
// read by the routers (spawn entity actors of owned shards only), the sweeper (poll the owned
// shards' inbox) and the batch jobs (fence their writes). Thread-safe and free of CAF types.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/cluster.hpp"

namespace switchboard::actors {

/// This node's shard leases as last renewed.
class cluster_view {
public:
  using clock = std::chrono::steady_clock;

  cluster_view(std::string node, uint32_t shards, std::chrono::milliseconds ttl);

  /// This process's node id (host, pid, start time).
  const std::string& node() const { return node_; }
  uint32_t shards() const { return shards_; }
  std::chrono::milliseconds ttl() const { return ttl_; }

  /// Whether this node processes the entity now: its shard is held and the leases were renewed
  /// less than 2/3 of the TTL ago (local clock, counted from when the renewal was sent).
  bool owns(std::string_view entity) const;
  bool owns_shard(int32_t shard) const;

  /// The fence of a batch over these entities: the held shards among theirs (none while the
  /// leases are not healthy, so nothing is written).
  storage::shard_fence fence_for(const std::vector<std::string>& entities) const;
  /// The fence of outbox writes: every lease held, healthy or not (the database decides which
  /// are still this node's; rows of shards not held here are not fenced).
  storage::shard_fence fence_held() const;

  /// The shards processed now (held and healthy), ascending.
  std::vector<int32_t> processing() const;
  /// The leases held, healthy or not.
  std::vector<storage::shard_lease> held() const;
  /// Whether the leases were renewed less than 2/3 of the TTL ago.
  bool healthy() const;
  /// Whether the last renewal is older than the TTL (the leases may be someone else's now).
  bool expired() const;

  /// A renewal sent at `sent` answered these leases (the ones taken since are kept).
  void renewed(const std::vector<storage::shard_lease>& held, clock::time_point sent);
  /// Shards taken.
  void add(const std::vector<storage::shard_lease>& taken);
  /// Forgets shards (lost, or released for balance).
  void drop(const std::vector<int32_t>& shards);
  /// A fenced write found these shards at another epoch: dropped at once, counted by the
  /// lease actor on its next round (take_rejected).
  void rejected(const std::vector<int32_t>& shards);
  std::vector<int32_t> take_rejected();

private:
  bool healthy_locked(clock::time_point now) const;

  std::string node_;
  uint32_t shards_;
  std::chrono::milliseconds ttl_;
  mutable std::mutex mtx_;
  std::map<int32_t, int64_t> held_; ///< shard -> epoch
  clock::time_point renewed_{};     ///< when the last successful renewal was sent
  std::vector<int32_t> rejected_;
};

/// A node id unique to this process: "host:pid:start-ms".
std::string make_node_id();

/// The shard count of a balanced cluster: ceil(shards / live members).
int fair_share(int shards, int live_members);

} // namespace switchboard::actors
