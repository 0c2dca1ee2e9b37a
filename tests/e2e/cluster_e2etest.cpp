// A cluster end to end: three (or two) server processes on one scratch database and the
// simulator, each owning a share of the shards through leases with epoch fencing. A node killed
// with SIGKILL, a node paused past its TTL, one user writing to two nodes.

#include <catch2/catch.hpp>

#include <csignal>
#include <set>
#include <thread>

#include <soci/soci.h>

#include "core/events.hpp"
#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr uint32_t shards = 12;

/// Cluster settings shared by every node: few shards (a fair share of 4 on three nodes), a
/// short TTL and a fast inbox poll (the owner of a row another node ingested finds it there).
std::vector<std::pair<std::string, std::string>> cluster_env() {
  return {{"SWITCHBOARD_CLUSTER_ENABLED", "true"},
          {"SWITCHBOARD_CLUSTER_TTL_MS", "3000"},
          {"SWITCHBOARD_INBOX_SHARDS", std::to_string(shards)},
          {"SWITCHBOARD_INBOX_POLL_INTERVAL_MS", "200"},
          {"SWITCHBOARD_INBOX_POLL_GRACE_MS", "200"},
          {"SWITCHBOARD_SESSION_COALESCE_MS", "0"}};
}

test::stack_options cluster_options() {
  test::stack_options o;
  o.env = cluster_env();
  return o;
}

uint16_t port_of(test::child_process& node) {
  return node.ready().at("port").get<uint16_t>();
}

/// The node id prefix of a process ("host:pid:"): lease owners are "host:pid:start-ms".
std::string owner_like(pid_t pid) {
  return "%:" + std::to_string(pid) + ":%";
}

long long owned_by(const test::stack& s, pid_t pid) {
  return test::count(s, "SELECT count(*) FROM shard_leases WHERE owner LIKE '" + owner_like(pid)
                            + "' AND expires_at > now()");
}

/// The shards a process holds.
std::set<uint32_t> shards_of(const test::stack& s, pid_t pid) {
  std::set<uint32_t> out;
  for (uint32_t i = 0; i < shards; ++i)
    if (test::count(s, "SELECT count(*) FROM shard_leases WHERE shard = " + std::to_string(i)
                           + " AND owner LIKE '" + owner_like(pid) + "'")
        == 1)
      out.insert(i);
  return out;
}

/// `n` senders whose shards are among `in`.
std::vector<std::string> senders_in(const std::set<uint32_t>& in, int n, int seed) {
  std::vector<std::string> out;
  for (int i = 0; static_cast<int>(out.size()) < n; ++i) {
    auto phone = "+2507885" + std::to_string(10000 + seed * 1000 + i);
    if (in.count(core::shard_of(phone, shards)))
      out.push_back(phone);
  }
  return out;
}

long long pending(const test::stack& s) {
  return test::count(s, "SELECT count(*) FROM inbox WHERE processed_at IS NULL");
}

long long inbound_rows(const test::stack& s) {
  return test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound'");
}

/// Every acknowledged message has exactly one inbound delivery row (processed once).
void check_exactly_once(const test::stack& s, long long acked) {
  CHECK(pending(s) == 0);
  CHECK(inbound_rows(s) == acked);
  CHECK(test::count(s, "SELECT count(DISTINCT external_id) FROM message_delivery_log WHERE "
                       "direction = 'inbound'")
        == acked);
}

bool balanced(const test::stack& s, const std::vector<pid_t>& pids, long long each) {
  for (auto p : pids)
    if (owned_by(s, p) != each)
      return false;
  return true;
}

} // namespace

TEST_CASE("cluster: kill -9 one of three nodes; its shards are owned elsewhere and processing "
          "again within 5 s, every acknowledged message processed exactly once",
          "[cluster]") {
  test::stack s{cluster_options()};
  auto b = s.start_node();
  auto c = s.start_node();
  std::vector<pid_t> pids{s.server().pid(), b->pid(), c->pid()};
  std::vector<uint16_t> ports{s.port(), port_of(*b), port_of(*c)};
  REQUIRE(test::eventually([&] { return balanced(s, pids, 4); }, 15s));
  for (auto port : ports) {
    auto ready = test::http_get("http://127.0.0.1:" + std::to_string(port) + "/readyz");
    INFO(ready.body);
    CHECK(ready.status == 200);
    CHECK(ready.json()["cluster"]["shards_owned"] == 4);
    CHECK(ready.json()["cluster"]["leases_healthy"] == true);
  }

  // Load over all nodes: every message goes to a node picked round-robin, whoever owns it.
  long long acked = 0;
  for (int i = 0; i < 24; ++i) {
    auto from = "+25078860" + std::to_string(1000 + i);
    auto r = test::mtn_inbound(ports[i % 3], s, "spread-" + std::to_string(i), from, "hi");
    REQUIRE(r.status == 200);
    ++acked;
  }
  REQUIRE(test::eventually([&] { return pending(s) == 0 && inbound_rows(s) == acked; }, 15s));

  auto victim = shards_of(s, c->pid());
  REQUIRE(victim.size() == 4);
  auto victims = senders_in(victim, 6, 1);
  c->signal(SIGKILL);
  c->wait(5s);
  auto killed = std::chrono::steady_clock::now();
  // Messages for the dead node's users keep coming, to the live nodes.
  for (std::size_t i = 0; i < victims.size(); ++i) {
    auto r = test::mtn_inbound(ports[i % 2], s, "after-kill-" + std::to_string(i), victims[i],
                               "still there?");
    REQUIRE(r.status == 200);
    ++acked;
  }
  REQUIRE(test::eventually([&] { return pending(s) == 0 && inbound_rows(s) == acked; }, 10s));
  auto failover = std::chrono::steady_clock::now() - killed;
  INFO("failover took " << std::chrono::duration_cast<std::chrono::milliseconds>(failover).count()
                        << " ms");
  CHECK(failover <= 5s);
  CHECK(owned_by(s, c->pid()) == 0);
  CHECK(owned_by(s, pids[0]) + owned_by(s, pids[1]) == shards);
  check_exactly_once(s, acked);
  // The console's node view shows what this node owns now.
  REQUIRE(test::eventually(
      [&] {
        auto node = test::http_get(s.admin_url("/admin/v1/node"),
                                   {test::bearer_auth(s.env("SWITCHBOARD_ADMIN_TOKEN"))});
        return node.status == 200 && node.json()["shards"].is_object()
               && node.json()["shards"]["owned"] == owned_by(s, pids[0])
               && node.json()["shards"]["leases_healthy"] == true;
      },
      5s));
  // Each taken-over shard was counted as a failover on its new owner.
  auto metrics_a = test::http_get(s.url("/metrics")).body;
  auto metrics_b = test::http_get("http://127.0.0.1:" + std::to_string(ports[1]) + "/metrics").body;
  CHECK((metrics_a + metrics_b).find("switchboard_cluster_failover_seconds_count")
        != std::string::npos);
}

TEST_CASE("cluster: a node paused past its TTL stops processing, its shards move, and it "
          "rejoins after SIGCONT",
          "[cluster]") {
  test::stack s{cluster_options()};
  auto b = s.start_node();
  auto a_pid = s.server().pid();
  REQUIRE(test::eventually([&] { return balanced(s, {a_pid, b->pid()}, 6); }, 15s));
  auto b_port = port_of(*b);
  auto b_shards = shards_of(s, b->pid());
  REQUIRE(b_shards.size() == 6);
  auto users = senders_in(b_shards, 4, 2);

  b->signal(SIGSTOP);
  // Past the TTL: node A takes every shard over (epochs bumped).
  REQUIRE(test::eventually([&] { return owned_by(s, a_pid) == shards; }, 8s));
  CHECK(test::count(s, "SELECT min(epoch) FROM shard_leases") >= 1);
  long long acked = 0;
  for (std::size_t i = 0; i < users.size(); ++i) {
    REQUIRE(test::mtn_inbound(s, "paused-" + std::to_string(i), users[i], "hello").status == 200);
    ++acked;
  }
  REQUIRE(test::eventually([&] { return pending(s) == 0 && inbound_rows(s) == acked; }, 10s));

  b->signal(SIGCONT);
  // B wakes with leases it no longer holds: it does not process them (A does, once), acks still
  // work on B (any node ingests).
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto r = test::mtn_inbound(b_port, s, "resumed-" + std::to_string(i), users[i], "again");
    REQUIRE(r.status == 200);
    ++acked;
  }
  REQUIRE(test::eventually([&] { return pending(s) == 0 && inbound_rows(s) == acked; }, 10s));
  check_exactly_once(s, acked);
  // B noticed the loss and rejoins: the shards are balanced again, and B is ready.
  REQUIRE(test::eventually([&] { return balanced(s, {a_pid, b->pid()}, 6); }, 15s));
  auto ready = test::http_get("http://127.0.0.1:" + std::to_string(b_port) + "/readyz");
  INFO(ready.body);
  CHECK(ready.status == 200);
  auto metrics = test::http_get("http://127.0.0.1:" + std::to_string(b_port) + "/metrics").body;
  INFO(metrics.substr(0, 0));
  CHECK(metrics.find(R"(switchboard_cluster_shard_losses_total{reason="expired"})")
        != std::string::npos);
  auto a_metrics = test::http_get(s.url("/metrics")).body;
  CHECK(a_metrics.find(R"(switchboard_cluster_shard_losses_total{reason="released"})")
        != std::string::npos);
}

TEST_CASE("cluster: the same user writing to two nodes 30 ms apart gets answers in order",
          "[cluster]") {
  auto opts = cluster_options();
  test::stack s{opts};
  auto b = s.start_node();
  REQUIRE(test::eventually([&] { return balanced(s, {s.server().pid(), b->pid()}, 6); }, 15s));
  test::sim_control(s, "/_sim/faults", {{"service", "openai"}, {"latency_ms", 300}});
  const std::string user = "+250788777001";
  REQUIRE(test::mtn_inbound(s, "order-1", user, "first question").status == 200);
  std::this_thread::sleep_for(30ms);
  REQUIRE(test::mtn_inbound(port_of(*b), s, "order-2", user, "second question").status == 200);
  REQUIRE(test::eventually(
      [&] {
        return pending(s) == 0
               && test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                 "'inbound' AND reply_id IS NULL")
                      == 0
               && inbound_rows(s) == 2;
      },
      15s));
  std::this_thread::sleep_for(1s);
  // One owner took both, in arrival order.
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log a JOIN message_delivery_log b "
                       "ON a.id < b.id WHERE a.direction = 'inbound' AND b.direction = 'inbound' "
                       "AND a.body = 'first question' AND b.body = 'second question'")
        == 1);
  // The last LLM call saw both messages in order, and the reply of any earlier call.
  auto llm = test::sim_sent(s, "openai", "/chat/completions");
  REQUIRE(!llm.empty());
  std::vector<std::string> users;
  int assistants = 0;
  for (auto& m : llm.back()["json"]["messages"]) {
    if (m.value("role", std::string{}) == "user")
      users.push_back(m.value("content", std::string{}));
    if (m.value("role", std::string{}) == "assistant")
      ++assistants;
  }
  REQUIRE(users.size() >= 2);
  CHECK(users[users.size() - 2] == "first question");
  CHECK(users.back() == "second question");
  auto replies = test::sim_sent(s, "mtn", "/v3/sms");
  CHECK(replies.size() >= 1);
  CHECK(assistants >= static_cast<int>(replies.size()) - 1);
}

TEST_CASE("cluster: a write that waited on its shard's lease while the shard moved on is "
          "rejected by the epoch check; the new owner processes the message once",
          "[cluster]") {
  test::stack s{cluster_options()};
  auto b = s.start_node();
  auto a_pid = s.server().pid();
  REQUIRE(test::eventually([&] { return balanced(s, {a_pid, b->pid()}, 6); }, 15s));
  auto b_shards = shards_of(s, b->pid());
  auto user = senders_in(b_shards, 1, 3).front();
  auto shard = std::to_string(core::shard_of(user, shards));
  REQUIRE(test::count(s, "SELECT count(*) FROM cluster_members") == 2);

  // The test holds the lease row: B's fenced take of the user's row waits on it (FOR SHARE).
  auto sql = s.db().connect();
  *sql << "BEGIN";
  *sql << "SELECT 1 FROM shard_leases WHERE shard = " + shard + " FOR UPDATE";
  REQUIRE(test::mtn_inbound(port_of(*b), s, "fenced-1", user, "hello").status == 200);
  std::this_thread::sleep_for(400ms);
  // Meanwhile the shard moves to A (as a take would: owner and a new epoch), and commits.
  *sql << "UPDATE shard_leases SET owner = (SELECT owner FROM shard_leases WHERE owner LIKE '"
              + owner_like(a_pid)
              + "' LIMIT 1), epoch = epoch + 1, expires_at = now() + "
                "interval '3 seconds' WHERE shard = "
              + shard;
  *sql << "COMMIT";
  // B's waiting write finds the new epoch: refused, counted; A (the owner now) processes it.
  REQUIRE(test::eventually([&] { return pending(s) == 0 && inbound_rows(s) == 1; }, 10s));
  check_exactly_once(s, 1);
  auto b_metrics = [&] {
    return test::http_get("http://127.0.0.1:" + std::to_string(port_of(*b)) + "/metrics").body;
  };
  REQUIRE(test::eventually(
      [&] {
        return b_metrics().find("switchboard_cluster_epoch_rejections_total 1")
               != std::string::npos;
      },
      5s));
  CHECK(b_metrics().find(R"(switchboard_cluster_shard_losses_total{reason="rejected"} 1)")
        != std::string::npos);
}

TEST_CASE("cluster: a reply generated on a node that lost the shard meanwhile is not queued",
          "[cluster]") {
  test::stack s{cluster_options()};
  auto b = s.start_node();
  REQUIRE(test::eventually([&] { return balanced(s, {s.server().pid(), b->pid()}, 6); }, 15s));
  auto user = senders_in(shards_of(s, b->pid()), 1, 4).front();
  auto shard = std::to_string(core::shard_of(user, shards));
  test::sim_control(s, "/_sim/faults", {{"service", "openai"}, {"latency_ms", 2000}});
  REQUIRE(test::mtn_inbound(port_of(*b), s, "late-reply-1", user, "hello").status == 200);
  // B accepted the message and its answer is with the LLM.
  REQUIRE(test::eventually(
      [&] { return !test::sim_sent(s, "openai", "/chat/completions").empty(); }, 5s));
  CHECK(inbound_rows(s) == 1);
  // The shard moves to another owner (one that keeps it: no balancing hands it back to B)
  // before the answer comes back.
  auto sql = s.db().connect();
  *sql << "UPDATE shard_leases SET owner = 'another-node', epoch = epoch + 1, expires_at = now() "
          "+ interval '60 seconds' WHERE shard = "
              + shard;
  // B's answer arrives (2 s) and is not queued: no reply row, nothing sent.
  std::this_thread::sleep_for(3s);
  CHECK(test::sim_sent(s, "mtn", "/v3/sms").empty());
  CHECK(test::count(s, "SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound'")
        == 0);
  auto metrics
      = test::http_get("http://127.0.0.1:" + std::to_string(port_of(*b)) + "/metrics").body;
  CHECK(metrics.find("switchboard_cluster_shard_losses_total") != std::string::npos);
}
