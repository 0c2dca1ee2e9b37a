#pragma once

// Helpers shared by the simulator's e2e tests: the simulator as a process and a webhook receiver.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "core/form.hpp"
#include "http/server.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace e2e {

using nlohmann::json;
using namespace switchboard;
using namespace std::chrono_literals;

// Obviously-test credentials, given to the simulator through its environment.
inline const std::string wa_token = "test-wa-token";
inline const std::string wa_secret = "test-wa-app-secret";
inline const std::string tw_sid = "AC00000000000000000000000000000001";
inline const std::string tw_token = "test-twilio-auth-token";
inline const std::string mtn_id = "test-mtn-client";
inline const std::string mtn_secret = "test-mtn-secret";
inline const std::string mtn_webhook = "test-mtn-webhook-secret";
inline const std::string tg_token = "123456789:TEST-telegram-token";
inline const std::string tg_secret = "test-tg-secret";
inline const std::string cw_token = "test-chatwoot-token"; ///< the agent bot's
inline const std::string cw_user_token = "test-chatwoot-user-token";
inline const std::string cw_secret = "test-chatwoot-secret";
inline const std::string llm_key = "test-llm-key";

/// switchboard-sim started on ephemeral ports for one test.
struct sim_process {
  test::child_process proc;
  std::string base;
  int smtp_port = 0;

  explicit sim_process(std::vector<std::string> extra_args = {})
      : proc(options(std::move(extra_args))) {
    base = "http://127.0.0.1:" + std::to_string(proc.ready().at("http_port").get<int>());
    smtp_port = proc.ready().at("smtp_port").get<int>();
  }

  static test::process_options options(std::vector<std::string> extra_args) {
    test::process_options o;
    o.program = test::binary_path("sim/switchboard-sim");
    o.args = {"--listen", "127.0.0.1:0", "--smtp-listen", "127.0.0.1:0"};
    o.args.insert(o.args.end(), extra_args.begin(), extra_args.end());
    o.env = {{"SWITCHBOARD_WHATSAPP_ACCESS_TOKEN", wa_token},
             {"SWITCHBOARD_WHATSAPP_APP_SECRET", wa_secret},
             {"SWITCHBOARD_SMS_TWILIO_ACCOUNT_SID", tw_sid},
             {"SWITCHBOARD_SMS_TWILIO_AUTH_TOKEN", tw_token},
             {"SWITCHBOARD_SMS_MTN_CLIENT_ID", mtn_id},
             {"SWITCHBOARD_SMS_MTN_CLIENT_SECRET", mtn_secret},
             {"SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET", mtn_webhook},
             {"SWITCHBOARD_TELEGRAM_BOT_TOKEN", tg_token},
             {"SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET", ""},
             {"SWITCHBOARD_CHATWOOT_BOT_TOKEN", cw_token},
             {"SWITCHBOARD_CHATWOOT_USER_TOKEN", cw_user_token},
             {"SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET", cw_secret},
             {"SWITCHBOARD_LLM_API_KEY", llm_key},
             {"SWITCHBOARD_SERVER_PUBLIC_URL", ""}};
    o.capture_stderr = true;
    return o;
  }

  std::string url(const std::string& path) const { return base + path; }

  json recorded(const std::string& service, uint64_t since = 0) const {
    auto r = test::http_get(
        url("/_sim/requests?service=" + service + "&since=" + std::to_string(since)));
    REQUIRE(r.status == 200);
    return r.json().at("requests");
  }

  json control(const std::string& path, const json& body) const {
    auto r = test::http_post_json(url(path), body);
    INFO(r.body);
    REQUIRE(r.status >= 200);
    REQUIRE(r.status < 300);
    return r.json();
  }
};

/// A tiny Switchboard stand-in: an sb_http_server that records what the simulator delivers.
struct receiver {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<http::request> got;
  http::server server;

  receiver()
      : server(http::server_options{}, [this](http::request&& req, http::responder respond) {
          {
            std::lock_guard<std::mutex> guard{mtx};
            got.push_back(req);
          }
          cv.notify_all();
          respond(http::response::make(200, R"({"received":true})"));
        }) {
    server.start();
  }
  ~receiver() { server.stop(std::chrono::milliseconds{500}); }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }

  /// Waits (bounded) until at least `n` requests arrived and returns them.
  std::vector<http::request> wait_for(std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait_for(lock, timeout, [&] { return got.size() >= n; });
    return got;
  }
};

/// Every key of `expected` (recursively; arrays by their first element) exists in `actual` with
/// the same JSON type. Values are not compared.
inline void require_same_shape(const json& expected, const json& actual,
                               const std::string& where = "$") {
  INFO("at " << where);
  if (expected.is_object()) {
    REQUIRE(actual.is_object());
    for (auto& [k, v] : expected.items()) {
      if (k == "user_id" || k == "parent_user_id") // business-scoped user ids: not simulated
        continue;
      INFO("key " << k);
      REQUIRE(actual.contains(k));
      require_same_shape(v, actual[k], where + "." + k);
    }
  } else if (expected.is_array()) {
    REQUIRE(actual.is_array());
    if (!expected.empty()) {
      REQUIRE(!actual.empty());
      require_same_shape(expected[0], actual[0], where + "[0]");
    }
  } else if (expected.is_number()) {
    REQUIRE(actual.is_number());
  } else {
    REQUIRE(expected.type() == actual.type());
  }
}

inline const std::string graph_path = "/v21.0/100000000000001/messages";
inline const std::string twilio_path = "/2010-04-01/Accounts/" + tw_sid + "/Messages.json";

inline std::string mtn_token(const sim_process& sim) {
  auto r = test::http_post(sim.url("/v1/oauth/access_token?grant_type=client_credentials"),
                           "client_id=" + mtn_id + "&client_secret=" + mtn_secret,
                           "application/x-www-form-urlencoded");
  REQUIRE(r.status == 200);
  return r.json().at("access_token").get<std::string>();
}

inline json chat(const sim_process& sim, const json& body) {
  auto r
      = test::http_post_json(sim.url("/v1/chat/completions"), body, {test::bearer_auth(llm_key)});
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json();
}

} // namespace e2e
