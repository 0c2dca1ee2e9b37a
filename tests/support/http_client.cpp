#include "tests/support/http_client.hpp"

#include <cctype>
#include <mutex>

#include <curl/curl.h>

#include "core/crypto.hpp"

namespace switchboard::test {

namespace {

void ensure_curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<header_pairs*>(user);
  std::string_view line{data, size * n};
  // A status line starts a new response (100 Continue, redirects): keep only the last headers.
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return size * n;
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  headers->emplace_back(std::string{line.substr(0, colon)}, std::string{value});
  return size * n;
}

} // namespace

std::string http_result::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (iequals(k, name))
      return v;
  return {};
}

nlohmann::json http_result::json() const {
  return nlohmann::json::parse(body);
}

http_result http_call(const http_request& req) {
  ensure_curl_global();
  http_result res;
  CURL* h = curl_easy_init();
  if (!h) {
    res.error = "curl_easy_init failed";
    return res;
  }
  curl_slist* headers = nullptr;
  for (auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD")
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &res.headers);
  auto t0 = std::chrono::steady_clock::now();
  auto rc = curl_easy_perform(h);
  res.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status);
  } else {
    res.error = curl_easy_strerror(rc);
    res.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return res;
}

http_result http_get(const std::string& url, header_pairs headers) {
  return http_call({"GET", url, std::move(headers), {}});
}

http_result http_delete(const std::string& url, header_pairs headers) {
  return http_call({"DELETE", url, std::move(headers), {}});
}

http_result http_post(const std::string& url, std::string body, std::string content_type,
                      header_pairs headers) {
  headers.emplace_back("Content-Type", std::move(content_type));
  return http_call({"POST", url, std::move(headers), std::move(body)});
}

http_result http_post_json(const std::string& url, const nlohmann::json& body,
                           header_pairs headers) {
  return http_post(url, body.dump(), "application/json", std::move(headers));
}

std::pair<std::string, std::string> basic_auth(std::string_view user, std::string_view password) {
  return {"Authorization",
          "Basic " + core::base64_encode(std::string{user} + ":" + std::string{password})};
}

std::pair<std::string, std::string> bearer_auth(std::string_view token) {
  return {"Authorization", "Bearer " + std::string{token}};
}

} // namespace switchboard::test
