#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/loadgen.hpp"
#include "tests/support/metrics.hpp"
#include "tests/support/stack.hpp"

namespace soci {
class session;
}

namespace switchboard::bench {

using clock_type = std::chrono::steady_clock;

/// An integer knob from the environment (`SB_BENCH_*`), or `fallback` when unset or invalid.
long env_long(const char* name, long fallback);

/// A non-negative number knob from the environment, or `fallback` when unset or invalid.
double env_double(const char* name, double fallback);

/// A knob in seconds from the environment (fractions allowed), as milliseconds.
std::chrono::milliseconds env_seconds(const char* name, double fallback_s);

/// The closed-loop shape shared by the HTTP benchmarks, from SB_BENCH_CONNECTIONS (64, as the
/// Node peer's own benchmark uses), SB_BENCH_DURATION_S (8), SB_BENCH_WARMUP_S (1) and
/// SB_BENCH_LOADGEN_THREADS (1); an open-loop run (rate_per_s set by the benchmark) opens up to
/// SB_BENCH_MAX_CONNECTIONS (512).
load_options default_load(uint16_t port);

/// Resident memory of a process from /proc/PID/status, in KiB.
struct proc_memory {
  long rss_kb = 0; ///< VmRSS: resident now
  long hwm_kb = 0; ///< VmHWM: peak resident so far
};

/// Reads VmRSS and VmHWM of `pid` (0 = this process); zeros when the process is gone.
proc_memory read_proc_memory(pid_t pid = 0);

/// CPU time (user + system) a process has used so far, in seconds (0 = this process).
double read_proc_cpu_s(pid_t pid = 0);

/// Sum of the samples of a metric in Prometheus text (tests/support/metrics.hpp).
using test::metric_value;

/// GETs `url` (a /metrics endpoint) and reads one metric as metric_value() does.
std::optional<double> scrape_metric(const std::string& url, std::string_view name,
                                    const std::vector<std::pair<std::string, std::string>>& labels
                                    = {});

/// Polls `pred` every `poll` until it holds or `limit` passes; returns whether it held.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds poll = std::chrono::milliseconds{100});

/// A private stack (scratch database, simulator, server) configured for benchmarks: log level
/// warn (the access log would otherwise be the load), bench routes on, no per-key API limit (the
/// load comes from one key), the production defaults for the pool and retries; `extra` overrides
/// any SWITCHBOARD_* variable.
test::stack_options bench_stack_options(std::vector<std::pair<std::string, std::string>> extra
                                        = {});

/// Results of one benchmark: printed as they come, and written as JSON to $SB_BENCH_OUT when
/// set (scripts/bench merges these files into bench-results/).
class report {
public:
  /// A report for benchmark `name`, which measures `what`.
  explicit report(std::string name, std::string what = {});

  /// The benchmark's name (also its JSON key).
  const std::string& name() const { return name_; }
  /// A parameter of the run (connections, N, durations...).
  void config(const std::string& key, nlohmann::ordered_json value);
  /// An HTTP phase (closed or open loop) with the server's memory at its end and the server CPU
  /// time it cost per answered request; its counts are checked to balance (see check()).
  void load(const std::string& phase, const std::string& what, const load_options& opts,
            const load_result& r, std::optional<proc_memory> server,
            std::optional<double> server_cpu_us_per_request = std::nullopt);
  /// An in-process phase: operations, their elapsed time and latency distribution.
  void timing(const std::string& phase, const std::string& what, uint64_t ops, double elapsed_s,
              const latency_summary& lat, std::optional<proc_memory> memory);
  /// A named figure (a ratio, a drain time, bytes per actor...).
  void value(const std::string& key, double v, const std::string& unit);
  /// Memory of a process at the end of the benchmark ("server", "self").
  void memory(const std::string& who, proc_memory m);
  /// A remark for the reader (what was not measured, a surprising count).
  void note(const std::string& text);
  /// Records a count check of `phase`: `actual` must lie in [expected, expected +
  /// allowed_excess]. When it does not, the report is void: its numbers are not to be trusted.
  /// That is printed loudly and recorded in the JSON, but is not a failure to run. Returns
  /// whether the check held.
  bool check(const std::string& phase, const std::string& what, long long actual,
             long long expected, long long allowed_excess = 0);
  /// Whether a check failed.
  bool is_void() const { return !void_reasons_.empty(); }
  /// The checks that failed, one line each.
  const std::vector<std::string>& void_reasons() const { return void_reasons_; }
  /// Marks the benchmark as failed to run (a broken setup, not a slow number).
  void fail(const std::string& why);
  /// Whether fail() was called.
  bool failed() const { return !error_.empty(); }
  /// Everything recorded so far, keys in the order they were recorded.
  nlohmann::ordered_json to_json() const;

private:
  std::string name_;
  std::string what_;
  std::string error_;
  nlohmann::ordered_json config_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json phases_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json values_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json memory_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json notes_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json checks_ = nlohmann::ordered_json::array();
  std::vector<std::string> void_reasons_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

/// Runs a load phase against a server process: an unrecorded warm-up of opts.warmup (skipped for
/// counted runs, opts.max_requests > 0), then the measured run; reports it with the server's
/// memory and CPU per answered request, and returns it. Sequence numbers continue across the
/// warm-up, so ids built from them stay unique; `warmup_source`, when given, builds the warm-up's
/// requests instead (e.g. with another id prefix, so that its rows can be told apart).
load_result measure(report& r, const std::string& phase, const std::string& what,
                    const load_options& opts, const request_source& source, pid_t server_pid,
                    const request_source* warmup_source = nullptr);

/// The baseline of a run: `GET /bench/static` on the same server (server.bench_routes), measured
/// as phase "static" and checked to answer 200.
load_result measure_static(report& r, const load_options& opts, pid_t server_pid,
                           const std::string& what = "GET /bench/static");

/// Runs one benchmark: prints its header, calls `body`, turns an exception into fail(), writes
/// the JSON and returns the process exit code (non-zero when it failed to run).
int run(const std::string& name, const std::string& what, const std::function<void(report&)>& body);

/// Fails the report when no request of a phase was accepted, or a kept sample answer had
/// another status than `status` (a benchmark must measure the path it claims to).
void check_samples(report& r, const std::string& phase, const load_result& res, int status);

/// Checks that a phase stored one row per 2xx answer: `rows` may exceed count_2xx() only by the
/// requests whose outcome the generator did not see (in flight at stop, transport errors), which
/// the server may still have committed. A mismatch makes the report void.
bool check_rows(report& r, const std::string& phase, const load_result& res, long long rows);

/// Signed MTN inbound SMS for one server: `{"from","to","message","id"}`, X-MTN-Signature over
/// the raw body, senders cycling over `senders` numbers from +`first_sender`.
struct mtn_requests {
  std::string secret;
  long senders = 1;
  long long first_sender = 250780000000LL;

  /// The body of request `seq` with provider id `id`.
  std::string body(const std::string& id, uint64_t seq) const;
  /// Requests whose ids are `<id_prefix><seq>`.
  request_source source(const std::string& id_prefix) const;
};

/// The integer a one-value SQL query returns.
long long db_count(soci::session& sql, const std::string& query);

} // namespace switchboard::bench
