#include "core/signatures.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "core/crypto.hpp"

namespace switchboard::core {

namespace {

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string ascii_lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Compares a presented hex digest (any case) with the expected lower-case one. The length is
/// not secret; the content comparison is constant-time.
bool hex_digest_equal(std::string_view expected_lower, std::string_view presented) {
  if (presented.size() != expected_lower.size())
    return false;
  if (!std::all_of(presented.begin(), presented.end(), is_hex_digit))
    return false;
  return constant_time_equal(expected_lower, ascii_lower(presented));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

/// The parts of an absolute URL that the Twilio validators vary.
struct url_parts {
  std::string scheme;   ///< without "://"
  std::string userinfo; ///< with the trailing '@', or empty
  std::string host;
  std::string port; ///< without ':', or empty
  std::string rest; ///< path + query + fragment
};

std::optional<url_parts> split_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return std::nullopt;
  url_parts out;
  out.scheme = std::string{url.substr(0, sep)};
  auto after = url.substr(sep + 3);
  auto authority_end = after.find_first_of("/?#");
  auto authority = after.substr(0, authority_end);
  out.rest = authority_end == std::string_view::npos ? std::string{}
                                                     : std::string{after.substr(authority_end)};
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = std::string{authority.substr(0, at + 1)};
    authority = authority.substr(at + 1);
  }
  // IPv6 literals contain ':'; the port follows the closing bracket.
  auto colon = authority.rfind(':');
  auto bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    out.port = std::string{authority.substr(colon + 1)};
    authority = authority.substr(0, colon);
  }
  out.host = std::string{authority};
  if (out.host.empty())
    return std::nullopt;
  return out;
}

std::string join_url(const url_parts& p, std::string_view port) {
  std::string out = p.scheme + "://" + p.userinfo + p.host;
  if (!port.empty()) {
    out += ':';
    out += port;
  }
  out += p.rest;
  return out;
}

/// Percent-encodes one byte the way the WHATWG URL serializer does.
void append_pct(std::string& out, unsigned char c) {
  static const char* digits = "0123456789ABCDEF";
  out += '%';
  out += digits[c >> 4];
  out += digits[c & 0xf];
}

/// WHATWG URL normalisation of the parts Twilio's Node validator changes: scheme and host are
/// lower-cased, an empty path becomes "/", the path/query/fragment percent-encode sets are
/// applied (for special schemes the query set includes the apostrophe), and the default port
/// is dropped.
url_parts whatwg_normalise(url_parts p) {
  p.scheme = ascii_lower(p.scheme);
  p.host = ascii_lower(p.host);
  if ((p.scheme == "https" && p.port == "443") || (p.scheme == "http" && p.port == "80"))
    p.port.clear();
  std::string rest;
  enum { path, query, fragment } state = path;
  if (p.rest.empty() || p.rest.front() != '/')
    rest += '/';
  for (unsigned char c : p.rest) {
    if (state == path && c == '?') {
      state = query;
      rest += '?';
      continue;
    }
    if (state != fragment && c == '#') {
      state = fragment;
      rest += '#';
      continue;
    }
    bool encode = c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>';
    if (state == path)
      encode = encode || c == '`' || c == '{' || c == '}';
    else if (state == query)
      encode = encode || c == '\'';
    else
      encode = encode || c == '`';
    if (encode)
      append_pct(rest, c);
    else
      rest += static_cast<char>(c);
  }
  p.rest = std::move(rest);
  return p;
}

/// Every URL spelling Twilio's helper libraries try: as given, without a port, with the default
/// port, each both raw and WHATWG-normalised. De-duplicated.
std::vector<std::string> twilio_url_candidates(std::string_view url) {
  std::vector<std::string> out;
  auto add = [&out](std::string s) {
    if (std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(std::move(s));
  };
  add(std::string{url});
  auto parts = split_url(url);
  if (!parts)
    return out;
  for (const auto& p : {*parts, whatwg_normalise(*parts)}) {
    auto scheme = ascii_lower(p.scheme);
    std::string default_port = scheme == "https" ? "443" : scheme == "http" ? "80" : "";
    add(join_url(p, p.port));
    add(join_url(p, ""));
    if (!default_port.empty())
      add(join_url(p, default_port));
  }
  return out;
}

/// url + name + value for each name in byte order and, per name, each distinct value in byte
/// order (repeated identical values count once, as in twilio-python and twilio-node).
std::string twilio_payload(std::string_view url, const form_params& params) {
  std::map<std::string, std::vector<std::string>> grouped;
  for (const auto& [k, v] : params)
    grouped[k].push_back(v);
  std::string data{url};
  for (auto& [k, values] : grouped) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (const auto& v : values) {
      data += k;
      data += v;
    }
  }
  return data;
}

bool verify_twilio_candidates(std::string_view auth_token, std::string_view url,
                              const form_params& params, std::string_view signature) {
  if (auth_token.empty() || signature.empty())
    return false;
  bool ok = false;
  // No early exit: every candidate is computed, so timing does not reveal which matched.
  for (const auto& candidate : twilio_url_candidates(url)) {
    auto sig = base64_encode(hmac_sha1(auth_token, twilio_payload(candidate, params)));
    ok |= constant_time_equal(sig, signature);
  }
  return ok;
}

/// Parses 1..18 ASCII digits (fits int64 without overflow).
std::optional<int64_t> parse_unix_seconds(std::string_view text) {
  if (text.empty() || text.size() > 18)
    return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

} // namespace

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params) {
  return base64_encode(hmac_sha1(auth_token, twilio_payload(url, params)));
}

bool verify_twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params, std::string_view signature) {
  return verify_twilio_candidates(auth_token, url, params, signature);
}

std::string twilio_json_signature(std::string_view auth_token, std::string_view url) {
  return twilio_signature(auth_token, url, {});
}

bool verify_twilio_json_signature(std::string_view auth_token, std::string_view url,
                                  std::string_view raw_body, std::string_view signature) {
  auto query_start = url.find('?');
  if (query_start == std::string_view::npos)
    return false;
  auto query = url.substr(query_start + 1);
  query = query.substr(0, query.find('#'));
  auto params = parse_form(query);
  std::string presented_hash;
  int hash_count = 0;
  for (const auto& [k, v] : params) {
    if (k == "bodySHA256") {
      presented_hash = v;
      ++hash_count;
    }
  }
  if (hash_count != 1)
    return false;
  bool body_ok = hex_digest_equal(to_hex(sha256(raw_body)), presented_hash);
  bool sig_ok = verify_twilio_candidates(auth_token, url, {}, signature);
  return body_ok && sig_ok;
}

std::string hub_signature(std::string_view app_secret, std::string_view raw_body) {
  return "sha256=" + to_hex(hmac_sha256(app_secret, raw_body));
}

bool verify_hub_signature(std::string_view app_secret, std::string_view raw_body,
                          std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (app_secret.empty() || !starts_with(header, prefix))
    return false;
  return hex_digest_equal(to_hex(hmac_sha256(app_secret, raw_body)), header.substr(prefix.size()));
}

std::string mtn_signature(std::string_view secret, std::string_view raw_body) {
  return to_hex(hmac_sha256(secret, raw_body));
}

bool verify_mtn_signature(std::string_view secret, std::string_view raw_body,
                          std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (secret.empty())
    return false;
  if (starts_with(header, prefix))
    header.remove_prefix(prefix.size());
  return hex_digest_equal(mtn_signature(secret, raw_body), header);
}

std::string chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body) {
  std::string payload;
  payload.reserve(timestamp.size() + 1 + raw_body.size());
  payload += timestamp;
  payload += '.';
  payload += raw_body;
  return "sha256=" + to_hex(hmac_sha256(secret, payload));
}

bool verify_chatwoot_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s) {
  constexpr std::string_view prefix = "sha256=";
  if (secret.empty() || tolerance_s < 0 || now_unix < 0 || !starts_with(header, prefix))
    return false;
  auto ts = parse_unix_seconds(timestamp);
  if (!ts)
    return false;
  // 0 <= now_unix and 0 <= ts < 10^18, so the difference cannot overflow.
  auto age = now_unix - *ts;
  if (age > tolerance_s || age < -tolerance_s)
    return false;
  auto expected = chatwoot_signature(secret, timestamp, raw_body);
  return hex_digest_equal(std::string_view{expected}.substr(prefix.size()),
                          header.substr(prefix.size()));
}

bool verify_chatwoot_signature(const std::vector<std::string>& secrets, std::string_view timestamp,
                               std::string_view raw_body, std::string_view header, int64_t now_unix,
                               int64_t tolerance_s) {
  // Every secret is tried (no early exit), so the time taken does not tell which one matched.
  bool ok = false;
  for (const auto& secret : secrets)
    ok |= verify_chatwoot_signature(secret, timestamp, raw_body, header, now_unix, tolerance_s);
  return ok;
}

std::vector<std::string> chatwoot_webhook_secrets(std::string_view single,
                                                  std::string_view comma_separated) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
      s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
      s.remove_suffix(1);
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end())
      out.emplace_back(s);
  };
  add(single);
  while (!comma_separated.empty()) {
    auto comma = comma_separated.find(',');
    add(comma_separated.substr(0, comma));
    if (comma == std::string_view::npos)
      break;
    comma_separated.remove_prefix(comma + 1);
  }
  return out;
}

bool verify_secret_token(std::string_view expected, std::string_view presented) {
  if (expected.empty())
    return false;
  // Compare digests so the comparison takes the same time whatever the presented length.
  return constant_time_equal(sha256(expected), sha256(presented));
}

} // namespace switchboard::core
