#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchboard::test {

/// Ordered header list (names as sent or received).
using header_pairs = std::vector<std::pair<std::string, std::string>>;

/// One blocking HTTP request.
struct http_request {
  std::string method = "GET";
  std::string url;
  header_pairs headers;
  std::string body;
  std::chrono::milliseconds timeout{10000}; ///< whole transfer
  std::chrono::milliseconds connect_timeout{3000};
};

/// The answer, or the transport error when there was none.
struct http_result {
  long status = 0;      ///< 0 when no response arrived
  header_pairs headers; ///< response headers of the final response
  std::string body;
  std::string error; ///< curl's message when the transfer failed
  bool timed_out = false;
  std::chrono::milliseconds elapsed{0};

  /// First value of a header (case-insensitive), empty when absent.
  std::string header(std::string_view name) const;
  /// The body parsed as JSON; throws nlohmann::json::parse_error when it is not JSON.
  nlohmann::json json() const;
  /// Whether a response arrived (any status).
  bool ok() const { return status != 0; }
};

/// Performs a request with libcurl (a fresh easy handle, no connection reuse); never throws on
/// HTTP or transport errors.
http_result http_call(const http_request& req);

/// GET with optional headers.
http_result http_get(const std::string& url, header_pairs headers = {});

/// DELETE with optional headers.
http_result http_delete(const std::string& url, header_pairs headers = {});

/// POST of `body` with the given content type.
http_result http_post(const std::string& url, std::string body,
                      std::string content_type = "application/json", header_pairs headers = {});

/// POST of a JSON value.
http_result http_post_json(const std::string& url, const nlohmann::json& body,
                           header_pairs headers = {});

/// "Authorization: Basic base64(user:password)".
std::pair<std::string, std::string> basic_auth(std::string_view user, std::string_view password);

/// "Authorization: Bearer token".
std::pair<std::string, std::string> bearer_auth(std::string_view token);

} // namespace switchboard::test
