#include <catch2/catch.hpp>

#include <soci/soci.h>

#include "tests/support/stack.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// A call-ended webhook for one customer: a WhatsApp summary (template) and an SMS summary.
void summarise(test::stack& s, int customer) {
  auto phone = "+2507881234" + std::string{customer < 10 ? "0" : ""} + std::to_string(customer);
  json body{{"call_id", "bulkhead-" + std::to_string(customer)},
            {"phone_number", phone},
            {"summary", "Quoted 200k for the roof repair."},
            {"outcome", "quote sent"}};
  auto r = test::http_post_json(s.url("/webhooks/voice/call-ended"), body,
                                {test::bearer_auth(s.env("SWITCHBOARD_VOICE_TOKEN"))});
  INFO(r.body);
  REQUIRE(r.status == 202);
}

/// Requests the simulator received for a service on a path fragment.
std::size_t received(test::stack& s, const std::string& service, const std::string& path_part) {
  std::size_t n = 0;
  auto all = s.sim_requests(service); // kept alive while the loop walks it
  for (auto& r : all["requests"])
    n += r["path"].get<std::string>().find(path_part) != std::string::npos;
  return n;
}

int rows(test::stack& s, const std::string& where) {
  auto sql = s.db().connect();
  int n = -1;
  *sql << "SELECT count(*) FROM message_delivery_log WHERE " + where, soci::into(n);
  return n;
}

bool metrics_show(test::stack& s, const std::string& line) {
  return test::http_get(s.url("/metrics")).body.find(line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("a hung WhatsApp holds only its own bulkhead: SMS goes out meanwhile, and WhatsApp "
          "sends beyond its budget queue, then go out when it answers",
          "[bulkheads][fault]") {
  test::stack_options o;
  // A pool of 8 connections, 4 of them WhatsApp's at most. The old shared pool let the hung
  // WhatsApp sends take all 8, and SMS waited behind them until they timed out.
  o.env = {{"SWITCHBOARD_WHATSAPP_TEMPLATE_NAME", "call_summary"},
           {"SWITCHBOARD_HTTP_CLIENT_MAX_CONNECTIONS", "8"},
           {"SWITCHBOARD_HTTP_CLIENT_MAX_IN_FLIGHT_WHATSAPP", "4"},
           {"SWITCHBOARD_HTTP_CLIENT_TOTAL_TIMEOUT_MS", "60000"},
           {"SWITCHBOARD_RETRY_HORIZON_S", "600"}};
  test::stack s{o};
  auto hang
      = test::http_post_json(s.sim_url("/_sim/faults"), {{"service", "whatsapp"}, {"hang", true}});
  REQUIRE(hang.status == 200);

  // Ten summaries: WhatsApp's four slots hang, its six other sends wait; the SMS go out.
  for (int i = 0; i < 10; ++i)
    summarise(s, i);
  REQUIRE(test::eventually([&] { return received(s, "mtn", "/v3/sms") == 10; }, 15s));
  REQUIRE(test::eventually([&] { return received(s, "whatsapp", "/messages") >= 4; }));
  // Ten more while every WhatsApp call still hangs: their SMS too, long before WhatsApp's
  // 60 s timeout.
  for (int i = 10; i < 20; ++i)
    summarise(s, i);
  CHECK(test::eventually([&] { return received(s, "mtn", "/v3/sms") == 20; }, 15s));
  CHECK(rows(s, "channel = 'sms' AND status = 'sent'") == 20);

  // WhatsApp got its budget and no more; the other sends queue, none failed or was answered.
  CHECK(received(s, "whatsapp", "/messages") == 4);
  CHECK(rows(s, "channel = 'whatsapp' AND status = 'failed'") == 0);
  CHECK(rows(s, "channel = 'whatsapp' AND status = 'sent'") == 0);
  CHECK(test::eventually([&] {
    return metrics_show(s, R"(switchboard_http_client_in_flight{provider="whatsapp"} 4)")
           && metrics_show(s, R"(switchboard_http_client_queued{provider="whatsapp"} 16)");
  }));
  CHECK(metrics_show(s, R"(switchboard_http_client_budget{provider="whatsapp"} 4)"));
  CHECK(metrics_show(s, R"(switchboard_http_client_queued{provider="mtn"} 0)"));

  // WhatsApp answers again: the released calls (503) are retried, the queued ones go out.
  REQUIRE(test::http_delete(s.sim_url("/_sim/faults?service=whatsapp")).status == 200);
  CHECK(test::eventually([&] { return rows(s, "channel = 'whatsapp' AND status = 'sent'") == 20; },
                         30s));
  CHECK(rows(s, "channel = 'whatsapp' AND status = 'failed'") == 0);
  CHECK(test::eventually(
      [&] { return metrics_show(s, R"(switchboard_http_client_queued{provider="whatsapp"} 0)"); }));
}
