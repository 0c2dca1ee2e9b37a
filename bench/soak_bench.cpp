// Soak: signed MTN inbound SMS at a fixed rate (a fraction of the measured peak, or a given rate)
// for minutes to hours against one server, one line per interval with the server's RSS and open
// descriptors, table rows and latency percentiles; fails (exit 3) when a bounded series grows
// without bound (a linear fit over the second half rises more than a threshold) or the counts do
// not balance (an interval's 2xx answers not all stored). Run by scripts/soak, which sets
// SB_SOAK_MINUTES; scripts/bench, running every *_bench, gets a note that it was skipped.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "bench/harness.hpp"
#include "providers/mtn/signature.hpp"

namespace {

using namespace switchboard;
using bench::clock_type;

/// Slope (per second) of the least-squares line through (t, v).
double slope(const std::vector<double>& t, const std::vector<double>& v) {
  auto n = static_cast<double>(t.size());
  if (t.size() < 2)
    return 0;
  double st = 0, sv = 0, stt = 0, stv = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    st += t[i];
    sv += v[i];
    stt += t[i] * t[i];
    stv += t[i] * v[i];
  }
  auto den = n * stt - st * st;
  return den == 0 ? 0 : (n * stv - st * sv) / den;
}

/// One measured series and how much it may grow over the second half of the run: at most
/// max(`pct` of its second-half mean, `floor`) by the linear fit.
struct series {
  std::string name;
  std::string unit;
  double pct;
  double floor;
  bool bounded; ///< checked; unbounded series are only reported
  std::vector<double> t, v;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{s};
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

int main() {
  bool soak_failed = false;
  auto rc = bench::run(
      "soak",
      "signed MTN inbound SMS at a fixed rate for minutes to hours: RSS, fds, table rows and "
      "latency per interval; fails when a bounded series grows or counts do not balance",
      [&](bench::report& r) {
        auto minutes = bench::env_double("SB_SOAK_MINUTES", 0);
        if (minutes <= 0) {
          r.note("skipped: the soak runs from scripts/soak (SB_SOAK_MINUTES unset)");
          std::printf("  skipped: run scripts/soak\n");
          return;
        }
        auto total = std::chrono::milliseconds{static_cast<long>(minutes * 60000)};
        auto interval = bench::env_seconds("SB_SOAK_INTERVAL_S", minutes > 60 ? 60 : 10);
        // The inbox keeps processed rows this long, so that it levels off within the run; long
        // enough that an interval's rows are all still there when they are counted after it.
        auto retention_s = std::max<long>(bench::env_long("SB_SOAK_RETENTION_S", 60),
                                          static_cast<long>(3 * interval.count() / 1000));
        auto senders = std::max<long>(1, bench::env_long("SB_SOAK_SENDERS", 1000));
        auto fraction = bench::env_double("SB_SOAK_FRACTION", 0.25);
        auto rate = bench::env_double("SB_SOAK_RATE", 0);
        auto rss_pct = bench::env_double("SB_SOAK_RSS_GROWTH_PCT", 10) / 100;
        auto rss_floor_kb = bench::env_double("SB_SOAK_RSS_GROWTH_FLOOR_MB", 16) * 1024;
        auto fd_floor = bench::env_double("SB_SOAK_FD_GROWTH_FLOOR", 8);
        auto row_pct = bench::env_double("SB_SOAK_ROW_GROWTH_PCT", 20) / 100;
        auto row_floor = bench::env_double("SB_SOAK_ROW_GROWTH_FLOOR", 500);
        const char* bounded_env = std::getenv("SB_SOAK_BOUNDED_TABLES");
        auto bounded_tables = split_list(
            bounded_env != nullptr ? bounded_env : "inbox,profiles,omnichannel_sessions");
        const std::vector<std::string> tables{"inbox", "message_delivery_log", "profiles",
                                              "omnichannel_sessions", "processed_webhooks"};

        test::stack st{bench::bench_stack_options(
            {{"SWITCHBOARD_INBOX_RETENTION_S", std::to_string(retention_s)},
             {"SWITCHBOARD_SESSION_SWEEP_INTERVAL_S", "5"}})};
        auto pid = st.server().pid();
        auto db = st.db().connect();
        auto secret = st.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET");
        // Request `seq` of a run whose first request is number `base` of the soak: senders cycle
        // over the whole soak, not over each interval.
        auto source = [secret, senders](const std::string& prefix, uint64_t base = 0) {
          return [secret, senders, prefix, base](uint64_t seq) {
            bench::load_request q;
            q.method = "POST";
            q.target = "/webhooks/sms/mtn";
            auto sender
                = std::to_string(250780000000LL + static_cast<long long>(base + seq) % senders);
            q.body = R"({"from":"+)" + sender
                     + R"(","to":"SWITCHBRD","message":"Hello, about my order: when will it )"
                       R"(arrive?","id":")"
                     + prefix + std::to_string(seq) + R"("})";
            q.headers.emplace_back("X-MTN-Signature", providers::mtn_signature(secret, q.body));
            return q;
          };
        };

        auto lo = bench::default_load(st.port());
        lo.warmup = std::chrono::milliseconds{0};
        if (rate <= 0) {
          // The peak: a short closed loop; the soak runs at a fraction of it.
          auto peak_lo = lo;
          peak_lo.duration = bench::env_seconds("SB_SOAK_PEAK_S", 5);
          auto peak = bench::run_load(peak_lo, source("soak-peak-"));
          r.load("peak", "closed loop, to take a fraction of", peak_lo, peak,
                 bench::read_proc_memory(pid));
          rate = peak.throughput * fraction;
          std::printf("  peak %.0f/s closed loop; soaking at %.0f%% = %.1f/s\n", peak.throughput,
                      fraction * 100, rate);
          if (rate <= 0)
            throw std::runtime_error("no peak throughput to take a fraction of");
        }
        lo.rate_per_s = rate;
        lo.duration = interval;
        lo.connections = std::min<std::size_t>(lo.connections, 16);
        r.config("minutes", minutes);
        r.config("interval_s", interval.count() / 1000.0);
        r.config("rate_per_s", rate);
        r.config("senders", senders);
        r.config("inbox_retention_s", retention_s);
        r.config("bounded_tables", bounded_tables);

        std::vector<series> all{{"rss", "kB", rss_pct, rss_floor_kb, true, {}, {}},
                                {"fds", "", 0.10, fd_floor, true, {}, {}},
                                {"pending", "rows", 0, row_floor, true, {}, {}}};
        for (auto& t : tables)
          all.push_back(
              {t,
               "rows",
               row_pct,
               row_floor,
               std::find(bounded_tables.begin(), bounded_tables.end(), t) != bounded_tables.end(),
               {},
               {}});
        auto add = [&](const std::string& name, double t, double v) {
          for (auto& s : all)
            if (s.name == name) {
              s.t.push_back(t);
              s.v.push_back(v);
            }
        };
        std::printf("  %6s %7s %6s %6s %5s %8s %8s %8s %9s %5s %8s %8s %9s %8s %8s\n", "t_s",
                    "sent", "2xx", "non2xx", "err", "p50_ms", "p99_ms", "max_ms", "rss_MB", "fds",
                    "pending", "inbox", "log", "profiles", "sessions");
        auto started = clock_type::now();
        uint64_t sent = 0, ok = 0;
        long long imbalance = 0;
        bench::latency_summary worst;
        nlohmann::ordered_json intervals = nlohmann::ordered_json::array();
        for (int i = 0; clock_type::now() - started < total; ++i) {
          auto prefix = "soak-" + std::to_string(i) + "-";
          auto res = bench::run_load(lo, source(prefix, sent));
          sent += res.issued;
          ok += res.count_2xx();
          // Every 2xx of the interval is stored (retention purges only what is older than the
          // interval: processed and past the horizon).
          auto rows = bench::db_count(*db, "SELECT count(*) FROM inbox WHERE source = 'mtn' AND "
                                           "dedupe_key LIKE '"
                                               + prefix + "%'");
          auto ok_rows = static_cast<long long>(res.count_2xx());
          if (rows < ok_rows
              || rows > ok_rows + static_cast<long long>(res.errors + res.in_flight_at_stop)) {
            bench::check_rows(r, "interval " + std::to_string(i), res, rows); // records it: VOID
            ++imbalance;
          }
          auto t = std::chrono::duration<double>(clock_type::now() - started).count();
          auto mem = bench::read_proc_memory(pid);
          auto fds = test::open_fd_count(pid);
          add("rss", t, mem.rss_kb);
          add("fds", t, fds);
          auto pending
              = bench::db_count(*db, "SELECT count(*) FROM inbox WHERE processed_at IS NULL");
          add("pending", t, static_cast<double>(pending));
          std::map<std::string, long long> n;
          for (auto& table : tables) {
            n[table] = bench::db_count(*db, "SELECT count(*) FROM " + table);
            add(table, t, static_cast<double>(n[table]));
          }
          intervals.push_back({{"t_s", t},
                               {"sent", res.issued},
                               {"ok", res.count_2xx()},
                               {"errors", res.errors + res.in_flight_at_stop},
                               {"p50_ms", res.latency.p50},
                               {"p99_ms", res.latency.p99},
                               {"max_ms", res.latency.max},
                               {"rss_kb", mem.rss_kb},
                               {"fds", fds},
                               {"pending", pending},
                               {"rows", n}});
          worst.p99 = std::max(worst.p99, res.latency.p99);
          worst.max = std::max(worst.max, res.latency.max);
          std::printf("  %6.0f %7llu %6llu %6llu %5llu %8.2f %8.2f %8.2f %9.1f %5d %8lld %8lld "
                      "%9lld %8lld %8lld%s\n",
                      t, static_cast<unsigned long long>(res.issued),
                      static_cast<unsigned long long>(res.count_2xx()),
                      static_cast<unsigned long long>(res.answered - res.count_2xx()),
                      static_cast<unsigned long long>(res.errors + res.in_flight_at_stop),
                      res.latency.p50, res.latency.p99, res.latency.max, mem.rss_kb / 1024.0, fds,
                      pending, n["inbox"], n["message_delivery_log"], n["profiles"],
                      n["omnichannel_sessions"],
                      res.schedule && !res.schedule->kept() ? "  SCHEDULE NOT KEPT" : "");
          std::fflush(stdout);
          if (!st.server().running())
            throw std::runtime_error("the server died during the soak");
        }
        r.value("requests", static_cast<double>(sent), "requests");
        r.value("answered_2xx", static_cast<double>(ok), "requests");
        r.value("worst_interval_p99", worst.p99, "ms");
        r.value("worst_max", worst.max, "ms");
        r.memory("server", bench::read_proc_memory(pid));

        // Growth over the second half, by a linear fit.
        nlohmann::ordered_json growth_json = nlohmann::ordered_json::object();
        std::printf("  growth over the second half (linear fit; limit max(pct of mean, floor)):\n");
        for (auto& s : all) {
          std::vector<double> t, v;
          for (std::size_t k = s.t.size() / 2; k < s.t.size(); ++k) {
            t.push_back(s.t[k]);
            v.push_back(s.v[k]);
          }
          if (t.size() < 2) {
            std::printf("    %-22s too few intervals to fit\n", s.name.c_str());
            continue;
          }
          double mean = 0;
          for (auto x : v)
            mean += x;
          mean /= static_cast<double>(v.size());
          auto growth = slope(t, v) * (t.back() - t.front());
          auto limit = std::max(s.pct * mean, s.floor);
          bool over = growth > limit;
          growth_json[s.name] = {{"growth", growth},
                                 {"limit", limit},
                                 {"unit", s.unit},
                                 {"checked", s.bounded},
                                 {"mean", mean}};
          std::printf("    %-22s %+12.1f %-4s (limit %.1f)%s\n", s.name.c_str(), growth,
                      s.unit.c_str(), limit,
                      !s.bounded ? "  not checked (not in SB_SOAK_BOUNDED_TABLES)"
                      : over     ? "  GROWS"
                                 : "  ok");
          if (s.bounded && over) {
            soak_failed = true;
            r.note(s.name + " grew by " + std::to_string(growth) + " " + s.unit
                   + " over the second half (limit " + std::to_string(limit) + ")");
          }
        }
        r.config("growth_over_second_half", growth_json);
        r.config("intervals", intervals);
        if (imbalance > 0) {
          soak_failed = true;
          r.note(std::to_string(imbalance) + " intervals whose 2xx answers were not all stored");
        }
        std::printf("  %s: %llu requests, %llu 2xx, %lld unbalanced intervals\n",
                    soak_failed ? "FAILED" : "passed", static_cast<unsigned long long>(sent),
                    static_cast<unsigned long long>(ok), imbalance);
      });
  if (rc != 0)
    return rc;
  return soak_failed ? 3 : 0;
}
