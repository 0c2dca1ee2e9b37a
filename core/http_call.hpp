#pragma once

// The plain structs of an outbound provider call and its answer, so that building a request
// (providers/) is a pure function, unit-tested without an actor; actors/http_client.cpp runs them.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace switchboard::core {

/// An outbound HTTP request (provider API call).
struct http_call {
  std::string service; ///< metrics label: whatsapp, mtn, twilio, telegram, chatwoot, llm...
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string basic_auth; ///< "user:password" for HTTP basic auth, or empty
  int64_t timeout_ms = 0; ///< total timeout; 0 = the client's default
  std::string correlation_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, http_call& x) {
  return f(caf::meta::type_name("http_call"), x.service, x.method, x.url, x.headers, x.body,
           x.basic_auth, x.timeout_ms, x.correlation_id);
}

/// An outbound mail sent over SMTP(S) through libcurl.
struct mail_call {
  std::string url; ///< smtp://host:port or smtps://host:port
  std::string from;
  std::vector<std::string> to;
  std::string payload; ///< the RFC 5322 message
  std::string username;
  std::string password;
  int64_t timeout_ms = 0;
  std::string correlation_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, mail_call& x) {
  return f(caf::meta::type_name("mail_call"), x.url, x.from, x.to, x.payload, x.username,
           x.password, x.timeout_ms, x.correlation_id);
}

/// Any HTTP answer (whatever the status); network failures are errors instead.
struct http_reply {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers; ///< names lower-cased
  std::string body;
  int64_t elapsed_us = 0;

  /// First value of a header (name in lower case), empty when absent.
  std::string header(const std::string& lower_name) const {
    for (auto& [k, v] : headers)
      if (k == lower_name)
        return v;
    return {};
  }
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, http_reply& x) {
  return f(caf::meta::type_name("http_reply"), x.status, x.headers, x.body, x.elapsed_us);
}

} // namespace switchboard::core
