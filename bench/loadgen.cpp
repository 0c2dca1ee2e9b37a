#include "bench/loadgen.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
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

uint32_t micros_between(clock_type::time_point from, clock_type::time_point to) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
}

/// One request to send: its sequence number and when it was due.
struct slot {
  uint64_t seq = 0;
  clock_type::time_point due;
  bool waited = false; ///< queued for a free connection (open loop, cap reached)
};

class connection;

/// State shared by the connections of one run.
struct run_state {
  const load_options& opts;
  const request_source& source;
  asio::io_context& io;
  bool open_loop;
  tcp::endpoint endpoint;
  clock_type::time_point window_start;
  clock_type::time_point stop_at;
  std::atomic<uint64_t> next_seq{0};
  std::atomic<bool> stopping{false};   ///< no request is issued any more
  std::atomic<int64_t> outstanding{0}; ///< issued, neither answered nor failed yet
  std::atomic<std::size_t> kept{0};
  std::mutex mtx; ///< guards samples
  std::vector<response_sample> samples;

  std::mutex pool_mtx; ///< guards the three below once the I/O threads run (open loop)
  std::vector<std::shared_ptr<connection>> conns;
  std::deque<std::shared_ptr<connection>> idle;
  std::deque<slot> backlog;

  run_state(const load_options& o, const request_source& s, asio::io_context& i)
      : opts(o), source(s), io(i), open_loop(o.rate_per_s > 0) {}

  bool in_window(clock_type::time_point t) const { return t >= window_start; }

  bool should_stop() {
    if (stopping.load(std::memory_order_relaxed))
      return true;
    if (clock_type::now() >= stop_at) {
      stopping = true;
      return true;
    }
    return false;
  }

  /// Open loop: hands a due request to an idle connection, a new one, or the backlog.
  void dispatch(slot s);
  /// Open loop: `c` has finished its request; it takes the oldest waiting one or goes idle.
  void release(const std::shared_ptr<connection>& c);
};

/// One keep-alive connection; one request at a time.
class connection : public std::enable_shared_from_this<connection> {
public:
  explicit connection(run_state& st) : st_(st), stream_(st.io), backoff_(st.io) {}

  /// Closed loop: runs requests back to back until the run stops.
  void run_closed() { next(); }

  /// Open loop: connects ahead of the schedule; after a failure the first send connects again.
  void prime() {
    stream_.expires_after(st_.opts.request_timeout);
    stream_.async_connect(st_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->close();
      self->on_connected();
    });
  }

  /// Sends request `s`; the connection must be idle.
  void send(slot s) {
    slot_ = s;
    counted_ = st_.in_window(s.due);
    busy_ = true;
    st_.outstanding.fetch_add(1);
    if (counted_) {
      ++issued;
      if (s.waited)
        ++sent_late;
    }
    auto lr = st_.source(s.seq);
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

  /// Whether a request of the window had neither an answer nor an error when the run stopped.
  bool in_flight() const { return busy_ && counted_; }

  std::vector<uint32_t> latencies;      ///< from the due time (open loop) or the write
  std::vector<uint32_t> send_latencies; ///< open loop: from the write
  std::map<int, uint64_t> statuses;
  std::map<std::string, uint64_t> error_kinds;
  uint64_t issued = 0;
  uint64_t errors = 0;
  uint64_t sent_late = 0;
  clock_type::time_point last_answer{};

private:
  void next() {
    if (st_.should_stop())
      return close();
    auto seq = st_.next_seq.fetch_add(1);
    if (st_.opts.max_requests != 0 && seq >= st_.opts.max_requests) {
      st_.stopping = true;
      return close();
    }
    send({seq, clock_type::now(), false});
  }

  void on_connected() {
    connected_ = true;
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay{true}, ignored);
  }

  void connect() {
    stream_.expires_after(st_.opts.request_timeout);
    stream_.async_connect(st_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->fail("connect", ec);
      self->on_connected();
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
    if (counted_) {
      latencies.push_back(micros_between(st_.open_loop ? slot_.due : sent_, now));
      if (st_.open_loop)
        send_latencies.push_back(micros_between(sent_, now));
      ++statuses[status];
      if (st_.kept.load(std::memory_order_relaxed) < st_.opts.keep_samples) {
        std::lock_guard<std::mutex> guard{st_.mtx};
        if (st_.samples.size() < st_.opts.keep_samples) {
          st_.samples.push_back({slot_.seq, status, res.body()});
          st_.kept = st_.samples.size();
        }
      }
      last_answer = now;
    }
    if (!res.keep_alive())
      close();
    done();
  }

  void fail(const char* stage, beast::error_code ec) {
    close();
    if (counted_) {
      ++errors;
      ++error_kinds[std::string{stage} + ": " + ec.message()];
    }
    if (st_.open_loop || st_.should_stop())
      return done();
    // Do not spin against a server that refuses connections.
    end_request();
    backoff_.expires_after(std::chrono::milliseconds{10});
    backoff_.async_wait([self = shared_from_this()](beast::error_code) { self->next(); });
  }

  /// The request is over (answered or failed): on to the next one.
  void done() {
    end_request();
    if (st_.open_loop)
      st_.release(shared_from_this());
    else
      next();
  }

  void end_request() {
    busy_ = false;
    st_.outstanding.fetch_sub(1);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  run_state& st_;
  beast::tcp_stream stream_;
  asio::steady_timer backoff_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  clock_type::time_point sent_;
  slot slot_;
  bool counted_ = false;
  bool busy_ = false;
  bool connected_ = false;
};

void run_state::dispatch(slot s) {
  std::shared_ptr<connection> c;
  {
    std::lock_guard<std::mutex> guard{pool_mtx};
    if (!idle.empty()) {
      c = idle.front();
      idle.pop_front();
    } else if (conns.size() < std::max(opts.max_connections, opts.connections)) {
      c = std::make_shared<connection>(*this);
      conns.push_back(c);
    } else {
      s.waited = true;
      backlog.push_back(s);
      return;
    }
  }
  c->send(s);
}

void run_state::release(const std::shared_ptr<connection>& c) {
  std::optional<slot> s;
  {
    std::lock_guard<std::mutex> guard{pool_mtx};
    if (!stopping && !backlog.empty()) {
      s = backlog.front();
      backlog.pop_front();
    } else {
      idle.push_back(c);
    }
  }
  if (s)
    c->send(*s);
}

/// Open loop: request i is due at start + i / rate; each is dispatched with its due time, so a
/// late timer delays the send but not the clock its latency runs from.
class scheduler {
public:
  scheduler(run_state& st, clock_type::time_point start) : st_(st), timer_(st.io), start_(start) {}

  void tick() {
    auto now = clock_type::now();
    for (;;) {
      auto due = due_of(next_);
      if (due >= st_.stop_at || (st_.opts.max_requests != 0 && next_ >= st_.opts.max_requests))
        return;
      if (due > now)
        break;
      if (st_.in_window(due))
        ++scheduled;
      st_.next_seq = next_ + 1;
      st_.dispatch({next_++, due, false});
    }
    timer_.expires_at(due_of(next_));
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec)
        tick();
    });
  }

  uint64_t scheduled = 0; ///< due in the measured window

private:
  clock_type::time_point due_of(uint64_t i) const {
    std::chrono::duration<double> offset{static_cast<double>(i) / st_.opts.rate_per_s};
    return start_ + std::chrono::duration_cast<clock_type::duration>(offset);
  }

  run_state& st_;
  asio::steady_timer timer_;
  clock_type::time_point start_;
  uint64_t next_ = 0;
};

/// Ends the run: from stop_at (or once `stopping` is set) no request is issued; those in flight
/// get opts.drain to answer, then the I/O stops and whatever is left counts as in flight.
class monitor {
public:
  explicit monitor(run_state& st) : st_(st), timer_(st.io) {}

  void tick() {
    auto now = clock_type::now();
    if (now >= st_.stop_at)
      st_.stopping = true;
    if (st_.stopping) {
      if (!stopped_at_)
        stopped_at_ = now;
      if (st_.outstanding.load() == 0 || now >= *stopped_at_ + st_.opts.drain) {
        st_.io.stop();
        return;
      }
    }
    timer_.expires_after(std::chrono::milliseconds{5});
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec)
        tick();
    });
  }

private:
  run_state& st_;
  asio::steady_timer timer_;
  std::optional<clock_type::time_point> stopped_at_;
};

} // namespace

load_result run_load(const load_options& opts, const request_source& source) {
  asio::io_context io{static_cast<int>(std::max<std::size_t>(opts.threads, 1))};
  run_state st{opts, source, io};
  beast::error_code ec;
  auto address = asio::ip::make_address(opts.host, ec);
  if (ec)
    throw std::runtime_error("loadgen: bad host address '" + opts.host + "': " + ec.message());
  st.endpoint = tcp::endpoint{address, opts.port};
  auto n = std::max<std::size_t>(opts.connections, 1);
  if (st.open_loop) {
    // Connected before the schedule starts, so the first requests do not pay for handshakes.
    for (std::size_t i = 0; i < n; ++i) {
      st.conns.push_back(std::make_shared<connection>(st));
      st.idle.push_back(st.conns.back());
      st.conns.back()->prime();
    }
    io.run();
    io.restart();
  }
  auto start = clock_type::now();
  st.window_start = start + opts.warmup;
  st.stop_at = st.window_start + opts.duration;

  monitor mon{st};
  mon.tick();
  std::optional<scheduler> sched;
  if (st.open_loop) {
    sched.emplace(st, start);
    sched->tick();
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      st.conns.push_back(std::make_shared<connection>(st));
      st.conns.back()->run_closed();
    }
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < opts.threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads)
    t.join();

  load_result r;
  std::vector<uint32_t> all;
  std::vector<uint32_t> from_send;
  uint64_t sent_late = 0;
  auto end = st.window_start;
  for (auto& c : st.conns) {
    end = std::max(end, c->last_answer);
    all.insert(all.end(), c->latencies.begin(), c->latencies.end());
    from_send.insert(from_send.end(), c->send_latencies.begin(), c->send_latencies.end());
    for (auto& [k, v] : c->statuses)
      r.statuses[k] += v;
    for (auto& [k, v] : c->error_kinds)
      r.error_kinds[k] += v;
    r.issued += c->issued;
    r.errors += c->errors;
    r.in_flight_at_stop += c->in_flight() ? 1 : 0;
    sent_late += c->sent_late;
  }
  r.answered = all.size();
  auto seqs = st.next_seq.load();
  r.sequences = opts.max_requests != 0 ? std::min<uint64_t>(seqs, opts.max_requests) : seqs;
  r.elapsed_s = std::chrono::duration<double>(end - st.window_start).count();
  r.throughput = r.elapsed_s > 0 ? static_cast<double>(r.answered) / r.elapsed_s : 0;
  r.latency = summarize_latencies(all);
  r.latencies_us = std::move(all);
  if (sched) {
    schedule_result s;
    s.rate_per_s = opts.rate_per_s;
    s.scheduled = sched->scheduled;
    for (auto& b : st.backlog)
      s.unsent += st.in_window(b.due) ? 1 : 0;
    s.sent_late = sent_late;
    auto window_s = std::chrono::duration<double>(opts.duration).count();
    s.achieved_per_s = window_s > 0 ? static_cast<double>(r.issued) / window_s : 0;
    s.connections = st.conns.size();
    s.from_send = summarize_latencies(from_send);
    r.schedule = s;
  }
  r.samples = std::move(st.samples);
  std::sort(r.samples.begin(), r.samples.end(),
            [](const response_sample& a, const response_sample& b) { return a.seq < b.seq; });
  return r;
}

} // namespace switchboard::bench
