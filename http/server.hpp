#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::http {

/// Header list with case-insensitive lookup; names are kept as received.
struct header_list {
  std::vector<std::pair<std::string, std::string>> items;

  /// First value of a header (case-insensitive name), empty when absent.
  std::string_view get(std::string_view name) const;
  /// Whether the header is present at all.
  bool has(std::string_view name) const;
  void add(std::string name, std::string value) {
    items.emplace_back(std::move(name), std::move(value));
  }
};

/// An HTTP request as the server hands it to a handler: fully read, within the route's limits.
struct request {
  std::string method;     ///< e.g. "POST"
  std::string target;     ///< raw request target, path and query
  std::string path;       ///< target up to '?'
  std::string query;      ///< target after '?', raw (not decoded)
  header_list headers;    ///< request headers
  std::string body;       ///< raw body bytes (signatures are computed over these)
  std::string request_id; ///< X-Request-Id taken from the request or generated
  std::string remote;     ///< peer address
};

/// The answer a handler gives; content_type defaults to JSON.
struct response {
  int status = 200;
  std::string content_type = "application/json";
  header_list headers;
  std::string body;
  std::string route; ///< route label for metrics and the access log ("" = unmatched)

  /// A response with the given status and body.
  static response make(int status, std::string body,
                       std::string content_type = "application/json") {
    response r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    return r;
  }
  /// JSON error body `{"error": code, "reason": reason}`.
  static response error(int status, std::string_view code, std::string_view reason);
};

/// Completes a request; call exactly once, from any thread. Later calls are ignored.
using responder = std::function<void(response)>;

/// Handles a request without blocking: answer now or later through the responder.
using handler = std::function<void(request&&, responder)>;

/// One line of the access log, given to server_options::on_access after each response.
struct access_entry {
  std::string_view method;
  std::string_view path;
  std::string_view route;
  std::string_view request_id;
  std::string_view remote;
  int status = 0;
  std::size_t bytes_in = 0;
  std::size_t bytes_out = 0;
  std::chrono::microseconds duration{0};
};

/// Limits and hooks of the HTTP server.
struct server_options {
  std::string address = "127.0.0.1";
  uint16_t port = 0; ///< 0 = any free port; see server::port()
  std::size_t threads = 2;
  std::size_t max_connections = 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t default_body_limit = 1024 * 1024;
  /// Body limit per route; falls back to default_body_limit when unset.
  std::function<std::size_t(std::string_view method, std::string_view path)> body_limit;
  std::chrono::milliseconds header_timeout{10000}; ///< from first byte to end of header
  std::chrono::milliseconds body_timeout{30000};   ///< reading the body
  std::chrono::milliseconds idle_timeout{60000};   ///< keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds handler_timeout{30000}; ///< a handler slower than this gets a 503
  std::size_t max_requests_per_connection = 10000;
  std::function<void(const access_entry&)> on_access;
};

/// Async HTTP/1.1 server over Boost.Beast: keep-alive, per-route body limits (413 before the
/// body is read), header/body/idle deadlines, a connection cap, X-Request-Id, graceful drain.
class server {
public:
  server(server_options opts, handler h);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts the I/O threads; throws std::runtime_error when the address cannot be bound.
  void start();
  /// The bound port (after start).
  uint16_t port() const;
  /// How often accepting paused (50 ms) because the process had no descriptor left (EMFILE).
  std::size_t accept_backoffs() const;
  /// Stops accepting, lets in-flight requests finish (up to `drain`), closes idle connections
  /// and joins the I/O threads.
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds{5000});
  /// Connections currently open.
  std::size_t active_connections() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

/// Raises the soft limit of open files (RLIMIT_NOFILE) to the hard limit, so that connections
/// are capped by max_connections, not by the usual 1,024; returns the soft limit now in force.
std::size_t raise_fd_limit();

/// Blocks SIGINT and SIGTERM in the calling thread (call it before any thread starts: every thread
/// inherits the mask, so that the caller alone receives them, through sigwait on the set
/// returned) and ignores SIGPIPE (a peer closing a socket is an error code, not a signal).
sigset_t block_termination_signals();

/// Generates a random request id (16 hex characters).
std::string make_request_id();

} // namespace switchboard::http
