#include "actors/cluster.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/events.hpp"

namespace switchboard::actors {

cluster_view::cluster_view(std::string node, uint32_t shards, std::chrono::milliseconds ttl)
    : node_(std::move(node)), shards_(shards), ttl_(ttl) {}

bool cluster_view::healthy_locked(clock::time_point now) const {
  return renewed_ != clock::time_point{} && now - renewed_ < ttl_ * 2 / 3;
}

bool cluster_view::owns(std::string_view entity) const {
  return owns_shard(static_cast<int32_t>(core::shard_of(entity, shards_)));
}

bool cluster_view::owns_shard(int32_t shard) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return healthy_locked(clock::now()) && held_.count(shard) > 0;
}

storage::shard_fence cluster_view::fence_for(const std::vector<std::string>& entities) const {
  std::set<int32_t> wanted;
  for (auto& e : entities)
    wanted.insert(static_cast<int32_t>(core::shard_of(e, shards_)));
  storage::shard_fence f;
  f.node = node_;
  f.shards = shards_;
  std::lock_guard<std::mutex> guard{mtx_};
  if (!healthy_locked(clock::now()))
    return f;
  for (auto s : wanted)
    if (auto it = held_.find(s); it != held_.end())
      f.leases.push_back({s, it->second});
  return f;
}

storage::shard_fence cluster_view::fence_held() const {
  storage::shard_fence f;
  f.node = node_;
  f.shards = shards_;
  f.leases = held();
  return f;
}

std::vector<int32_t> cluster_view::processing() const {
  std::vector<int32_t> out;
  std::lock_guard<std::mutex> guard{mtx_};
  if (!healthy_locked(clock::now()))
    return out;
  for (auto& [s, e] : held_)
    out.push_back(s);
  return out;
}

std::vector<storage::shard_lease> cluster_view::held() const {
  std::vector<storage::shard_lease> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [s, e] : held_)
    out.push_back({s, e});
  return out;
}

bool cluster_view::healthy() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return healthy_locked(clock::now());
}

bool cluster_view::expired() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return renewed_ == clock::time_point{} || clock::now() - renewed_ >= ttl_;
}

void cluster_view::renewed(const std::vector<storage::shard_lease>& held, clock::time_point sent) {
  std::lock_guard<std::mutex> guard{mtx_};
  held_.clear();
  for (auto& l : held)
    held_[l.shard] = l.epoch;
  renewed_ = std::max(renewed_, sent);
}

void cluster_view::add(const std::vector<storage::shard_lease>& taken) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& l : taken)
    held_[l.shard] = l.epoch;
}

void cluster_view::drop(const std::vector<int32_t>& shards) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto s : shards)
    held_.erase(s);
}

void cluster_view::rejected(const std::vector<int32_t>& shards) {
  if (shards.empty())
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto s : shards) {
    held_.erase(s);
    rejected_.push_back(s);
  }
}

std::vector<int32_t> cluster_view::take_rejected() {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::exchange(rejected_, {});
}

std::string make_node_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0)
    host[0] = '\0';
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return std::string{host} + ":" + std::to_string(getpid()) + ":" + std::to_string(ms);
}

int fair_share(int shards, int live_members) {
  live_members = std::max(1, live_members);
  return (shards + live_members - 1) / live_members;
}

} // namespace switchboard::actors
