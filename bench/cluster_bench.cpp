// A cluster on this machine: 1, 2 and 3 server processes on one private PostgreSQL and the
// simulator, every node owning a share of the shards through leases (cluster.enabled).
//
//  scale     Signed MTN inbound SMS spread over all nodes (SB_BENCH_CONNECTIONS split evenly,
//            closed loop), with 1, then 2, then 3 nodes (SB_BENCH_CLUSTER_NODES) on the same
//            stack: acknowledgements per second and their p50/p99, then the time until every
//            acknowledged message of the phase is processed once and answered (LLM on the
//            simulator, an MTN reply). Each figure also as a ratio to the 1-node phase of the
//            same run. Every node, the simulator and PostgreSQL share the same cores: the
//            figures say what a cluster costs here, not what more machines would give.
//  failover  SB_BENCH_KILLS (5) kill -9 of one of three nodes under light load
//            (SB_BENCH_FAILOVER_RATE, 20/s), for each TTL of SB_BENCH_FAILOVER_TTLS_MS
//            ("3000,4000"): the time from the kill to the first message of a user on a shard
//            the dead node owned being processed (its inbox row marked processed: by the new
//            owner, necessarily); p50/p99/max over the kills. A fresh node replaces the dead one
//            before the next kill.
//  wake      SB_BENCH_WAKE_MESSAGES (100) SMS at 20/s stored on a node for users of another
//            node's shards: stored -> processed on the owner, with the wake-up hint
//            (cluster.wake_hints, LISTEN/NOTIFY) and without it (the owner's inbox poll).
//  leases    Statements per second the lease actors send (switchboard_cluster_lease_statements_
//            total, counted by the lease actor itself: renewals, takes, releases), per node and
//            for the cluster, over SB_BENCH_LEASE_WINDOW_S (10) of a 3-node cluster.
//
// Counts balance or the run is VOID: every 2xx stored, every stored message processed once
// (one inbound delivery row) and answered.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <soci/soci.h>

#include "bench/harness.hpp"
#include "core/events.hpp"

namespace {

using namespace switchboard;
using namespace std::chrono_literals;
using bench::clock_type;

/// The nodes of one cluster: the stack's server first, then the nodes started beside it.
struct cluster {
  test::stack& st;
  std::vector<std::unique_ptr<test::child_process>> extra;

  std::vector<pid_t> pids() const {
    std::vector<pid_t> out{st.server().pid()};
    for (auto& n : extra)
      out.push_back(n->pid());
    return out;
  }
  std::vector<uint16_t> ports() const {
    std::vector<uint16_t> out{st.port()};
    for (auto& n : extra)
      out.push_back(n->ready().at("port").get<uint16_t>());
    return out;
  }
  std::string metrics_url(std::size_t node) const {
    return "http://127.0.0.1:" + std::to_string(ports().at(node)) + "/metrics";
  }
};

std::vector<std::pair<std::string, std::string>> cluster_env(long ttl_ms) {
  return {{"SWITCHBOARD_CLUSTER_ENABLED", "true"},
          {"SWITCHBOARD_CLUSTER_TTL_MS", std::to_string(ttl_ms)}};
}

/// Lease owners are "host:pid:start-ms".
std::string owner_like(pid_t pid) {
  return "'%:" + std::to_string(pid) + ":%'";
}

long long owned_by(soci::session& db, pid_t pid) {
  return bench::db_count(db, "SELECT count(*) FROM shard_leases WHERE owner LIKE " + owner_like(pid)
                                 + " AND expires_at > now()");
}

/// Every shard owned by a live lease of one of `pids`, none above its fair share.
bool balanced(soci::session& db, const std::vector<pid_t>& pids, long long shards) {
  auto share
      = (shards + static_cast<long long>(pids.size()) - 1) / static_cast<long long>(pids.size());
  long long total = 0;
  for (auto p : pids) {
    auto n = owned_by(db, p);
    if (n > share || n == 0)
      return false;
    total += n;
  }
  return total == shards;
}

void wait_balanced(soci::session& db, const cluster& c, long long shards) {
  if (!bench::wait_until([&] { return balanced(db, c.pids(), shards); }, 30s, 100ms))
    throw std::runtime_error("the shards were not balanced over " + std::to_string(c.pids().size())
                             + " nodes within 30 s");
}

/// One closed-loop load split over the nodes (each node its own generator, connections and id
/// prefix), merged into one result: counts and statuses summed, latencies pooled.
bench::load_result spread_load(const bench::load_options& lo, const cluster& c,
                               const bench::mtn_requests& mtn, const std::string& prefix) {
  auto ports = c.ports();
  std::vector<bench::load_result> parts(ports.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ports.size(); ++i)
    threads.emplace_back([&, i] {
      auto o = lo;
      o.port = ports[i];
      o.connections = std::max<std::size_t>(1, lo.connections / ports.size());
      o.warmup = 0ms;
      parts[i] = bench::run_load(o, mtn.source(prefix + "n" + std::to_string(i) + "-"));
    });
  for (auto& t : threads)
    t.join();
  bench::load_result all;
  for (auto& p : parts) {
    all.issued += p.issued;
    all.answered += p.answered;
    all.errors += p.errors;
    all.in_flight_at_stop += p.in_flight_at_stop;
    for (auto& [k, v] : p.statuses)
      all.statuses[k] += v;
    for (auto& [k, v] : p.error_kinds)
      all.error_kinds[k] += v;
    all.elapsed_s = std::max(all.elapsed_s, p.elapsed_s);
    all.throughput += p.throughput;
    all.latencies_us.insert(all.latencies_us.end(), p.latencies_us.begin(), p.latencies_us.end());
    all.samples.insert(all.samples.end(), p.samples.begin(), p.samples.end());
  }
  all.latency = bench::summarize_latencies(all.latencies_us);
  return all;
}

double cpu_of(const std::vector<pid_t>& pids) {
  double s = 0;
  for (auto p : pids)
    s += bench::read_proc_cpu_s(p);
  return s;
}

long long stored(soci::session& db, const std::string& prefix) {
  return bench::db_count(db, "SELECT count(*) FROM inbox WHERE source = 'mtn' AND dedupe_key LIKE '"
                                 + prefix + "%'");
}

long long inbound(soci::session& db, const std::string& prefix, bool answered_only = false) {
  return bench::db_count(db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                             "'inbound' AND external_id LIKE '"
                                 + prefix + "%'"
                                 + (answered_only ? " AND reply_id IS NOT NULL" : ""));
}

/// Nothing left to do: no pending inbox row, no message without its reply, no reply queued.
const std::string pending_sql
    = "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL) + (SELECT count(*) "
      "FROM message_delivery_log WHERE direction = 'inbound' AND reply_id IS NULL) + "
      "(SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound' AND "
      "channel = 'sms' AND status = 'queued')";

/// The checks of a phase's messages: stored = 2xx, each processed once, each answered.
void check_processed(bench::report& r, const std::string& phase, soci::session& db,
                     const std::string& prefix, const bench::load_result* res, long long acked) {
  auto rows = stored(db, prefix);
  if (res)
    bench::check_rows(r, phase, *res, rows);
  else
    r.check(phase, "rows stored = 2xx answers", rows, acked);
  auto in = inbound(db, prefix);
  r.check(phase, "stored messages processed once (one inbound delivery row each)", in, rows);
  r.check(phase, "processed messages answered", inbound(db, prefix, true), in);
}

struct scale_point {
  double acks_per_s = 0, p50 = 0, p99 = 0, processed_per_s = 0;
};

scale_point scale_phase(bench::report& r, cluster& c, soci::session& db,
                        const bench::load_options& lo, const bench::mtn_requests& mtn,
                        std::chrono::milliseconds drain_limit) {
  auto n = c.pids().size();
  auto phase = "nodes_" + std::to_string(n);
  auto prefix = "scale" + std::to_string(n) + "-";
  if (lo.warmup.count() > 0) {
    auto w = lo;
    w.duration = lo.warmup;
    spread_load(w, c, mtn, "warm" + std::to_string(n) + "-");
    bench::wait_until([&] { return bench::db_count(db, pending_sql) == 0; }, drain_limit, 250ms);
  }
  auto pids = c.pids();
  auto cpu0 = cpu_of(pids);
  auto start = clock_type::now();
  auto res = spread_load(lo, c, mtn, prefix);
  auto cpu1 = cpu_of(pids);
  std::optional<double> cpu_per_req;
  if (res.answered > 0)
    cpu_per_req = (cpu1 - cpu0) * 1e6 / static_cast<double>(res.answered);
  auto total = lo;
  total.connections = std::max<std::size_t>(1, lo.connections / n) * n;
  r.load(phase,
         "signed MTN inbound SMS spread over " + std::to_string(n)
             + " node(s); server CPU summed over the nodes",
         total, res, bench::read_proc_memory(pids.front()), cpu_per_req);
  bench::check_samples(r, phase, res, 200);
  long long pending = 0;
  bool drained = bench::wait_until(
      [&] {
        pending = bench::db_count(db, pending_sql);
        return pending == 0;
      },
      drain_limit, 100ms);
  auto done_s = std::chrono::duration<double>(clock_type::now() - start).count();
  if (!drained)
    r.note(phase + ": not drained within SB_BENCH_DRAIN_TIMEOUT_S: " + std::to_string(pending)
           + " rows left");
  check_processed(r, phase, db, prefix, &res, 0);
  scale_point p{res.throughput, res.latency.p50, res.latency.p99, 0};
  auto answered = inbound(db, prefix, true);
  p.processed_per_s = done_s > 0 ? static_cast<double>(answered) / done_s : 0;
  r.value(phase + "_processed_and_answered_per_s", p.processed_per_s, "messages/s");
  r.value(phase + "_load_start_to_all_answered", done_s, "s");
  return p;
}

/// Percentile of a sorted vector (nearest rank).
double pct(const std::vector<double>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

/// `n` phone numbers whose shards are among those `pid` owns.
std::vector<std::string> users_of(soci::session& db, pid_t pid, long long shards, int n, int seed) {
  std::vector<int> owned;
  {
    soci::rowset<int> rows = (db.prepare << "SELECT shard FROM shard_leases WHERE owner LIKE "
                                                + owner_like(pid) + " AND expires_at > now()");
    for (auto s : rows)
      owned.push_back(s);
  }
  std::vector<std::string> out;
  for (long long i = 0; static_cast<int>(out.size()) < n && i < 1000000; ++i) {
    auto phone = "+2507" + std::to_string(70000000 + seed * 100000 + i);
    auto shard = static_cast<int>(core::shard_of(phone, static_cast<uint32_t>(shards)));
    if (std::find(owned.begin(), owned.end(), shard) != owned.end())
      out.push_back(phone);
  }
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The kills of one TTL on a fresh 3-node stack; the failover times in ms.
std::vector<double> failover_runs(bench::report& r, long ttl_ms, long kills, double rate,
                                  long long shards) {
  auto key = "ttl_" + std::to_string(ttl_ms);
  test::stack st{bench::bench_stack_options(cluster_env(ttl_ms))};
  cluster c{st, {}};
  auto db = st.db().connect();
  c.extra.push_back(st.start_node());
  c.extra.push_back(st.start_node());
  wait_balanced(*db, c, shards);
  bench::mtn_requests mtn{st.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET"), 2000};
  std::vector<double> times;
  for (long k = 0; k < kills; ++k) {
    auto victim_pid = c.extra.back()->pid();
    auto users = users_of(*db, victim_pid, shards, 20, static_cast<int>(k));
    auto survivors = c.ports();
    survivors.pop_back();
    auto tag = "fo" + std::to_string(ttl_ms) + "-" + std::to_string(k) + "-";
    // Light background load on the survivors for the whole failover.
    bench::load_options bg;
    bg.port = survivors.front();
    bg.rate_per_s = rate;
    bg.connections = 2;
    bg.duration = std::chrono::milliseconds{ttl_ms * 2 + 3000};
    bench::load_result bg_res;
    std::thread background([&] { bg_res = bench::run_load(bg, mtn.source(tag + "bg-")); });
    std::this_thread::sleep_for(500ms);

    c.extra.back()->signal(SIGKILL);
    auto killed_ms = now_ms();
    c.extra.back()->wait(5s);
    // The dead node's users keep writing, to the survivors, every 50 ms.
    std::atomic<bool> stop{false};
    std::atomic<long long> probe_acked{0};
    std::thread probe([&] {
      for (int i = 0; !stop; ++i) {
        auto res = test::mtn_inbound(survivors[i % survivors.size()], st,
                                     tag + "probe-" + std::to_string(i), users[i % users.size()],
                                     "still there?");
        if (res.status == 200)
          ++probe_acked;
        std::this_thread::sleep_for(50ms);
      }
    });
    long long first_ms = -1;
    bench::wait_until(
        [&] {
          first_ms = bench::db_count(
              *db, "SELECT coalesce((extract(epoch FROM min(processed_at)) * 1000)::bigint, -1) "
                   "FROM inbox WHERE dedupe_key LIKE '"
                       + tag + "probe-%' AND processed_at IS NOT NULL");
          return first_ms >= 0;
        },
        std::chrono::milliseconds{ttl_ms * 3 + 10000}, 20ms);
    std::this_thread::sleep_for(300ms);
    stop = true;
    probe.join();
    background.join();
    auto phase = key + "_kill_" + std::to_string(k + 1);
    if (first_ms < 0) {
      r.check(phase, "a message of the dead node's users processed after the kill", 0, 1);
    } else {
      auto ms = static_cast<double>(first_ms - killed_ms);
      times.push_back(ms);
      std::printf("  %-22s kill -9 -> first message of the dead node's users processed: %.0f ms\n",
                  phase.c_str(), ms);
    }
    bench::wait_until([&] { return bench::db_count(*db, pending_sql) == 0; }, 60s, 100ms);
    check_processed(r, phase + "_probes", *db, tag + "probe-", nullptr, probe_acked.load());
    check_processed(r, phase + "_background", *db, tag + "bg-", &bg_res, 0);
    // A fresh node replaces the dead one.
    c.extra.pop_back();
    c.extra.push_back(st.start_node());
    wait_balanced(*db, c, shards);
  }
  std::sort(times.begin(), times.end());
  if (!times.empty()) {
    r.value("failover_" + key + "_p50", pct(times, 0.5), "ms");
    r.value("failover_" + key + "_p99", pct(times, 0.99), "ms");
    r.value("failover_" + key + "_max", times.back(), "ms");
  }
  auto metric = bench::scrape_metric(c.metrics_url(0), "switchboard_cluster_failover_seconds_sum");
  auto count = bench::scrape_metric(c.metrics_url(0), "switchboard_cluster_failover_seconds_count");
  if (metric && count && *count > 0)
    r.value("failover_" + key + "_node0_metric_mean", *metric / *count * 1000.0,
            "ms since the last renewal");
  return times;
}

/// Rows stored on a node that does not own them, at a light rate: stored -> processed on the
/// owner, with the wake-up hint (LISTEN/NOTIFY) on or off (then the owner's inbox poll finds
/// them); p50/p99/max in ms.
void wake_latency(bench::report& r, bool hints, long messages, long long shards) {
  auto key = std::string{"cross_node_stored_to_processed_hints_"} + (hints ? "on" : "off");
  auto env = cluster_env(4000);
  env.emplace_back("SWITCHBOARD_CLUSTER_WAKE_HINTS", hints ? "true" : "false");
  test::stack st{bench::bench_stack_options(env)};
  cluster c{st, {}};
  auto db = st.db().connect();
  c.extra.push_back(st.start_node());
  wait_balanced(*db, c, shards);
  auto users = users_of(*db, c.extra.back()->pid(), shards, 50, 7);
  auto prefix = std::string{"wake-"} + (hints ? "on-" : "off-");
  long long acked = 0;
  for (long i = 0; i < messages; ++i) {
    auto res = test::mtn_inbound(st, prefix + std::to_string(i), users[i % users.size()], "hello");
    if (res.status == 200)
      ++acked;
    std::this_thread::sleep_for(50ms);
  }
  bench::wait_until([&] { return bench::db_count(*db, pending_sql) == 0; }, 60s, 100ms);
  check_processed(r, key, *db, prefix, nullptr, acked);
  double p50 = 0, p99 = 0, max = 0;
  *db << "SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY d), 0), "
         "coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY d), 0), coalesce(max(d), 0) FROM "
         "(SELECT extract(epoch FROM processed_at - received_at) * 1000 AS d FROM inbox WHERE "
         "dedupe_key LIKE '"
             + prefix + "%' AND processed_at IS NOT NULL) x",
      soci::into(p50), soci::into(p99), soci::into(max);
  r.value(key + "_p50", p50, "ms");
  r.value(key + "_p99", p99, "ms");
  r.value(key + "_max", max, "ms");
}

/// Lease statements per second per node and for the cluster, over `window`.
void lease_traffic(bench::report& r, const cluster& c, std::chrono::milliseconds window) {
  auto n = c.pids().size();
  auto read = [&] {
    std::vector<double> v;
    for (std::size_t i = 0; i < n; ++i)
      v.push_back(
          bench::scrape_metric(c.metrics_url(i), "switchboard_cluster_lease_statements_total")
              .value_or(-1));
    return v;
  };
  auto before = read();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(window);
  auto after = read();
  auto s = std::chrono::duration<double>(clock_type::now() - t0).count();
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (before[i] < 0 || after[i] < 0)
      throw std::runtime_error("node " + std::to_string(i)
                               + " exports no switchboard_cluster_lease_statements_total");
    auto per_s = (after[i] - before[i]) / s;
    total += per_s;
    r.value("lease_statements_per_s_node_" + std::to_string(i + 1), per_s, "statements/s");
  }
  r.value("lease_statements_per_s_cluster_of_" + std::to_string(n), total, "statements/s");
}

std::vector<long> parse_list(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  std::istringstream in{v && *v ? std::string{v} : fallback};
  std::vector<long> out;
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(std::stol(item));
  return out;
}

} // namespace

int main() {
  return bench::run(
      "cluster",
      "1, 2 and 3 nodes on one PostgreSQL: spread inbound SMS, kill -9 failover, lease traffic",
      [](bench::report& r) {
        auto max_nodes = std::clamp<long>(bench::env_long("SB_BENCH_CLUSTER_NODES", 3), 1, 5);
        auto kills = std::max<long>(0, bench::env_long("SB_BENCH_KILLS", 5));
        auto ttls = parse_list("SB_BENCH_FAILOVER_TTLS_MS", "3000,4000");
        auto rate = bench::env_double("SB_BENCH_FAILOVER_RATE", 20);
        auto window = bench::env_seconds("SB_BENCH_LEASE_WINDOW_S", 10);
        auto drain_limit = bench::env_seconds("SB_BENCH_DRAIN_TIMEOUT_S", 120);
        auto senders = std::max<long>(1, bench::env_long("SB_BENCH_SENDERS", 10000));
        const long long shards = 256; // inbox.shards' default, what a cluster runs with
        r.config("cpus", static_cast<long>(std::thread::hardware_concurrency()));
        r.config("max_nodes", max_nodes);
        r.config("kills", kills);
        r.config("failover_ttls_ms", ttls);
        r.config("failover_background_rate_per_s", rate);
        r.config("senders", senders);
        r.config("shards", shards);
        r.note("every node, the simulator, the load generator and PostgreSQL share this "
               "machine's "
               + std::to_string(std::thread::hardware_concurrency())
               + " cores: more nodes add processes, not cores; the ratios say what a cluster "
                 "costs here, not what more machines would give");

        {
          test::stack st{bench::bench_stack_options(cluster_env(4000))};
          cluster c{st, {}};
          auto db = st.db().connect();
          auto lo = bench::default_load(st.port());
          lo.keep_samples = 16;
          r.config("connections_total", lo.connections);
          r.config("duration_s", lo.duration.count() / 1000.0);
          bench::mtn_requests mtn{st.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET"), senders};
          std::vector<scale_point> points;
          for (long n = 1; n <= max_nodes; ++n) {
            if (n > 1)
              c.extra.push_back(st.start_node());
            wait_balanced(*db, c, shards);
            st.db().admin("CHECKPOINT");
            points.push_back(scale_phase(r, c, *db, lo, mtn, drain_limit));
            auto& one = points.front();
            auto& p = points.back();
            if (n > 1 && one.acks_per_s > 0 && one.processed_per_s > 0) {
              auto k = "nodes_" + std::to_string(n) + "_vs_1_";
              r.value(k + "ack_throughput", p.acks_per_s / one.acks_per_s, "ratio");
              r.value(k + "ack_p50", one.p50 > 0 ? p.p50 / one.p50 : 0, "ratio");
              r.value(k + "ack_p99", one.p99 > 0 ? p.p99 / one.p99 : 0, "ratio");
              r.value(k + "processed_throughput", p.processed_per_s / one.processed_per_s, "ratio");
            }
          }
          lease_traffic(r, c, window);
          for (std::size_t i = 0; i < c.pids().size(); ++i)
            r.memory("node_" + std::to_string(i + 1), bench::read_proc_memory(c.pids()[i]));
        }

        auto wake_messages = std::max<long>(0, bench::env_long("SB_BENCH_WAKE_MESSAGES", 100));
        r.config("wake_messages", wake_messages);
        if (wake_messages > 0) {
          wake_latency(r, true, wake_messages, shards);
          wake_latency(r, false, wake_messages, shards);
        }

        for (auto ttl : ttls)
          if (kills > 0)
            failover_runs(r, ttl, kills, rate, shards);
      });
}
