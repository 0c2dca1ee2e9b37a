#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

test::stack_options defaults(std::vector<std::pair<std::string, std::string>> env = {}) {
  test::stack_options o;
  o.with_sim = false;
  // The stack serves /metrics on the public port too (tests read it there); these tests check
  // the product's default.
  env.emplace_back("SWITCHBOARD_ADMIN_METRICS_ON_PUBLIC_PORT", "false");
  o.env = std::move(env);
  return o;
}

test::header_pairs bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

test::http_result put_json(const std::string& url, std::string body, test::header_pairs h) {
  test::http_request r;
  r.method = "PUT";
  r.url = url;
  r.body = std::move(body);
  h.emplace_back("Content-Type", "application/json");
  r.headers = std::move(h);
  return test::http_call(r);
}

} // namespace

TEST_CASE("the admin listener serves /metrics and the controls with its token; the public "
          "port serves no /metrics",
          "[admin]") {
  test::stack s{defaults()};
  REQUIRE(s.admin_port() != 0);
  REQUIRE(s.admin_port() != s.port());
  auto token = s.env("SWITCHBOARD_ADMIN_TOKEN");

  CHECK(test::http_get(s.url("/metrics")).status == 404);
  CHECK(test::http_get(s.url("/healthz")).status == 200);

  // Health is open (probes carry no token); everything else needs the bearer.
  CHECK(test::http_get(s.admin_url("/healthz")).status == 200);
  auto ready = test::http_get(s.admin_url("/readyz"));
  CHECK(ready.status == 200);
  CHECK(ready.json().at("status") == "ready");
  auto anonymous = test::http_get(s.admin_url("/metrics"));
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(anonymous.json().at("error") == "unauthorized");
  CHECK(test::http_get(s.admin_url("/metrics"), bearer(token + "x")).status == 401);
  CHECK(test::http_get(s.admin_url("/metrics"), bearer(s.env("SWITCHBOARD_API_TOKEN"))).status
        == 401);
  auto metrics = test::http_get(s.admin_url("/metrics"), bearer(token));
  REQUIRE(metrics.status == 200);
  CHECK(metrics.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  // The public port's requests are counted, the admin's too (under their own route labels).
  CHECK(metrics.body.find(
            R"(switchboard_http_requests_total{method="GET",route="healthz",status="200"} 1)")
        != std::string::npos);
  CHECK(metrics.body.find(R"(route="admin_metrics",status="401")") != std::string::npos);

  // The log level, changed at run time.
  auto level = test::http_get(s.admin_url("/admin/v1/log-level"), bearer(token));
  REQUIRE(level.status == 200);
  auto before = level.json().at("level").get<std::string>();
  CHECK(put_json(s.admin_url("/admin/v1/log-level"), R"({"level":"warn"})", {}).status == 401);
  auto changed = put_json(s.admin_url("/admin/v1/log-level"), R"({"level":"warn"})", bearer(token));
  CHECK(changed.status == 200);
  CHECK(test::http_get(s.admin_url("/admin/v1/log-level"), bearer(token)).json().at("level")
        == "warn");
  auto loud = put_json(s.admin_url("/admin/v1/log-level"), R"({"level":"loud"})", bearer(token));
  CHECK(loud.status == 422);
  CHECK(put_json(s.admin_url("/admin/v1/log-level"), "{", bearer(token)).status == 400);
  CHECK(
      put_json(s.admin_url("/admin/v1/log-level"), R"({"level":")" + before + "\"}", bearer(token))
          .status
      == 200);
  // The line is written after the answer is sent: wait for it rather than race it.
  CHECK(test::eventually([&] {
    return s.server().stderr_output().find(R"("msg":"log level changed","from":")" + before
                                           + R"(","to":"warn")")
           != std::string::npos;
  }));

  // Drain: readiness fails on both listeners, health and the routes keep working; undone by
  // DELETE.
  CHECK(test::http_post(s.admin_url("/admin/v1/drain"), "").status == 401);
  CHECK(
      test::http_post(s.admin_url("/admin/v1/drain"), "", "application/json", bearer(token)).status
      == 200);
  auto draining = test::http_get(s.url("/readyz"));
  CHECK(draining.status == 503);
  CHECK(draining.json().at("status") == "draining");
  CHECK(test::http_get(s.admin_url("/readyz")).status == 503);
  CHECK(test::http_get(s.url("/healthz")).status == 200);
  CHECK(test::http_get(s.admin_url("/admin/v1/status"), bearer(token)).json().at("draining")
        == true);
  CHECK(test::http_delete(s.admin_url("/admin/v1/drain"), bearer(token)).status == 200);
  CHECK(test::http_get(s.url("/readyz")).status == 200);
}

TEST_CASE("without admin.token the admin routes are closed, health stays open", "[admin]") {
  test::stack s{defaults({{"SWITCHBOARD_ADMIN_TOKEN", ""}})};
  auto m = test::http_get(s.admin_url("/metrics"), bearer(""));
  CHECK(m.status == 401);
  CHECK(m.json().at("reason").get<std::string>().find("admin.token is not set")
        != std::string::npos);
  CHECK(test::http_get(s.admin_url("/metrics"), bearer("anything")).status == 401);
  CHECK(test::http_get(s.admin_url("/healthz")).status == 200);
  CHECK(s.server().stderr_output().find("admin.token is not set") != std::string::npos);
}

TEST_CASE("SIGTERM: /readyz fails at once, requests are served through the grace period, "
          "then the server drains and exits 0",
          "[admin]") {
  test::stack s{defaults({{"SWITCHBOARD_SERVER_SHUTDOWN_GRACE_MS", "1500"}})};
  REQUIRE(test::http_get(s.url("/readyz")).status == 200);
  auto t0 = std::chrono::steady_clock::now();
  s.server().signal(SIGTERM);
  CHECK(test::eventually([&] { return test::http_get(s.url("/readyz")).status == 503; }, 500ms));
  // Still serving, on both listeners, well into the grace period.
  std::this_thread::sleep_for(700ms);
  CHECK(test::http_get(s.url("/healthz")).status == 200);
  CHECK(test::http_get(s.admin_url("/readyz")).json().at("status") == "draining");
  auto rc = s.server().wait(10s);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK(took >= 1500ms);
  CHECK(took < 8s);
  auto log = s.server().stderr_output();
  CHECK(log.find(R"("msg":"shutting down","signal":"SIGTERM","grace_ms":1500)")
        != std::string::npos);
  CHECK(log.find(R"("msg":"stopped")") != std::string::npos);
}
