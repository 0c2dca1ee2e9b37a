// What a cluster node believes it owns (actors/cluster.hpp): fair shares, health at 2/3 of the
// TTL, fences over the held shards only.

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include <unistd.h>

#include "actors/cluster.hpp"
#include "actors/metrics.hpp"
#include "core/events.hpp"

using namespace switchboard;
using namespace switchboard::actors;
using namespace std::chrono_literals;

TEST_CASE("a fair share is the shard count over the live members, rounded up", "[cluster]") {
  CHECK(fair_share(256, 1) == 256);
  CHECK(fair_share(256, 3) == 86);
  CHECK(fair_share(12, 3) == 4);
  CHECK(fair_share(12, 5) == 3);
  CHECK(fair_share(12, 0) == 12); // never divides by zero
  // The shares cover every shard.
  for (int live = 1; live <= 20; ++live)
    CHECK(fair_share(256, live) * live >= 256);
}

TEST_CASE("a node owns nothing before its first renewal and stops at 2/3 of the TTL", "[cluster]") {
  cluster_view v{"node-a", 8, 300ms};
  std::string entity = "+250788000001";
  auto shard = static_cast<int32_t>(core::shard_of(entity, 8));
  CHECK_FALSE(v.healthy());
  CHECK(v.expired());
  v.add({{shard, 3}});
  CHECK_FALSE(v.owns(entity)); // held, but never renewed
  CHECK(v.fence_for({entity}).leases.empty());
  v.renewed({{shard, 3}}, cluster_view::clock::now());
  CHECK(v.healthy());
  CHECK(v.owns(entity));
  CHECK(v.processing() == std::vector<int32_t>{shard});
  auto f = v.fence_for({entity, entity});
  CHECK(f.node == "node-a");
  REQUIRE(f.leases.size() == 1);
  CHECK(f.leases[0] == storage::shard_lease{shard, 3});
  // Not renewed for 2/3 of the TTL: nothing is processed or written, the leases are still held.
  std::this_thread::sleep_for(220ms);
  CHECK_FALSE(v.healthy());
  CHECK_FALSE(v.owns(entity));
  CHECK(v.fence_for({entity}).leases.empty());
  CHECK(v.processing().empty());
  CHECK(v.held().size() == 1);
  CHECK_FALSE(v.expired());
  std::this_thread::sleep_for(100ms);
  CHECK(v.expired());
}

TEST_CASE("fences cover the held shards of the batch's entities only; rejected shards drop",
          "[cluster]") {
  cluster_view v{"node-a", 16, 10s};
  std::string mine = "+250788000001";
  auto my_shard = static_cast<int32_t>(core::shard_of(mine, 16));
  std::string other;
  for (int i = 2; other.empty(); ++i) {
    auto p = "+25078800000" + std::to_string(i);
    if (static_cast<int32_t>(core::shard_of(p, 16)) != my_shard)
      other = p;
  }
  v.renewed({{my_shard, 7}}, cluster_view::clock::now());
  auto f = v.fence_for({mine, other});
  REQUIRE(f.leases.size() == 1);
  CHECK(f.leases[0].shard == my_shard);
  CHECK_FALSE(v.owns(other));
  v.rejected({my_shard});
  CHECK_FALSE(v.owns(mine));
  CHECK(v.take_rejected() == std::vector<int32_t>{my_shard});
  CHECK(v.take_rejected().empty());
  // A renewal answers what the store holds for this node.
  v.renewed({{my_shard, 8}}, cluster_view::clock::now());
  CHECK(v.fence_for({mine}).leases[0].epoch == 8);
  v.drop({my_shard});
  CHECK(v.held().empty());
}

TEST_CASE("node ids name the host, the process and its start", "[cluster]") {
  auto id = make_node_id();
  CHECK(std::count(id.begin(), id.end(), ':') >= 2);
  CHECK(id.find(":" + std::to_string(getpid()) + ":") != std::string::npos);
}

TEST_CASE("the cluster metrics appear only once a cluster node reports them", "[cluster]") {
  metrics m;
  CHECK(m.render().find("switchboard_cluster") == std::string::npos); // single node: unchanged
  m.cluster_shards(4, true);
  m.cluster_renewal(true);
  m.cluster_shards_lost("stolen", 2);
  m.cluster_epoch_rejection(1);
  m.cluster_failover(3.5);
  auto text = m.render();
  CHECK(text.find("switchboard_cluster_shards_owned 4") != std::string::npos);
  CHECK(text.find("switchboard_cluster_lease_healthy 1") != std::string::npos);
  CHECK(text.find(R"(switchboard_cluster_lease_renewals_total{outcome="ok"} 1)")
        != std::string::npos);
  CHECK(text.find(R"(switchboard_cluster_shard_losses_total{reason="stolen"} 2)")
        != std::string::npos);
  CHECK(text.find("switchboard_cluster_epoch_rejections_total 1") != std::string::npos);
  CHECK(text.find("switchboard_cluster_failover_seconds_count 1") != std::string::npos);
}
