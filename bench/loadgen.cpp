#include "bench/loadgen.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace switchboard::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

uint64_t load_result::count_2xx() const {
  uint64_t n = 0;
  for (auto& [status, count] : statuses)
    if (status >= 200 && status < 300)
      n += count;
  return n;
}

latency_summary summarize_latencies(std::vector<uint32_t>& micros) {
  latency_summary s;
  if (micros.empty())
    return s;
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) {
    auto idx = static_cast<std::size_t>(q * static_cast<double>(micros.size() - 1) + 0.5);
    return static_cast<double>(micros[std::min(idx, micros.size() - 1)]) / 1000.0;
  };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = static_cast<double>(micros.back()) / 1000.0;
  double sum = 0;
  for (auto v : micros)
    sum += v;
  s.mean = sum / static_cast<double>(micros.size()) / 1000.0;
  return s;
}

namespace {

/// State shared by the connections of one run.
struct run_state {
  const load_options& opts;
  const request_source& source;
  tcp::endpoint endpoint;
  clock_type::time_point window_start;
  clock_type::time_point stop_at;
  std::atomic<uint64_t> next_seq{0};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> kept{0};
  std::mutex mtx; ///< guards samples
  std::vector<response_sample> samples;

  run_state(const load_options& o, const request_source& s) : opts(o), source(s) {}

  bool should_stop() {
    if (stopping.load(std::memory_order_relaxed))
      return true;
    if (clock_type::now() >= stop_at) {
      stopping = true;
      return true;
    }
    return false;
  }
};

/// One keep-alive connection running requests back to back.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(asio::io_context& io, run_state& st) : st_(st), stream_(io), backoff_(io) {}

  void start() { next(); }

  std::vector<uint32_t> latencies;
  std::map<int, uint64_t> statuses;
  std::map<std::string, uint64_t> error_kinds;
  uint64_t errors = 0;
  clock_type::time_point last_answer{};

private:
  void next() {
    if (st_.should_stop())
      return finish();
    seq_ = st_.next_seq.fetch_add(1);
    if (st_.opts.max_requests != 0 && seq_ >= st_.opts.max_requests) {
      st_.stopping = true;
      return finish();
    }
    auto lr = st_.source(seq_);
    req_ = {};
    req_.version(11);
    req_.method_string(lr.method);
    req_.target(lr.target);
    req_.set(bhttp::field::host, st_.opts.host);
    req_.keep_alive(true);
    for (auto& [name, value] : lr.headers)
      req_.set(name, value);
    if (!lr.body.empty() && !lr.content_type.empty())
      req_.set(bhttp::field::content_type, lr.content_type);
    req_.body() = std::move(lr.body);
    req_.prepare_payload();
    if (connected_)
      write();
    else
      connect();
  }

  void connect() {
    stream_.expires_after(st_.opts.request_timeout);
    stream_.async_connect(st_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->fail("connect", ec);
      self->connected_ = true;
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay{true}, ignored);
      self->write();
    });
  }

  void write() {
    sent_ = clock_type::now();
    stream_.expires_after(st_.opts.request_timeout);
    bhttp::async_write(stream_, req_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec)
                           return self->fail("write", ec);
                         self->read();
                       });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec)
                          return self->fail("read", ec);
                        self->answered();
                      });
  }

  void answered() {
    auto now = clock_type::now();
    auto& res = parser_->get();
    int status = res.result_int();
    if (sent_ >= st_.window_start) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - sent_).count();
      latencies.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
      ++statuses[status];
      if (st_.kept.load(std::memory_order_relaxed) < st_.opts.keep_samples) {
        std::lock_guard<std::mutex> guard{st_.mtx};
        if (st_.samples.size() < st_.opts.keep_samples) {
          st_.samples.push_back({seq_, status, res.body()});
          st_.kept = st_.samples.size();
        }
      }
      last_answer = now;
    }
    if (!res.keep_alive())
      close();
    next();
  }

  void fail(const char* stage, beast::error_code ec) {
    close();
    if (sent_ >= st_.window_start || std::string_view{stage} == "connect") {
      ++errors;
      ++error_kinds[std::string{stage} + ": " + ec.message()];
    }
    if (st_.should_stop())
      return finish();
    // Do not spin against a server that refuses connections.
    backoff_.expires_after(std::chrono::milliseconds{10});
    backoff_.async_wait([self = shared_from_this()](beast::error_code) { self->next(); });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  void finish() { close(); }

  run_state& st_;
  beast::tcp_stream stream_;
  asio::steady_timer backoff_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  clock_type::time_point sent_;
  uint64_t seq_ = 0;
  bool connected_ = false;
};

} // namespace

load_result run_load(const load_options& opts, const request_source& source) {
  asio::io_context io{static_cast<int>(std::max<std::size_t>(opts.threads, 1))};
  run_state st{opts, source};
  beast::error_code ec;
  auto address = asio::ip::make_address(opts.host, ec);
  if (ec)
    throw std::runtime_error("loadgen: bad host address '" + opts.host + "': " + ec.message());
  st.endpoint = tcp::endpoint{address, opts.port};
  auto start = clock_type::now();
  st.window_start = start + opts.warmup;
  st.stop_at = st.window_start + opts.duration;

  std::vector<std::shared_ptr<connection>> conns;
  for (std::size_t i = 0; i < std::max<std::size_t>(opts.connections, 1); ++i) {
    conns.push_back(std::make_shared<connection>(io, st));
    conns.back()->start();
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < opts.threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads)
    t.join();

  load_result r;
  std::vector<uint32_t> all;
  auto end = st.window_start;
  for (auto& c : conns) {
    end = std::max(end, c->last_answer);
    all.insert(all.end(), c->latencies.begin(), c->latencies.end());
    for (auto& [k, v] : c->statuses)
      r.statuses[k] += v;
    for (auto& [k, v] : c->error_kinds)
      r.error_kinds[k] += v;
    r.errors += c->errors;
  }
  r.answered = all.size();
  r.issued = std::min<uint64_t>(st.next_seq.load(),
                                opts.max_requests ? opts.max_requests : st.next_seq.load());
  r.elapsed_s = std::chrono::duration<double>(end - st.window_start).count();
  r.throughput = r.elapsed_s > 0 ? static_cast<double>(r.answered) / r.elapsed_s : 0;
  r.latency = summarize_latencies(all);
  r.samples = std::move(st.samples);
  std::sort(r.samples.begin(), r.samples.end(),
            [](const response_sample& a, const response_sample& b) { return a.seq < b.seq; });
  return r;
}

} // namespace switchboard::bench
