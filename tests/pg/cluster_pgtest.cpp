// Shard leases with epoch fencing (storage/cluster.hpp) against a real PostgreSQL.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include <soci/soci.h>

#include "storage/cluster.hpp"
#include "storage/db.hpp"
#include "storage/flows.hpp"
#include "storage/inbox.hpp"
#include "storage/migrator.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

struct cluster_db : test::omni_db {
  cluster_db() {
    store = make_pg_lease_store(*sql);
    store->ensure_shards(8);
  }
  std::unique_ptr<lease_store> store;
};

core::inbound_message msg(const std::string& id, const std::string& from) {
  core::inbound_message m;
  m.channel = "sms";
  m.provider = "mtn";
  m.external_id = id;
  m.from = from;
  m.type = "text";
  m.text = "hello";
  m.received_at_ms = to_ms(std::chrono::system_clock::now());
  m.correlation_id = "corr-" + id;
  return m;
}

void ingest(soci::session& sql, const core::inbound_message& m) {
  auto e = core::make_inbox_entry(m, 8);
  insert_inbox(sql, {&e});
}

} // namespace

TEST_CASE("a free shard is taken with its epoch bumped, renewed and released", "[cluster]") {
  cluster_db d;
  CHECK(d.count("SELECT count(*) FROM shard_leases") == 8);
  d.store->ensure_shards(8); // idempotent
  CHECK(d.count("SELECT count(*) FROM shard_leases") == 8);
  auto taken = d.store->take("node-a", 8, 3, 4000ms);
  REQUIRE(taken.size() == 3);
  CHECK(taken[0].epoch == 1);
  std::sort(taken.begin(), taken.end(), [](auto& a, auto& b) { return a.shard < b.shard; });
  CHECK(taken[0].shard == 0);
  CHECK(taken[2].shard == 2);
  // Held shards are not taken again, by anyone.
  auto more = d.store->take("node-b", 8, 8, 4000ms);
  CHECK(more.size() == 5);
  CHECK(d.store->take("node-c", 8, 8, 4000ms).empty());

  auto r = d.store->renew({"node-a", "127.0.0.1:1"}, 4000ms);
  CHECK(r.held == taken);
  CHECK(r.live_members == 1); // node-b never heartbeat
  d.store->renew({"node-b", "127.0.0.1:2"}, 4000ms);
  CHECK(d.store->renew({"node-a", "127.0.0.1:1"}, 4000ms).live_members == 2);
  // Renewal extends the expiry from the database clock.
  CHECK(d.count("SELECT count(*) FROM shard_leases WHERE owner = 'node-a' AND expires_at > now() "
                "+ interval '3 seconds'")
        == 3);

  d.store->release("node-a", {taken[0].shard});
  CHECK(d.store->renew({"node-a", "127.0.0.1:1"}, 4000ms).held.size() == 2);
  auto again = d.store->take("node-c", 8, 8, 4000ms);
  REQUIRE(again.size() == 1);
  CHECK(again[0].shard == taken[0].shard);
  CHECK(again[0].epoch == 2);

  d.store->leave("node-a");
  CHECK(d.count("SELECT count(*) FROM shard_leases WHERE owner = 'node-a'") == 0);
  CHECK(d.count("SELECT count(*) FROM cluster_members WHERE node_id = 'node-a'") == 0);
}

TEST_CASE("an expired lease is stolen with a new epoch; the old owner's renewal loses it",
          "[cluster]") {
  cluster_db d;
  auto mine = d.store->take("node-a", 8, 1, 4000ms, 5);
  REQUIRE(mine.size() == 1);
  CHECK(mine[0].shard == 5);
  // Not expired: nobody steals it.
  CHECK(d.store->take("node-b", 8, 1, 4000ms, 5).empty());
  // Expired (the lease's clock is the database's: moved back instead of sleeping).
  *d.sql << "UPDATE shard_leases SET expires_at = now() - interval '1 millisecond' WHERE shard = 5";
  auto stolen = d.store->take("node-b", 8, 1, 4000ms, 5);
  REQUIRE(stolen.size() == 1);
  CHECK(stolen[0].epoch == mine[0].epoch + 1);
  CHECK(d.store->renew({"node-a", ""}, 4000ms).held.empty());
  CHECK(d.store->renew({"node-b", ""}, 4000ms).held == stolen);
  // The old owner's fence finds the shard stale; the new owner's does not.
  CHECK(stale_shards(*d.sql, {"node-a", mine}) == std::vector<int32_t>{5});
  CHECK(stale_shards(*d.sql, {"node-b", stolen}).empty());
  // A shard without a lease row is stale too.
  CHECK(stale_shards(*d.sql, {"node-b", {{100, 1}}}) == std::vector<int32_t>{100});
}

TEST_CASE("nodes racing for the same shards: each shard gets one owner", "[cluster]") {
  cluster_db d;
  constexpr int nodes = 4;
  std::vector<std::vector<shard_lease>> got(nodes);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < nodes; ++n)
    threads.emplace_back([&, n] {
      auto sql = d.db.connect();
      auto store = make_pg_lease_store(*sql);
      ++ready;
      while (ready < nodes)
        std::this_thread::yield();
      for (int round = 0; round < 20; ++round) {
        auto t = store->take("node-" + std::to_string(n), 8, 8, 4000ms, round % 8);
        got[n].insert(got[n].end(), t.begin(), t.end());
      }
    });
  for (auto& t : threads)
    t.join();
  std::vector<int32_t> all;
  for (auto& g : got)
    for (auto& l : g) {
      all.push_back(l.shard);
      CHECK(l.epoch == 1); // taken once: never stolen while held
    }
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(d.count("SELECT count(DISTINCT owner) FROM shard_leases") >= 1);
  CHECK(d.count("SELECT max(epoch) FROM shard_leases") == 1);
}

TEST_CASE("a stale owner's take of its inbox rows is rejected; the new owner takes them",
          "[cluster]") {
  cluster_db d;
  auto phone = std::string{"+250788000001"};
  auto shard = static_cast<int>(core::shard_of(phone, 8));
  auto old_owner = d.store->take("node-a", 8, 1, 4000ms, shard);
  REQUIRE(old_owner.size() == 1);
  ingest(*d.sql, msg("m1", phone));
  *d.sql << "UPDATE shard_leases SET expires_at = now() - interval '1 millisecond'";
  auto new_owner = d.store->take("node-b", 8, 1, 4000ms, shard);
  REQUIRE(new_owner.size() == 1);

  std::vector<int32_t> stale;
  auto late = d.tx([&](soci::session& sql) {
    return take_inbox(sql, "message", {phone}, 10, shard_fence{"node-a", old_owner}, stale);
  });
  CHECK(late.empty());
  CHECK(stale == std::vector<int32_t>{shard});
  CHECK(d.count("SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 1);

  // The whole accept is fenced: the stale node accepts nothing, logs nothing.
  std::vector<int32_t> stale_accept;
  accept_request req{phone, "tok"};
  auto accepted = d.tx([&](soci::session& sql) {
    shard_fence f{"node-a", old_owner};
    return accept_messages(sql, d.machine, d.policy, {&req}, d.now, 100, &f, &stale_accept);
  });
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0].inbound.empty());
  CHECK(stale_accept == std::vector<int32_t>{shard});
  CHECK(d.count("SELECT count(*) FROM message_delivery_log") == 0);

  stale.clear();
  auto taken = d.tx([&](soci::session& sql) {
    return take_inbox(sql, "message", {phone}, 10, shard_fence{"node-b", new_owner}, stale);
  });
  CHECK(stale.empty());
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].dedupe_key.find("m1") != std::string::npos);
  // Rows of shards outside the fence are never taken.
  ingest(*d.sql, msg("m2", phone));
  auto outside = d.tx([&](soci::session& sql) {
    return take_inbox(sql, "message", {phone}, 10, shard_fence{"node-b", {{(shard + 1) % 8, 1}}},
                      stale);
  });
  CHECK(outside.empty());
}

TEST_CASE("no new owner takes a shard while the old owner's fenced transaction is in flight",
          "[cluster]") {
  cluster_db d;
  auto phone = std::string{"+250788000002"};
  auto shard = static_cast<int>(core::shard_of(phone, 8));
  auto old_owner = d.store->take("node-a", 8, 1, 4000ms, shard);
  REQUIRE(old_owner.size() == 1);
  ingest(*d.sql, msg("m1", phone));
  *d.sql << "UPDATE shard_leases SET expires_at = now() - interval '1 millisecond'";

  // node-a's transaction is in flight: the fence holds the lease row FOR SHARE.
  *d.sql << "BEGIN";
  std::vector<int32_t> stale;
  auto taken = take_inbox(*d.sql, "message", {phone}, 10, shard_fence{"node-a", old_owner}, stale);
  REQUIRE(taken.size() == 1);

  std::atomic<bool> done{false};
  std::vector<shard_lease> stolen;
  std::thread thief{[&] {
    auto sql = d.db.connect();
    *sql << "SET lock_timeout = '5s'";
    // The candidate row is locked FOR SHARE: SKIP LOCKED passes it by.
    auto skipped = make_pg_lease_store(*sql)->take("node-b", 8, 1, 4000ms, shard);
    CHECK(skipped.empty());
    done = true;
  }};
  thief.join();
  CHECK(done);
  *d.sql << "COMMIT";
  stolen = d.store->take("node-b", 8, 1, 4000ms, shard);
  REQUIRE(stolen.size() == 1);
  // What node-a committed under its lease stays; node-b finds nothing left to take.
  stale.clear();
  CHECK(d.tx([&](soci::session& sql) {
           return take_inbox(sql, "message", {phone}, 10, shard_fence{"node-b", stolen}, stale);
         }).empty());
  CHECK(stale.empty());
}

TEST_CASE("the migrator accepts a gap in the migration numbers and fills it later",
          "[cluster][migrator]") {
  test::scratch_db db;
  auto sql = db.connect();
  auto first = migrate(
      *sql, {{"0001_a.sql", "CREATE TABLE a (x int);"}, {"0003_c.sql", "CREATE TABLE c (x int);"}});
  REQUIRE(first);
  CHECK(first->applied == std::vector<std::string>{"0001_a.sql", "0003_c.sql"});
  auto later = migrate(*sql, {{"0001_a.sql", "CREATE TABLE a (x int);"},
                              {"0002_b.sql", "CREATE TABLE b (x int);"},
                              {"0003_c.sql", "CREATE TABLE c (x int);"}});
  REQUIRE(later);
  CHECK(later->applied == std::vector<std::string>{"0002_b.sql"});
  CHECK(later->already_applied == 2);
}

TEST_CASE("a batch of inbox rows notifies the other nodes of its shards, not the node that "
          "stored it",
          "[cluster]") {
  cluster_db d;
  auto listener = d.db.connect();
  listen_inbox_hints(*listener);
  // No members: a single node, no notification.
  ingest(*d.sql, msg("hint-0", "+250788004000"));
  CHECK(wait_inbox_hints(*listener, 300ms, "node-b").empty());

  *d.sql << "INSERT INTO cluster_members (node_id) VALUES ('node-a'), ('node-b')";
  name_hint_sender(*d.sql, "node-a");
  ingest(*d.sql, msg("hint-1", "+250788004001"));
  auto shard = static_cast<int32_t>(core::shard_of("+250788004001", 8));
  CHECK(wait_inbox_hints(*listener, 2000ms, "node-b") == std::vector<int32_t>{shard});
  // The storing node ignores its own.
  ingest(*d.sql, msg("hint-2", "+250788004001"));
  CHECK(wait_inbox_hints(*listener, 300ms, "node-a").empty());
  // A duplicate stores nothing and notifies nothing.
  ingest(*d.sql, msg("hint-1", "+250788004001"));
  CHECK(wait_inbox_hints(*listener, 300ms, "node-b").empty());
}
