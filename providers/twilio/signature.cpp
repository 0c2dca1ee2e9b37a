#include "providers/twilio/signature.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "core/crypto.hpp"
#include "core/signatures.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

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

} // namespace switchboard::providers
