#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::bench {

/// One request of a load run, produced per request so each can carry a unique id and its own
/// signature.
struct load_request {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json"; ///< sent when the body is not empty
};

/// Produces request number `seq` (0, 1, 2...). Called on the generator's I/O threads; must be
/// thread-safe when load_options::threads > 1.
using request_source = std::function<load_request(uint64_t seq)>;

/// Shape of a run. Closed loop (rate_per_s = 0): `connections` keep-alive connections, each
/// sending its next request when the previous answer has arrived. Open loop (rate_per_s > 0):
/// requests scheduled every 1/rate_per_s seconds and handed to an idle connection; when none is
/// idle another is opened, up to max_connections, and past that a request waits for the next
/// free one. Latency then runs from the scheduled time, so a slow server shows as latency (and
/// as requests left unsent at the end), never as a lower offered rate.
struct load_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::size_t connections = 16; ///< closed loop: the connections; open loop: opened up front
  std::chrono::milliseconds duration{10000}; ///< measured window (after the warm-up)
  std::chrono::milliseconds warmup{0};       ///< answers in this first stretch are not recorded
  uint64_t max_requests = 0;                 ///< stop after issuing this many (0 = no limit)
  std::chrono::milliseconds request_timeout{30000};
  /// After the window, how long requests still in flight may answer before the generator stops
  /// and counts them as in flight at stop.
  std::chrono::milliseconds drain{5000};
  double rate_per_s = 0;             ///< open loop: requests per second (0 = closed loop)
  std::size_t max_connections = 512; ///< open loop: cap on connections (at least `connections`)
  std::size_t threads = 1;           ///< I/O threads of the generator
  std::size_t keep_samples = 8;      ///< first recorded answers kept whole, for checks
};

/// Latency percentiles of the recorded requests, in milliseconds.
struct latency_summary {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

/// One answer kept for inspection.
struct response_sample {
  uint64_t seq = 0;
  int status = 0;
  std::string body;
};

/// What an open-loop run did with its schedule.
struct schedule_result {
  double rate_per_s = 0;       ///< the rate asked for
  uint64_t scheduled = 0;      ///< requests due in the measured window
  uint64_t unsent = 0;         ///< due in the window but never sent: the connection cap was hit
  uint64_t sent_late = 0;      ///< sent, but after waiting for a free connection (cap reached)
  double achieved_per_s = 0;   ///< requests issued per second of the window
  std::size_t connections = 0; ///< connections it needed (opened up front + on demand)
  latency_summary from_send;   ///< latency from the first byte written (without the queueing)
  /// Whether every request due in the window was sent.
  bool kept() const { return unsent == 0; }
};

/// What a run measured. Counts are of the requests issued in the measured window, and balance:
/// issued = answered + errors + in_flight_at_stop. Closed loop: latency runs from the first byte
/// written to the last byte read (a reconnect is not part of it); open loop: from the scheduled
/// time (queueing for a connection and connecting included).
struct load_result {
  uint64_t issued = 0;            ///< requests handed to a connection in the window
  uint64_t answered = 0;          ///< answers with any status
  uint64_t errors = 0;            ///< transport errors and timeouts
  uint64_t in_flight_at_stop = 0; ///< no answer nor error when the generator stopped
  std::map<int, uint64_t> statuses;
  std::map<std::string, uint64_t> error_kinds;
  uint64_t sequences = 0; ///< sequence numbers used, warm-up included (the next run starts here)
  double elapsed_s = 0;   ///< measured window, up to the last answer
  double throughput = 0;  ///< answers per second in the window
  latency_summary latency;
  std::vector<uint32_t> latencies_us;      ///< every recorded latency in µs, sorted (to pool runs)
  std::optional<schedule_result> schedule; ///< open loop only
  std::vector<response_sample> samples;

  /// Answers with a 2xx status.
  uint64_t count_2xx() const;
};

/// Runs a closed- or open-loop load against host:port and returns what it measured. Never throws on
/// HTTP or transport errors (they are counted); throws std::runtime_error on a bad host.
load_result run_load(const load_options& opts, const request_source& source);

/// Percentiles of latencies given in microseconds (the vector is sorted in place).
latency_summary summarize_latencies(std::vector<uint32_t>& micros);

} // namespace switchboard::bench
