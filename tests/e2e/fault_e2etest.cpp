// Fault tests under load: kill -9 while clients send (every acknowledged message stored once and
// answered after the restart), PostgreSQL stopped and restarted while clients send (no 2xx for
// anything unstored, 503s say when to retry, accepting again soon after its return), and hostile
// JSON on every JSON route (a 4xx with a reason, never a 5xx nor a hang; the server stays up
// with bounded memory and descriptors).

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <soci/soci.h>

#include "config/settings.hpp"
#include "core/omni/tools.hpp"
#include "providers/chatwoot/signature.hpp"
#include "providers/mtn/signature.hpp"
#include "providers/whatsapp/signature.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

/// A signed MTN inbound SMS straight to the server.
test::http_result mtn(const test::stack& s, const std::string& id, const std::string& from,
                      const std::string& text, std::chrono::milliseconds timeout = 10s) {
  auto raw = json{{"from", from}, {"to", "SWITCHBRD"}, {"message", text}, {"id", id}}.dump();
  test::http_request req;
  req.method = "POST";
  req.url = s.url("/webhooks/sms/mtn");
  req.body = raw;
  req.timeout = timeout;
  req.connect_timeout = 1s;
  req.headers = {{"Content-Type", "application/json"},
                 {"X-MTN-Signature",
                  providers::mtn_signature(s.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET"), raw)}};
  return test::http_call(req);
}

/// What one request of a load run got.
struct outcome {
  std::string id;
  std::string from;
  long status = 0; ///< 0: no answer (transport error)
  std::string retry_after;
  clock_type::time_point started, ended;
};

/// Clients sending signed MTN messages with unique ids (`prefix<client>-<n>`) from `senders`
/// numbers until stopped; every outcome is kept.
class mtn_clients {
public:
  mtn_clients(const test::stack& s, std::string prefix, int clients, int senders,
              std::chrono::milliseconds pause = 0ms)
      : s_(s), prefix_(std::move(prefix)) {
    for (int c = 0; c < clients; ++c)
      threads_.emplace_back([this, c, senders, pause] { run(c, senders, pause); });
  }
  ~mtn_clients() { stop(); }

  std::vector<outcome> stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    std::lock_guard<std::mutex> g{mtx_};
    return outcomes_;
  }

  std::size_t answered_2xx() const { return ok_; }

private:
  void run(int client, int senders, std::chrono::milliseconds pause) {
    for (int n = 0; !stop_; ++n) {
      outcome o;
      o.id = prefix_ + std::to_string(client) + "-" + std::to_string(n);
      auto sender = (client * 7919 + n) % senders;
      o.from = "+2507880" + std::to_string(10000 + sender);
      o.started = clock_type::now();
      auto r = mtn(s_, o.id, o.from, "fault message " + o.id, 5s);
      o.ended = clock_type::now();
      o.status = r.status;
      o.retry_after = r.header("Retry-After");
      if (r.status >= 200 && r.status < 300)
        ++ok_;
      {
        std::lock_guard<std::mutex> g{mtx_};
        outcomes_.push_back(std::move(o));
      }
      if (r.status == 0)
        std::this_thread::sleep_for(50ms); // the server is down: do not spin
      else if (pause.count() > 0)
        std::this_thread::sleep_for(pause);
    }
  }

  const test::stack& s_;
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> ok_{0};
  std::mutex mtx_;
  std::vector<outcome> outcomes_;
  std::vector<std::thread> threads_;
};

/// A stack logging at `level` (debug, the test default, is most of the work under load).
test::stack_options logging_at(std::string level,
                               std::vector<std::pair<std::string, std::string>> env = {}) {
  test::stack_options o;
  o.env = std::move(env);
  o.env.emplace_back("SWITCHBOARD_LOG_LEVEL", std::move(level));
  return o;
}

bool is_2xx(long status) {
  return status >= 200 && status < 300;
}

/// Rows per key of a two-column (text, count) query.
std::map<std::string, long long> counts_by_key(const test::stack& s, const std::string& query) {
  auto sql = s.db().connect();
  std::map<std::string, long long> out;
  soci::rowset<soci::row> rows = (sql->prepare << query);
  for (auto& row : rows)
    out[row.get<std::string>(0)] = row.get<long long>(1);
  return out;
}

/// Whether every stored MTN message has been processed within `limit`.
bool all_processed(const test::stack& s, std::chrono::milliseconds limit) {
  return test::eventually(
      [&] {
        return test::count(
                   s, "SELECT count(*) FROM inbox WHERE source = 'mtn' AND processed_at IS NULL")
               == 0;
      },
      limit);
}

std::string ms(clock_type::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

} // namespace

TEST_CASE("kill -9 under load: every acknowledged message is stored once and answered after the "
          "restart; the others are stored at most once",
          "[fault]") {
  test::stack s{logging_at("info", {{"SWITCHBOARD_INBOX_POLL_GRACE_MS", "200"}})};
  mtn_clients clients{s, "k9-", 8, 40};
  // Kill it mid-run, once it has acknowledged a good number of messages.
  REQUIRE(test::eventually([&] { return clients.answered_2xx() >= 150; }, 20s));
  s.server().signal(SIGKILL);
  REQUIRE(s.server().wait(10s));
  std::this_thread::sleep_for(300ms); // the clients see the dead server
  auto outcomes = clients.stop();

  std::set<std::string> acked, all_ids;
  for (auto& r : outcomes) {
    all_ids.insert(r.id);
    if (is_2xx(r.status))
      acked.insert(r.id);
    else
      CHECK((r.status == 0 || r.status == 503)); // nothing else while it lives or dies
  }
  INFO(outcomes.size() << " requests, " << acked.size() << " acknowledged before the kill");
  REQUIRE(acked.size() >= 150);

  s.restart_server();
  auto restarted = clock_type::now();
  // Every stored message is processed (answered) within the deadline.
  auto answered = all_processed(s, 40s);
  INFO("all processed " << ms(clock_type::now() - restarted) << " after the restart");
  CHECK(answered);

  auto stored = counts_by_key(
      s, "SELECT dedupe_key, count(*) FROM inbox WHERE source = 'mtn' GROUP BY dedupe_key");
  auto logged = counts_by_key(s, "SELECT external_id, count(*) FROM message_delivery_log WHERE "
                                 "direction = 'inbound' AND provider = 'mtn' GROUP BY external_id");
  // Answered: each acknowledged message is linked to a reply (coalesced replies cover several).
  auto unanswered_count = [&] {
    auto linked = counts_by_key(s, "SELECT external_id, count(*) FROM message_delivery_log WHERE "
                                   "direction = 'inbound' AND provider = 'mtn' AND reply_id IS "
                                   "NOT NULL GROUP BY external_id");
    long long n = 0;
    for (auto& id : acked)
      n += linked.count(id) == 0;
    return n;
  };
  // A reply in flight at the crash is replayed when its claim lease (at least 30 s) expires.
  CHECK(test::eventually([&] { return unanswered_count() == 0; }, 45s));
  auto all_answered_after = clock_type::now() - restarted;
  long long lost = 0, duplicated = 0, extra_stored = 0, unanswered = unanswered_count();
  for (auto& id : acked) {
    lost += stored.count(id) == 0;
    duplicated += stored.count(id) && stored[id] != 1;
    duplicated += logged.count(id) && logged[id] != 1;
  }
  for (auto& [id, n] : stored) {
    CHECK(all_ids.count(id) == 1); // nothing stored that was not sent
    duplicated += n != 1 || (logged.count(id) && logged[id] != 1);
    extra_stored += acked.count(id) == 0;
  }
  INFO(acked.size() << " acked, " << stored.size() << " stored (" << extra_stored
                    << " of them unacknowledged), " << lost << " lost, " << duplicated
                    << " duplicated, " << unanswered << " acked but not answered");
  WARN("kill -9 under load: " << outcomes.size() << " requests, " << acked.size() << " acked, "
                              << stored.size() << " stored, " << lost << " lost, " << duplicated
                              << " duplicated; every acked message answered "
                              << ms(all_answered_after) << " after the restart");
  CHECK(lost == 0);
  CHECK(duplicated == 0);
  CHECK(unanswered == 0);
  // Every sender whose message was acknowledged got an SMS back.
  std::set<std::string> acked_senders, replied;
  for (auto& r : outcomes)
    if (is_2xx(r.status))
      acked_senders.insert(r.from);
  auto digits = [](std::string v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c < '0' || c > '9'; }), v.end());
    return v;
  };
  auto silent = [&] {
    replied.clear();
    auto all = s.sim_requests("mtn");
    for (auto& r : all["requests"])
      if (r["path"].get<std::string>().find("/v3/sms") != std::string::npos)
        for (auto& to : r["json"]["receiverAddress"])
          replied.insert(digits(to.get<std::string>()));
    std::size_t n = 0;
    for (auto& from : acked_senders)
      n += replied.count(digits(from)) == 0;
    return n;
  };
  CHECK(test::eventually([&] { return silent() == 0; }, 10s));
  // And the restarted server takes new traffic.
  CHECK(mtn(s, "k9-after", "+250788009999", "after the crash").status == 200);
}

TEST_CASE("PostgreSQL stopped and restarted under load: no 2xx for anything unstored, every 503 "
          "has Retry-After, accepting again within 2 s of its return",
          "[fault]") {
  test::stack s{logging_at("info")};
  mtn_clients clients{s, "pg-", 4, 20, 20ms};
  REQUIRE(test::eventually([&] { return clients.answered_2xx() >= 20; }, 20s));
  auto down_at = clock_type::now();
  s.db().set_available(false);
  std::this_thread::sleep_for(4s);
  auto up_at = clock_type::now();
  s.db().set_available(true);
  std::this_thread::sleep_for(3s);
  auto outcomes = clients.stop();

  auto stored = counts_by_key(
      s, "SELECT dedupe_key, count(*) FROM inbox WHERE source = 'mtn' GROUP BY dedupe_key");
  std::size_t ok = 0, unavailable = 0, unstored_2xx = 0, no_retry_after = 0, other = 0;
  std::size_t late_refusals = 0, ok_after = 0;
  std::optional<clock_type::duration> first_ok_after;
  for (auto& r : outcomes) {
    if (is_2xx(r.status)) {
      ++ok;
      unstored_2xx += stored.count(r.id) == 0;
      if (r.started >= up_at) {
        ++ok_after;
        if (!first_ok_after || r.ended - up_at < *first_ok_after)
          first_ok_after = r.ended - up_at;
      }
    } else if (r.status == 503) {
      ++unavailable;
      no_retry_after += r.retry_after.empty();
      late_refusals += r.started >= up_at + 2s;
    } else {
      ++other;
      UNSCOPED_INFO(r.id << " answered " << r.status);
    }
  }
  INFO(outcomes.size() << " requests: " << ok << " 2xx, " << unavailable << " 503, " << other
                       << " other; outage " << ms(up_at - down_at) << "; first 2xx "
                       << (first_ok_after ? ms(*first_ok_after) : std::string{"never"})
                       << " after the database returned");
  WARN("PostgreSQL stop under load: "
       << outcomes.size() << " requests, " << ok << " 2xx (" << unstored_2xx << " unstored), "
       << unavailable << " 503 (" << no_retry_after << " without Retry-After), " << other
       << " other; outage " << ms(up_at - down_at) << "; first 2xx "
       << (first_ok_after ? ms(*first_ok_after) : std::string{"never"})
       << " after the database returned");
  CHECK(unavailable > 0); // the outage was seen
  CHECK(unstored_2xx == 0);
  CHECK(no_retry_after == 0);
  CHECK(other == 0);
  REQUIRE(first_ok_after);
  CHECK(*first_ok_after < 2s);
  CHECK(late_refusals == 0);
  CHECK(ok_after > 0);
  // Nothing stored twice, and what was stored gets processed.
  for (auto& [id, n] : stored)
    CHECK(n == 1);
  CHECK(all_processed(s, 30s));
}

namespace {

/// A JSON route and how to make a request to it that passes authentication, so that the body
/// reaches the parser.
struct json_route {
  std::string name;
  std::string method;
  std::string path;
  std::function<test::header_pairs(const std::string& body)> auth;
  json valid; ///< a well-formed body, for truncation and wrong types
};

std::string unix_now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

/// Creates a provider through the CLI with the server's settings; returns its API key.
std::string provider_key(const test::stack& s) {
  test::process_options po;
  po.program = test::binary_path("app/switchboard");
  po.args = {"provider", "create", "--name", "Hostile JSON"};
  po.working_dir = SB_SOURCE_DIR;
  for (const auto& k : config::known_keys())
    if (auto v = s.env(k.env); !v.empty())
      po.env.emplace_back(k.env, v);
  po.ready_event = "";
  po.capture_stderr = true;
  test::child_process p{po};
  auto code = p.wait(30s);
  REQUIRE(code);
  INFO(p.stderr_output());
  REQUIRE(*code == 0);
  static const std::regex key{"sbk_[0-9a-f]{8}_[0-9a-f]{56}"};
  std::smatch m;
  auto out = p.stdout_output();
  REQUIRE(std::regex_search(out, m, key));
  return m.str();
}

std::vector<json_route> json_routes(const test::stack& s, const std::string& provider_key) {
  auto bearer = [](std::string token) {
    return [token](const std::string&) { return test::header_pairs{test::bearer_auth(token)}; };
  };
  std::vector<json_route> out;
  out.push_back({"voice call-ended", "POST", "/webhooks/voice/call-ended",
                 bearer(s.env("SWITCHBOARD_VOICE_TOKEN")),
                 json{{"call_id", "hostile-call"},
                      {"phone_number", "+250788123456"},
                      {"summary", "Quoted 200k."},
                      {"outcome", "quote sent"},
                      {"has_whatsapp", true},
                      {"action_items", {"Confirm"}}}});
  auto mtn_secret = s.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET");
  out.push_back(
      {"MTN inbound", "POST", "/webhooks/sms/mtn",
       [mtn_secret](const std::string& body) {
         return test::header_pairs{{"X-MTN-Signature", providers::mtn_signature(mtn_secret, body)}};
       },
       json{{"from", "+250788123456"},
            {"to", "SWITCHBRD"},
            {"message", "hi"},
            {"id", "hostile-mtn"}}});
  auto app_secret = s.env("SWITCHBOARD_WHATSAPP_APP_SECRET");
  out.push_back({"WhatsApp", "POST", "/webhooks/whatsapp",
                 [app_secret](const std::string& body) {
                   return test::header_pairs{
                       {"X-Hub-Signature-256", providers::hub_signature(app_secret, body)}};
                 },
                 test::fixture_json("whatsapp/inbound_text.json")});
  auto cw_secret = s.env("SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET");
  out.push_back({"Chatwoot", "POST", "/webhooks/chatwoot",
                 [cw_secret](const std::string& body) {
                   auto ts = unix_now();
                   return test::header_pairs{{"X-Chatwoot-Timestamp", ts},
                                             {"X-Chatwoot-Signature",
                                              providers::chatwoot_signature(cw_secret, ts, body)}};
                 },
                 json::parse(R"({"event":"message_created","account":{"id":7},)"
                             R"("message_type":"incoming","private":false,"content":"hi",)"
                             R"("id":9001,"sender":{"id":3,"name":"Aline","type":"contact"},)"
                             R"("conversation":{"id":109,"status":"pending","account_id":7}})")});
  auto tg_secret = s.env("SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET");
  out.push_back({"Telegram", "POST", "/webhooks/telegram",
                 [tg_secret](const std::string&) {
                   return test::header_pairs{{"X-Telegram-Bot-Api-Secret-Token", tg_secret}};
                 },
                 test::fixture_json("telegram/update_private_text__teloxide.json")});
  for (auto& tool : core::tool_names())
    out.push_back({"tool " + tool, "POST", "/api/v1/tools/" + tool,
                   bearer(s.env("SWITCHBOARD_API_TOKEN")),
                   json{{"phone_number", "+250788123456"},
                        {"message", "hi"},
                        {"status", "closed"},
                        {"context", {{"k", "v"}}}}});
  out.push_back({"provider config", "PUT", "/api/v1/providers/me/notification-config",
                 bearer(provider_key),
                 json{{"chatwoot_account_id", 7},
                      {"chatwoot_portal_slug", "acme-help"},
                      {"notify_via", "sms"},
                      {"notify_phone", "+250788123456"}}});
  return out;
}

/// A body that is not a usable JSON object: every route must refuse it with a 4xx.
struct hostile_body {
  std::string what;
  std::string body;
};

std::vector<hostile_body> malformed_bodies(const json& valid) {
  auto dump = valid.dump();
  std::vector<hostile_body> out{
      {"empty", ""},
      {"100k unclosed [", std::string(100000, '[')},
      {"100k nested arrays", std::string(100000, '[') + std::string(100000, ']')},
      {"10k nested objects",
       [] {
         std::string b;
         for (int i = 0; i < 10000; ++i)
           b += "{\"a\":";
         b += "1";
         b += std::string(10000, '}');
         return b;
       }()},
      {"deep value in the first field",
       "{\"" + valid.begin().key() + "\":" + std::string(5000, '[') + std::string(5000, ']')
           + dump.substr(dump.find(',') == std::string::npos ? dump.size() - 1 : dump.find(','))},
      {"a huge string", "\"" + std::string(200000, 'x') + "\""},
      {"invalid UTF-8", "{\"" + valid.begin().key() + "\":\"\xff\xfe\xc3\x28\"}"},
      {"invalid UTF-8 in a valid body",
       [&] {
         auto b = dump;
         auto at = b.find("\":\"");
         return at == std::string::npos ? b + "\xff" : b.insert(at + 3, "\xc3\x28\xff");
       }()},
      {"raw NUL bytes", std::string{"{\"a\":\"b\0c\"}", 11}},
      {"NUL only", std::string(64, '\0')},
      {"1e999", "1e999"},
      {"-1e999 in an array", "[-1e999]"},
      {"truncated", dump.substr(0, dump.size() / 2)},
      {"truncated by one byte", dump.substr(0, dump.size() - 1)},
      {"trailing garbage", dump + "}{"},
      {"a JSON array", "[" + dump + "]"},
      {"null", "null"},
      {"a number", "42"},
      {"a string", "\"hello\""},
      {"not JSON", "hello=world&a=b"},
      {"a lone surrogate escape", "{\"a\":\"\\ud800\"}"},
      {"10 MB", std::string(10 * 1024 * 1024, ' ') + dump},
  };
  return out;
}

/// Valid JSON with hostile contents: wrong types for every top-level field, duplicate keys,
/// numbers out of range, NUL characters, huge strings. A route's own rules decide whether each is
/// usable; a refusal must be a 4xx with a reason, and nothing may be a 5xx.
std::vector<hostile_body> hostile_values(const json& valid) {
  std::vector<hostile_body> out;
  const std::vector<std::pair<std::string, json>> wrong{{"a number", 42},
                                                        {"a float", 1.5e300},
                                                        {"a negative number", -1},
                                                        {"a string", "x"},
                                                        {"an array", json::array({1, "a"})},
                                                        {"an object", json{{"x", 1}}},
                                                        {"null", nullptr},
                                                        {"true", true}};
  for (auto field = valid.begin(); field != valid.end(); ++field) {
    const auto& key = field.key();
    const auto& v = field.value();
    for (auto& [what, w] : wrong) {
      if (json(w).type() == v.type())
        continue;
      auto b = valid;
      b[key] = w;
      out.push_back({key + " as " + what, b.dump()});
    }
    auto b = valid;
    b[key] = std::string(100000, 'y');
    out.push_back({key + " as a 100 kB string", b.dump()});
    b[key] = std::string{"a\0b", 3};
    out.push_back({key + " with a NUL character", b.dump()});
    auto dump = valid.dump();
    out.push_back({key + " duplicated with a wrong type",
                   dump.substr(0, dump.size() - 1) + ",\"" + key + "\":[[{}]]}"});
    b = valid;
    b.erase(key);
    out.push_back({"without " + key, b.dump()});
    auto raw = valid;
    raw[key] = 314159265358979LL; // a marker no fixture contains
    auto d = raw.dump();
    auto at = d.find("314159265358979");
    out.push_back({key + " as 1e999", d.replace(at, 15, "1e999")});
  }
  out.push_back({"an empty object", "{}"});
  return out;
}

} // namespace

TEST_CASE("hostile JSON on every JSON route: a 4xx with a reason, never a 5xx nor a hang; the "
          "server keeps serving with bounded memory and descriptors",
          "[fault]") {
  test::stack s{logging_at("warn")};
  auto key = provider_key(s);
  auto routes = json_routes(s, key);
  auto pid = s.server().pid();
  // A warm-up round of valid bodies, so that the baseline includes the pools and caches.
  for (auto& r : routes) {
    test::http_request req;
    req.method = r.method;
    req.url = s.url(r.path);
    req.body = r.valid.dump();
    req.headers = r.auth(req.body);
    req.headers.emplace_back("Content-Type", "application/json");
    auto res = test::http_call(req);
    INFO(r.name << " (valid body) -> " << res.status << " " << res.body);
    CHECK(res.status < 500);
  }
  std::this_thread::sleep_for(500ms);
  auto rss_before = test::resident_kb(pid);
  auto fds_before = test::open_fd_count(pid);

  std::size_t sent = 0, accepted = 0, strict_failures = 0;
  auto storm = [&](const json_route& r, const hostile_body& h, bool must_refuse) {
    test::http_request req;
    req.method = r.method;
    req.url = s.url(r.path);
    req.body = h.body;
    req.headers = r.auth(req.body);
    req.headers.emplace_back("Content-Type", "application/json");
    req.timeout = 10s;
    auto res = test::http_call(req);
    ++sent;
    INFO(r.name << " with " << h.what << " -> " << res.status << " in " << ms(res.elapsed) << ": "
                << res.body.substr(0, 300) << res.error);
    CHECK(res.ok()); // an answer, not a hang or a reset
    CHECK(res.elapsed < 5s);
    CHECK(res.status != 401); // signed: the body reached the parser
    CHECK(res.status < 500);
    if (is_2xx(res.status)) {
      ++accepted;
      CHECK_FALSE(must_refuse);
      strict_failures += must_refuse;
      return;
    }
    CHECK(res.status >= 400);
    json reason;
    try {
      reason = res.json();
    } catch (const std::exception&) {
      FAIL_CHECK("the answer is not JSON");
      return;
    }
    CHECK(reason.is_object());
    CHECK(reason.value("reason", std::string{}).size() > 0);
    // Database error text never reaches a client.
    CHECK(res.body.find("ERROR:") == std::string::npos);
  };
  for (auto& r : routes) {
    for (auto& h : malformed_bodies(r.valid))
      storm(r, h, true);
    for (auto& h : hostile_values(r.valid))
      storm(r, h, false);
    // Alive between routes.
    REQUIRE(test::http_get(s.url("/healthz")).status == 200);
  }
  CHECK(strict_failures == 0);

  // Still alive, still serving, and what the storm cost is bounded.
  REQUIRE(s.server().running());
  CHECK(test::http_get(s.url("/healthz")).status == 200);
  CHECK(test::http_get(s.url("/readyz")).status == 200);
  CHECK(mtn(s, "after-the-storm", "+250788123456", "still there?").status == 200);
  REQUIRE(test::eventually([&] { return test::open_fd_count(pid) <= fds_before + 8; }, 5s));
  auto rss_after = test::resident_kb(pid);
  INFO("RSS " << rss_before << " kB -> " << rss_after << " kB; fds " << fds_before << " -> "
              << test::open_fd_count(pid));
#if defined(__SANITIZE_ADDRESS__)
  constexpr long rss_growth_limit_kb = 512 * 1024; // ASan's quarantine holds freed memory
#else
  constexpr long rss_growth_limit_kb = 128 * 1024;
#endif
  WARN("hostile JSON: " << sent << " requests on " << routes.size() << " routes, " << accepted
                        << " valid JSON with hostile values accepted by a route's own rules; RSS "
                        << rss_before << " -> " << rss_after << " kB, fds " << fds_before << " -> "
                        << test::open_fd_count(pid));
  CHECK(rss_after - rss_before < rss_growth_limit_kb);
}
