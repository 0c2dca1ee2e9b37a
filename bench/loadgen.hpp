#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
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

/// Shape of a closed-loop run: `connections` keep-alive connections, each sending its next
/// request when the previous answer has arrived.
struct load_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::size_t connections = 16;
  std::chrono::milliseconds duration{10000}; ///< measured window (after the warm-up)
  std::chrono::milliseconds warmup{0};       ///< answers in this first stretch are not recorded
  uint64_t max_requests = 0;                 ///< stop after issuing this many (0 = no limit)
  std::chrono::milliseconds request_timeout{30000};
  std::size_t threads = 1;      ///< I/O threads of the generator
  std::size_t keep_samples = 8; ///< first recorded answers kept whole, for checks
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

/// What a run measured. Latency runs from the first byte written to the last byte read; a
/// reconnect (after `Connection: close` or an error) is not part of any request's latency.
struct load_result {
  uint64_t answered = 0; ///< answers with any status in the measured window
  uint64_t errors = 0;   ///< transport errors and timeouts in the window
  std::map<int, uint64_t> statuses;
  std::map<std::string, uint64_t> error_kinds;
  uint64_t issued = 0;   ///< requests issued in total (warm-up included)
  double elapsed_s = 0;  ///< measured window, up to the last answer
  double throughput = 0; ///< answers per second in the window
  latency_summary latency;
  std::vector<response_sample> samples;

  /// Answers with a 2xx status.
  uint64_t count_2xx() const;
};

/// Runs a closed-loop load against host:port and returns what it measured. Never throws on
/// HTTP or transport errors (they are counted); throws std::runtime_error on a bad host.
load_result run_load(const load_options& opts, const request_source& source);

/// Percentiles of latencies given in microseconds (the vector is sorted in place).
latency_summary summarize_latencies(std::vector<uint32_t>& micros);

} // namespace switchboard::bench
