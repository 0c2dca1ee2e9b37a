#pragma once

// Helpers shared by the omnichannel e2e tests (a stack, call-ended webhooks, what the simulator
// received).

#include <catch2/catch.hpp>

#include <functional>
#include <thread>

#include <soci/soci.h>

#include "core/text/sms.hpp"
#include "tests/support/stack.hpp"

namespace e2e {

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* customer = "+250788123456";

inline test::stack_options with_env(std::vector<std::pair<std::string, std::string>> env,
                                    std::string sms_provider = "mtn") {
  test::stack_options o;
  o.env = std::move(env);
  o.sms_provider = std::move(sms_provider);
  return o;
}

inline test::http_result call_ended(test::stack& s, const std::string& call_id, json extra = {}) {
  json body{{"call_id", call_id},
            {"phone_number", customer},
            {"summary", "Quoted 200k for the roof repair. Customer will confirm by Friday."},
            {"outcome", "quote sent"},
            {"action_items", {"Confirm the 200k quote"}}};
  for (auto& [k, v] : extra.items())
    body[k] = v;
  return test::http_post_json(s.url("/webhooks/voice/call-ended"), body,
                              {test::bearer_auth(s.env("SWITCHBOARD_VOICE_TOKEN"))});
}

/// Sends a simulator control request and returns the server's answer it relays.
inline json sim(test::stack& s, const std::string& path, const json& body) {
  auto r = test::http_post_json(s.sim_url(path), body);
  INFO(path << " -> " << r.status << " " << r.body);
  REQUIRE(r.status < 300);
  return r.json();
}

/// Whether a recorded request marks an inbound WhatsApp message read (no message is sent).
inline bool is_read_receipt(const json& r) {
  return r["json"].is_object() && r["json"].contains("status");
}

/// Recorded requests of a simulator service that satisfy `keep`.
inline json requests_where(test::stack& s, const std::string& service,
                           const std::function<bool(const json&)>& keep) {
  json out = json::array();
  auto all = s.sim_requests(service); // keep it alive: the loop walks into it
  for (auto& r : all["requests"])
    if (keep(r))
      out.push_back(r);
  return out;
}

/// Requests of a simulator service on one path fragment: the messages sent (WhatsApp read
/// receipts, which share the /messages path, are listed by read_receipts).
inline json sent(test::stack& s, const std::string& service, const std::string& path_part) {
  return requests_where(s, service, [&](const json& r) {
    return r["path"].get<std::string>().find(path_part) != std::string::npos && !is_read_receipt(r);
  });
}

/// WhatsApp "mark read" requests (with or without the typing indicator) the simulator received.
inline json read_receipts(test::stack& s) {
  return requests_where(s, "whatsapp", is_read_receipt);
}

inline std::unique_ptr<soci::session> db(test::stack& s) {
  return s.db().connect();
}

inline std::string text_of(test::stack& s, const std::string& query) {
  auto sql = db(s);
  std::string v;
  *sql << query, soci::into(v);
  return v;
}

inline bool sms_to_customer_contains(test::stack& s, const std::string& needle) {
  for (auto& r : sent(s, "mtn", "/v3/sms"))
    if (r["json"]["message"].get<std::string>().find(needle) != std::string::npos)
      return true;
  return false;
}

} // namespace e2e
