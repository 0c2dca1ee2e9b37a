#include "bench/harness.hpp"

#include <soci/soci.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "providers/mtn/signature.hpp"
#include "tests/support/http_client.hpp"

namespace switchboard::bench {

using json = nlohmann::ordered_json;

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0')
    return fallback;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  return end != nullptr && *end == '\0' && n >= 0 ? n : fallback;
}

double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0')
    return fallback;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  return end != nullptr && *end == '\0' && d >= 0 ? d : fallback;
}

std::chrono::milliseconds env_seconds(const char* name, double fallback_s) {
  return std::chrono::milliseconds{static_cast<long>(env_double(name, fallback_s) * 1000.0)};
}

load_options default_load(uint16_t port) {
  load_options o;
  o.port = port;
  o.connections = static_cast<std::size_t>(env_long("SB_BENCH_CONNECTIONS", 64));
  o.duration = env_seconds("SB_BENCH_DURATION_S", 8);
  o.warmup = env_seconds("SB_BENCH_WARMUP_S", 1);
  o.threads = static_cast<std::size_t>(env_long("SB_BENCH_LOADGEN_THREADS", 1));
  o.max_connections = static_cast<std::size_t>(env_long("SB_BENCH_MAX_CONNECTIONS", 512));
  return o;
}

proc_memory read_proc_memory(pid_t pid) {
  proc_memory m;
  std::ifstream in{pid == 0 ? std::string{"/proc/self/status"}
                            : "/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line)) {
    auto field = [&](const char* key, long& out) {
      std::string k{key};
      if (line.compare(0, k.size(), k) == 0)
        out = std::strtol(line.c_str() + k.size(), nullptr, 10);
    };
    field("VmRSS:", m.rss_kb);
    field("VmHWM:", m.hwm_kb);
  }
  return m;
}

double read_proc_cpu_s(pid_t pid) {
  std::ifstream in{pid == 0 ? std::string{"/proc/self/stat"}
                            : "/proc/" + std::to_string(pid) + "/stat"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  auto paren = text.rfind(')');
  if (paren == std::string::npos)
    return 0;
  std::istringstream fields{text.substr(paren + 2)};
  std::string skip;
  for (int i = 3; i < 14; ++i)
    fields >> skip;
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

namespace {

std::string human_kb(long kb) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(kb) / 1024.0);
  return buf;
}

json latency_json(const latency_summary& l) {
  return {{"p50", l.p50},   {"p90", l.p90}, {"p99", l.p99},
          {"p999", l.p999}, {"max", l.max}, {"mean", l.mean}};
}

json memory_json(const proc_memory& m) {
  return {{"rss_kb", m.rss_kb}, {"peak_rss_kb", m.hwm_kb}};
}

void print_latency_line(double per_s, const char* unit, const latency_summary& l) {
  std::printf("      %12.1f %s   p50 %.3f ms   p99 %.3f ms   p999 %.3f ms   max %.3f ms\n", per_s,
              unit, l.p50, l.p99, l.p999, l.max);
}

} // namespace

std::optional<double>
scrape_metric(const std::string& url, std::string_view name,
              const std::vector<std::pair<std::string, std::string>>& labels) {
  auto res = test::http_get(url);
  if (res.status != 200)
    return std::nullopt;
  return metric_value(res.body, name, labels);
}

void check_samples(report& r, const std::string& phase, const load_result& res, int status) {
  if (res.count_2xx() == 0) {
    r.fail(phase + ": no request was accepted");
    return;
  }
  for (auto& s : res.samples)
    if (s.status != status) {
      r.fail(phase + ": answer " + std::to_string(s.seq) + " was " + std::to_string(s.status)
             + " (expected " + std::to_string(status) + "): " + s.body.substr(0, 200));
      return;
    }
}

bool check_rows(report& r, const std::string& phase, const load_result& res, long long rows) {
  auto unknown = res.in_flight_at_stop + res.errors;
  return r.check(phase,
                 "rows stored = 2xx answers (+ up to " + std::to_string(res.in_flight_at_stop)
                     + " in flight at stop + " + std::to_string(res.errors) + " transport errors)",
                 rows, static_cast<long long>(res.count_2xx()), static_cast<long long>(unknown));
}

long long db_count(soci::session& sql, const std::string& query) {
  long long n = 0;
  sql << query, soci::into(n);
  return n;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

test::stack_options bench_stack_options(std::vector<std::pair<std::string, std::string>> extra) {
  test::stack_options o;
  o.env = {
      {"SWITCHBOARD_LOG_LEVEL", "warn"},
      {"SWITCHBOARD_SERVER_BENCH_ROUTES", "true"},
      {"SWITCHBOARD_DATABASE_POOL_SIZE", "6"},
      {"SWITCHBOARD_STORAGE_INGEST_WORKERS", "2"},
      {"SWITCHBOARD_RETRY_BASE_MS", "500"},
      {"SWITCHBOARD_RETRY_MAX_DELAY_MS", "30000"},
      {"SWITCHBOARD_RETRY_HORIZON_S", "300"},
      // The load comes from one voice/API key: its per-key limit (api.rate_per_s, 20/s by
      // default) would measure the limiter, not the route. Flood limits are tested in the e2e tier.
      {"SWITCHBOARD_API_RATE_PER_S", "0"},
  };
  for (auto& kv : extra)
    o.env.push_back(std::move(kv));
  // SB_BENCH_SERVER_ENV="SWITCHBOARD_X=1 SWITCHBOARD_Y=2" overrides the server's settings of
  // every benchmark (experiments; scripts/bench records it in the JSON).
  if (auto more = std::getenv("SB_BENCH_SERVER_ENV")) {
    std::string all = more, item;
    std::istringstream words{all};
    while (words >> item)
      if (auto eq = item.find('='); eq != std::string::npos && eq > 0)
        o.env.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return o;
}

report::report(std::string name, std::string what)
    : name_(std::move(name)), what_(std::move(what)) {}

void report::config(const std::string& key, json value) {
  config_[key] = std::move(value);
}

void report::load(const std::string& phase, const std::string& what, const load_options& opts,
                  const load_result& r, std::optional<proc_memory> server,
                  std::optional<double> server_cpu_us_per_request) {
  json statuses = json::object();
  for (auto& [k, v] : r.statuses)
    statuses[std::to_string(k)] = v;
  auto& sched = r.schedule;
  json p{{"phase", phase},
         {"what", what},
         {"kind", "http"},
         {"loop", sched ? "open" : "closed"},
         {"connections", opts.connections},
         {"duration_s", r.elapsed_s},
         {"issued", r.issued},
         {"requests", r.answered},
         {"errors", r.errors},
         {"in_flight_at_stop", r.in_flight_at_stop},
         {"error_kinds", r.error_kinds},
         {"statuses", statuses},
         {"throughput_per_s", r.throughput},
         {"latency_from", sched ? "scheduled" : "send"},
         {"latency_ms", latency_json(r.latency)}};
  if (sched) {
    p["latency_from_send_ms"] = latency_json(sched->from_send);
    p["open_loop"] = {{"rate_per_s", sched->rate_per_s},
                      {"due", sched->scheduled},
                      {"unsent", sched->unsent},
                      {"sent_after_waiting_for_a_connection", sched->sent_late},
                      {"achieved_per_s", sched->achieved_per_s},
                      {"connections_used", sched->connections},
                      {"max_connections", std::max(opts.max_connections, opts.connections)},
                      {"schedule_kept", sched->kept()}};
  }
  if (server)
    p["server"] = memory_json(*server);
  if (server_cpu_us_per_request)
    p["server_cpu_us_per_request"] = *server_cpu_us_per_request;
  phases_.push_back(p);
  if (sched)
    std::printf("  %-22s %s  (open loop at %.1f/s, %.1f s)\n", phase.c_str(), what.c_str(),
                sched->rate_per_s, r.elapsed_s);
  else
    std::printf("  %-22s %s  (%zu connections, %.1f s)\n", phase.c_str(), what.c_str(),
                opts.connections, r.elapsed_s);
  print_latency_line(r.throughput, "req/s", r.latency);
  if (sched) {
    auto& f = sched->from_send;
    std::printf("      (latency from the scheduled time; from the write: p50 %.3f ms   p99 %.3f ms"
                "   p999 %.3f ms)\n",
                f.p50, f.p99, f.p999);
    std::printf("      schedule: %llu due, %llu sent (%.1f/s), %llu after waiting for a "
                "connection, %llu unsent; %zu connections used\n",
                static_cast<unsigned long long>(sched->scheduled),
                static_cast<unsigned long long>(r.issued), sched->achieved_per_s,
                static_cast<unsigned long long>(sched->sent_late),
                static_cast<unsigned long long>(sched->unsent), sched->connections);
  }
  std::string st;
  for (auto& [k, v] : r.statuses)
    st += " " + std::to_string(k) + ":" + std::to_string(v);
  std::printf("      statuses%s   transport errors %llu", st.empty() ? " none" : st.c_str(),
              static_cast<unsigned long long>(r.errors));
  if (server)
    std::printf("   server RSS %s (peak %s)", human_kb(server->rss_kb).c_str(),
                human_kb(server->hwm_kb).c_str());
  if (server_cpu_us_per_request)
    std::printf("   server CPU %.1f us/req", *server_cpu_us_per_request);
  std::printf("\n");
  for (auto& [k, v] : r.error_kinds)
    std::printf("      error %s x%llu\n", k.c_str(), static_cast<unsigned long long>(v));
  std::fflush(stdout);
  auto n = [](uint64_t v) { return std::to_string(v); };
  check(phase,
        "issued = answered + errors + in flight at stop (" + n(r.answered) + " + " + n(r.errors)
            + " + " + n(r.in_flight_at_stop) + ")",
        static_cast<long long>(r.issued),
        static_cast<long long>(r.answered + r.errors + r.in_flight_at_stop));
  if (sched) {
    check(phase, "due = sent + unsent (" + n(r.issued) + " + " + n(sched->unsent) + ")",
          static_cast<long long>(sched->scheduled),
          static_cast<long long>(r.issued + sched->unsent));
    if (!sched->kept()) {
      char rate[32];
      std::snprintf(rate, sizeof(rate), "%.1f/s", sched->rate_per_s);
      note(phase + ": SCHEDULE NOT KEPT at " + rate + ": " + n(sched->unsent) + " of "
           + n(sched->scheduled) + " due requests were never sent (all "
           + n(std::max(opts.max_connections, opts.connections))
           + " connections busy); its latency leaves them out");
    }
  }
}

void report::timing(const std::string& phase, const std::string& what, uint64_t ops,
                    double elapsed_s, const latency_summary& lat,
                    std::optional<proc_memory> memory) {
  double per_s = elapsed_s > 0 ? static_cast<double>(ops) / elapsed_s : 0;
  json p{{"phase", phase},
         {"what", what},
         {"kind", "inproc"},
         {"duration_s", elapsed_s},
         {"requests", ops},
         {"errors", 0},
         {"throughput_per_s", per_s},
         {"latency_ms", latency_json(lat)}};
  if (memory)
    p["self"] = memory_json(*memory);
  phases_.push_back(p);
  std::printf("  %-22s %s  (%llu ops, %.1f s)\n", phase.c_str(), what.c_str(),
              static_cast<unsigned long long>(ops), elapsed_s);
  print_latency_line(per_s, "op/s ", lat);
  if (memory)
    std::printf("      process RSS %s (peak %s)\n", human_kb(memory->rss_kb).c_str(),
                human_kb(memory->hwm_kb).c_str());
  std::fflush(stdout);
}

void report::value(const std::string& key, double v, const std::string& unit) {
  values_[key] = {{"value", v}, {"unit", unit}};
  std::printf("  %-40s %14.3f %s\n", key.c_str(), v, unit.c_str());
  std::fflush(stdout);
}

void report::memory(const std::string& who, proc_memory m) {
  memory_[who] = memory_json(m);
  std::printf("  %-40s RSS %s, peak %s\n", (who + " memory").c_str(), human_kb(m.rss_kb).c_str(),
              human_kb(m.hwm_kb).c_str());
  std::fflush(stdout);
}

void report::note(const std::string& text) {
  notes_.push_back(text);
  std::printf("  note: %s\n", text.c_str());
  std::fflush(stdout);
}

bool report::check(const std::string& phase, const std::string& what, long long actual,
                   long long expected, long long allowed_excess) {
  bool ok = actual >= expected && actual <= expected + allowed_excess;
  json c{{"phase", phase},
         {"check", what},
         {"actual", actual},
         {"expected", expected},
         {"allowed_excess", allowed_excess},
         {"ok", ok}};
  checks_.push_back(c);
  std::string range = std::to_string(expected);
  if (allowed_excess > 0)
    range += " to " + std::to_string(expected + allowed_excess);
  if (ok) {
    std::printf("      check ok: %s: %lld (%s)\n", what.c_str(), actual, range.c_str());
  } else {
    void_reasons_.push_back(phase + ": " + what + ": " + std::to_string(actual) + ", expected "
                            + range);
    std::printf("  VOID: %s\n", void_reasons_.back().c_str());
  }
  std::fflush(stdout);
  return ok;
}

void report::fail(const std::string& why) {
  if (error_.empty())
    error_ = why;
  else
    error_ += "; " + why;
  std::printf("  FAILED: %s\n", why.c_str());
  std::fflush(stdout);
}

json report::to_json() const {
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_);
  json j{
      {"benchmark", name_},        {"what", what_},     {"ok", error_.empty()}, {"void", is_void()},
      {"wall_s", elapsed.count()}, {"config", config_}, {"phases", phases_},    {"values", values_},
      {"memory", memory_},         {"notes", notes_},   {"checks", checks_}};
  if (is_void())
    j["void_reasons"] = void_reasons_;
  if (!error_.empty())
    j["error"] = error_;
  return j;
}

load_result measure(report& r, const std::string& phase, const std::string& what,
                    const load_options& opts, const request_source& source, pid_t server_pid,
                    const request_source* warmup_source) {
  auto o = opts;
  uint64_t base = 0; // sequence numbers stay unique across the warm-up and the measured run
  if (o.warmup.count() > 0 && o.max_requests == 0) {
    auto w = o;
    w.duration = o.warmup;
    w.warmup = std::chrono::milliseconds{0};
    base = run_load(w, warmup_source != nullptr ? *warmup_source : source).sequences;
  }
  o.warmup = std::chrono::milliseconds{0};
  auto cpu0 = read_proc_cpu_s(server_pid);
  auto res = run_load(o, [&source, base](uint64_t seq) { return source(base + seq); });
  auto cpu1 = read_proc_cpu_s(server_pid);
  std::optional<double> cpu_per_req;
  if (res.answered > 0)
    cpu_per_req = (cpu1 - cpu0) * 1e6 / static_cast<double>(res.answered);
  r.load(phase, what, o, res, read_proc_memory(server_pid), cpu_per_req);
  return res;
}

load_result measure_static(report& r, const load_options& opts, pid_t server_pid,
                           const std::string& what) {
  auto res = measure(
      r, "static", what, opts,
      [](uint64_t) {
        load_request q;
        q.target = "/bench/static";
        return q;
      },
      server_pid);
  check_samples(r, "static", res, 200);
  return res;
}

int run(const std::string& name, const std::string& what,
        const std::function<void(report&)>& body) {
  report r{name, what};
  std::printf("== %s: %s\n", name.c_str(), what.c_str());
  std::fflush(stdout);
  try {
    body(r);
  } catch (const std::exception& e) {
    r.fail(e.what());
  }
  if (r.is_void()) {
    std::printf("  ==== VOID: %s: counts did not balance; do not use these numbers ====\n",
                name.c_str());
    for (auto& why : r.void_reasons())
      std::printf("       %s\n", why.c_str());
    std::fflush(stdout);
  }
  auto j = r.to_json();
  if (const char* out = std::getenv("SB_BENCH_OUT"); out != nullptr && *out != '\0') {
    std::ofstream f{out};
    f << j.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "%s: cannot write %s\n", name.c_str(), out);
      return 1;
    }
  }
  return r.failed() ? 1 : 0;
}

std::string mtn_requests::body(const std::string& id, uint64_t seq) const {
  auto sender = std::to_string(first_sender + static_cast<long long>(seq) % senders);
  return R"({"from":"+)" + sender + R"(","to":"SWITCHBRD","message":"Hello, about my order )"
         + std::to_string(seq) + R"(: when will it arrive?","id":")" + id + R"("})";
}

request_source mtn_requests::source(const std::string& id_prefix) const {
  return [self = *this, id_prefix](uint64_t seq) {
    load_request q;
    q.method = "POST";
    q.target = "/webhooks/sms/mtn";
    q.body = self.body(id_prefix + std::to_string(seq), seq);
    q.headers.emplace_back("X-MTN-Signature", providers::mtn_signature(self.secret, q.body));
    return q;
  };
}

} // namespace switchboard::bench
