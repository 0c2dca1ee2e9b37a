#include "http/server.hpp"

#include "core/log.hpp"
#include "core/text/utf8.hpp"

#include <pthread.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace switchboard::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
    auto y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i];
    if (x != y)
      return false;
  }
  return true;
}

/// Accepts only printable, bounded request ids from clients, so they are safe to log and echo.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}

} // namespace

std::string_view header_list::get(std::string_view name) const {
  for (auto& [k, v] : items)
    if (iequals(k, name))
      return v;
  return {};
}

bool header_list::has(std::string_view name) const {
  for (auto& kv : items)
    if (iequals(kv.first, name))
      return true;
  return false;
}

response response::error(int status, std::string_view code, std::string_view reason) {
  // A reason may quote untrusted bytes (a parser's message): the body stays valid UTF-8 JSON.
  return make(status, "{\"error\":\"" + core::json_escape(code) + "\",\"reason\":\""
                          + core::json_escape(core::sanitize_utf8(reason)) + "\"}");
}

sigset_t block_termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

std::size_t raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::size_t>::max()
                                       : static_cast<std::size_t>(lim.rlim_cur);
}

std::string make_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  auto v = rng();
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i)
    out[i] = hex[(v >> (i * 4)) & 0xf];
  return out;
}

class connection;

struct server::impl : std::enable_shared_from_this<server::impl> {
  server_options opts;
  handler h;
  std::unique_ptr<net::io_context> ioc_holder = std::make_unique<net::io_context>();
  net::io_context& ioc = *ioc_holder;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> stopping{false};
  std::mutex mtx;
  std::unordered_map<uint64_t, std::weak_ptr<connection>> conns;
  uint64_t next_id = 0;
  uint16_t bound_port = 0;

  impl(server_options o, handler hd) : opts(std::move(o)), h(std::move(hd)) {}

  std::atomic<std::size_t> accept_backoffs{0}; ///< accepts paused for want of descriptors

  void do_accept();
  void accept_later();
  void forget(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    conns.erase(id);
  }
};

/// One client connection: I/O only. The request handling is the server's handler.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(std::shared_ptr<server::impl> srv, tcp::socket sock, uint64_t id, bool reject)
      : srv_(std::move(srv)), stream_(std::move(sock)), id_(id), reject_(reject),
        handler_timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      remote_ = ep.address().to_string();
  }

  ~connection() {
    srv_->forget(id_);
    --srv_->active;
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reject_) {
        self->begin_request_bookkeeping();
        self->send_error(503, "connection_limit", "too many connections");
        return;
      }
      self->wait_for_data();
    });
  }

  /// Called on stop: idle connections close now, busy ones after their response.
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == phase::idle)
        self->stream_.socket().cancel();
    });
  }

private:
  enum class phase { idle, reading, handling, writing, closed };

  const server_options& opts() const { return srv_->opts; }

  void begin_request_bookkeeping() {
    started_ = std::chrono::steady_clock::now();
    method_.clear();
    path_.clear();
    route_.clear();
    bytes_in_ = 0;
    request_id_ = make_request_id();
  }

  void wait_for_data() {
    if (srv_->stopping) {
      do_close();
      return;
    }
    if (buffer_.size() > 0) {
      read_header();
      return;
    }
    phase_ = phase::idle;
    stream_.expires_after(served_ == 0 ? opts().header_timeout : opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->do_close();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    phase_ = phase::reading;
    begin_request_bookkeeping();
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(opts().max_header_bytes));
    // The route's limit is applied after the header is read (413, not Beast's own 1 MB error).
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(opts().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *header_parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->on_header(ec, n);
                             });
  }

  void on_header(beast::error_code ec, std::size_t n) {
    bytes_in_ += n;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout
        || ec == net::error::operation_aborted || ec == net::error::eof) {
      do_close();
      return;
    }
    if (ec == bhttp::error::header_limit) {
      send_error(431, "header_too_large", "request header fields too large");
      return;
    }
    if (ec) {
      send_error(400, "bad_request", ec.message());
      return;
    }
    auto& hdr = header_parser_->get();
    method_ = std::string{hdr.method_string()};
    auto target = std::string{hdr.target()};
    auto q = target.find('?');
    path_ = q == std::string::npos ? target : target.substr(0, q);
    auto rid = hdr["X-Request-Id"];
    if (acceptable_request_id(std::string_view{rid.data(), rid.size()}))
      request_id_ = std::string{rid};
    auto limit = opts().body_limit ? opts().body_limit(method_, path_) : opts().default_body_limit;
    if (auto cl = header_parser_->content_length(); cl && *cl > limit) {
      send_error(413, "payload_too_large",
                 "body of " + std::to_string(*cl) + " bytes exceeds " + std::to_string(limit));
      return;
    }
    parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    parser_->body_limit(limit);
    auto expect = parser_->get()[bhttp::field::expect];
    if (iequals(std::string_view{expect.data(), expect.size()}, "100-continue")
        && !parser_->is_done()) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       parser_->get().version());
      stream_.expires_after(opts().write_timeout);
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
                           if (ec)
                             self->do_close();
                           else
                             self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) {
      dispatch_request();
      return;
    }
    stream_.expires_after(opts().body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                        self->bytes_in_ += n;
                        if (ec == bhttp::error::body_limit) {
                          self->send_error(413, "payload_too_large", "body exceeds the limit");
                          return;
                        }
                        if (ec) {
                          self->do_close();
                          return;
                        }
                        self->dispatch_request();
                      });
  }

  void dispatch_request() {
    phase_ = phase::handling;
    stream_.expires_never();
    auto msg = parser_->release();
    parser_.reset();
    keep_alive_ = msg.keep_alive();
    request req;
    req.method = method_;
    req.target = std::string{msg.target()};
    req.path = path_;
    if (auto q = req.target.find('?'); q != std::string::npos)
      req.query = req.target.substr(q + 1);
    for (auto& f : msg)
      req.headers.add(std::string{f.name_string()}, std::string{f.value()});
    req.body = std::move(msg.body());
    bytes_in_ += req.body.size();
    req.request_id = request_id_;
    req.remote = remote_;
    auto answered = std::make_shared<std::atomic<bool>>(false);
    answered_ = answered;
    auto self = shared_from_this();
    // The responder holds the connection weakly: a handler keeping it past the connection's end
    // keeps no socket or buffer alive. The handler timer holds it strongly until then.
    std::weak_ptr<connection> weak = self;
    responder respond = [weak, answered](response r) {
      if (answered->exchange(true))
        return;
      auto conn = weak.lock();
      if (!conn)
        return;
      net::post(conn->stream_.get_executor(), [conn, r = std::move(r)]() mutable {
        conn->handler_timer_.cancel();
        conn->send(std::move(r));
      });
    };
    handler_timer_.expires_after(opts().handler_timeout);
    handler_timer_.async_wait([self, answered](beast::error_code ec) {
      if (ec || answered->exchange(true))
        return;
      self->send(response::error(503, "timeout", "the request was not answered in time"));
    });
    try {
      srv_->h(std::move(req), respond);
    } catch (const std::exception& e) {
      respond(response::error(500, "internal", "unexpected error"));
    }
  }

  void send_error(int status, std::string_view code, std::string reason) {
    auto r = response::error(status, code, reason);
    close_after_ = true;
    send(std::move(r));
  }

  void send(response r) {
    phase_ = phase::writing;
    route_ = r.route;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(bhttp::field::server, "switchboard");
    if (r.status != 204 && r.status != 304)
      res->set(bhttp::field::content_type, r.content_type);
    res->set("X-Request-Id", request_id_);
    for (auto& [k, v] : r.headers.items)
      res->set(k, v);
    // A 503 is a "try again": say when (providers and load balancers honour it).
    if (r.status == 503 && !r.headers.has("Retry-After"))
      res->set(bhttp::field::retry_after, "1");
    res->body() = std::move(r.body);
    bool keep = keep_alive_ && !close_after_ && !srv_->stopping
                && served_ + 1 < opts().max_requests_per_connection;
    res->keep_alive(keep);
    res->prepare_payload();
    status_ = r.status;
    stream_.expires_after(opts().write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t n) {
                         self->on_write(ec, n, keep);
                       });
  }

  void on_write(beast::error_code ec, std::size_t n, bool keep) {
    if (opts().on_access) {
      access_entry e;
      e.method = method_;
      e.path = path_;
      e.route = route_;
      e.request_id = request_id_;
      e.remote = remote_;
      e.status = status_;
      e.bytes_in = bytes_in_;
      e.bytes_out = n;
      e.duration = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started_);
      try {
        opts().on_access(e);
      } catch (...) {
        // The access log must never take a connection down.
      }
    }
    if (ec || !keep) {
      do_close(!ec && close_after_);
      return;
    }
    ++served_;
    keep_alive_ = false;
    wait_for_data();
  }

  void drain(std::shared_ptr<std::array<char, 16384>> buf, std::size_t total) {
    auto& b = *buf;
    stream_.async_read_some(net::buffer(b), [self = shared_from_this(), buf = std::move(buf),
                                             total](beast::error_code ec, std::size_t n) mutable {
      constexpr std::size_t cap = 64 * 1024 * 1024;
      if (ec || total + n > cap) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      self->drain(std::move(buf), total + n);
    });
  }

  /// `linger`: after an error answer sent before the request was read to its end (a 413 on its
  /// declared length, a bad header), stop sending, then read and drop what the client still sends
  /// for a moment before closing. Closing with unread data makes the kernel reset the
  /// connection, and the reset can discard the answer before the client reads it.
  void do_close(bool linger = false) {
    if (phase_ == phase::closed)
      return;
    phase_ = phase::closed;
    handler_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (linger) {
      stream_.expires_after(std::chrono::seconds{1});
      drain(std::make_shared<std::array<char, 16384>>(), 0);
      return;
    }
    stream_.socket().close(ec);
  }

  std::shared_ptr<server::impl> srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  uint64_t id_;
  bool reject_;
  net::steady_timer handler_timer_;
  phase phase_ = phase::idle;
  std::size_t served_ = 0;
  bool keep_alive_ = false;
  bool close_after_ = false;
  int status_ = 0;
  std::shared_ptr<std::atomic<bool>> answered_;
  std::chrono::steady_clock::time_point started_;
  std::string method_, path_, route_, request_id_, remote_;
  std::size_t bytes_in_ = 0;
};

static bool out_of_resources(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec.value() == ENFILE
         || ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

void server::impl::accept_later() {
  ++accept_backoffs;
  auto timer = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds{50});
  timer->async_wait([self = shared_from_this(), timer](beast::error_code ec) {
    if (!ec && self->acceptor && self->acceptor->is_open() && !self->stopping)
      self->do_accept();
  });
}

void server::impl::do_accept() {
  acceptor->async_accept(net::make_strand(ioc),
                         [self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
                           if (ec) {
                             if (ec == net::error::operation_aborted || !self->acceptor->is_open())
                               return;
                             if (out_of_resources(ec)) {
                               // No descriptor for the connection: it stays in the backlog, so
                               // accepting again at once fails again at once (a spinning accept
                               // loop). Wait for connections to close.
                               self->accept_later();
                               return;
                             }
                             self->do_accept();
                             return;
                           }
                           if (self->stopping) {
                             beast::error_code ignored;
                             sock.close(ignored);
                             return;
                           }
                           bool reject = self->active.load() >= self->opts.max_connections;
                           ++self->active;
                           std::shared_ptr<connection> conn;
                           {
                             std::lock_guard<std::mutex> guard{self->mtx};
                             auto id = self->next_id++;
                             conn = std::make_shared<connection>(self, std::move(sock), id, reject);
                             self->conns.emplace(id, conn);
                           }
                           conn->run();
                           self->do_accept();
                         });
}

server::server(server_options opts, handler h)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(h))) {}

server::~server() {
  stop(std::chrono::milliseconds{0});
  // Destroying the io_context destroys pending handlers, which own connections, which own impl_.
  impl_->acceptor.reset();
  impl_->ioc_holder.reset();
}

void server::start() {
  auto& s = *impl_;
  beast::error_code ec;
  auto addr = net::ip::make_address(s.opts.address, ec);
  if (ec)
    throw std::runtime_error("invalid listen address '" + s.opts.address + "'");
  tcp::endpoint ep{addr, s.opts.port};
  s.acceptor.emplace(s.ioc);
  s.acceptor->open(ep.protocol(), ec);
  if (!ec)
    s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    s.acceptor->bind(ep, ec);
  if (!ec)
    s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + s.opts.address + ":"
                             + std::to_string(s.opts.port) + ": " + ec.message());
  s.bound_port = s.acceptor->local_endpoint().port();
  s.work.emplace(s.ioc.get_executor());
  s.do_accept();
  auto n = s.opts.threads == 0 ? 1 : s.opts.threads;
  for (std::size_t i = 0; i < n; ++i)
    s.threads.emplace_back([&s] { s.ioc.run(); });
}

std::size_t server::accept_backoffs() const {
  return impl_->accept_backoffs.load();
}

uint16_t server::port() const {
  return impl_->bound_port;
}

std::size_t server::active_connections() const {
  return impl_->active.load();
}

void server::stop(std::chrono::milliseconds drain) {
  auto& s = *impl_;
  if (s.threads.empty())
    return;
  s.stopping = true;
  net::post(s.ioc, [self = impl_] {
    beast::error_code ec;
    if (self->acceptor)
      self->acceptor->close(ec);
  });
  auto deadline = std::chrono::steady_clock::now() + drain;
  do {
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard<std::mutex> guard{s.mtx};
      for (auto& [id, weak] : s.conns)
        if (auto c = weak.lock())
          live.push_back(std::move(c));
    }
    for (auto& c : live)
      c->close_if_idle();
    live.clear();
    if (s.active == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  } while (std::chrono::steady_clock::now() < deadline);
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads)
    t.join();
  s.threads.clear();
}

} // namespace switchboard::http
