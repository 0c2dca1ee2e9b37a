#include "http/console_api.hpp"

#include <charconv>
#include <ctime>
#include <map>
#include <set>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/metrics.hpp"
#include "actors/runtime.hpp"
#include "core/console.hpp"
#include "core/form.hpp"
#include "http/admin.hpp"

namespace switchboard::http {

namespace {

using nlohmann::json;

response from_reply(const actors::edge_reply& r) {
  return response::make(r.status, r.body, r.content_type);
}

actors::edge_callback answer(responder respond) {
  return [respond = std::move(respond)](actors::edge_reply r) { respond(from_reply(r)); };
}

/// The {id} path parameter, or a 400 answered through `respond`.
bool path_id(const path_params& p, const responder& respond, int64_t& id) {
  const auto& text = p.at("id");
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id < 1) {
    respond(response::error(400, "malformed", "id must be a positive number"));
    return false;
  }
  return true;
}

// OpenAPI operation objects (the admin listener's; security scheme "admin_token").

json query_param(const char* name, json schema, const char* description) {
  return {
      {"name", name}, {"in", "query"}, {"schema", std::move(schema)}, {"description", description}};
}

json paging_params() {
  return {
      query_param("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 500}},
                  "Rows per page (default 50)."),
      query_param("before_id", {{"type", "integer"}, {"minimum", 1}},
                  "Keyset paging: rows with a smaller id (the previous page's next_before_id).")};
}

json reveal_param() {
  return query_param("reveal", {{"enum", {"1", "true"}}},
                     "Show phones and bodies unmasked; the reveal is written to the audit log.");
}

json id_param() {
  return {{"name", "id"},
          {"in", "path"},
          {"required", true},
          {"schema", {{"type", "integer"}, {"minimum", 1}}}};
}

json error_response(const char* description) {
  return {{"description", description},
          {"content",
           {{"application/json",
             {{"schema",
               {{"type", "object"},
                {"required", {"error", "reason"}},
                {"properties",
                 {{"error", {{"type", "string"}}}, {"reason", {{"type", "string"}}}}}}}}}}}};
}

json operation(const char* id, const char* summary, const char* tag, json params,
               const char* ok_description,
               std::initializer_list<std::pair<const char*, const char*>> errors) {
  json responses{{"200",
                  {{"description", ok_description},
                   {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
                 {"401", error_response("Missing or invalid admin token (WWW-Authenticate).")}};
  for (auto [code, description] : errors)
    responses[code] = error_response(description);
  return {{"operationId", id},
          {"summary", summary},
          {"tags", {tag}},
          {"security", {{{"admin_token", json::array()}}}},
          {"parameters", std::move(params)},
          {"responses", std::move(responses)}};
}

json concat(json a, const json& b) {
  for (const auto& x : b)
    a.push_back(x);
  return a;
}

/// A list route: parses its filter from the query (400 with the reason when invalid).
template <class Parse, class Run> route_handler list_handler(Parse parse, Run run) {
  return [parse, run](request&& req, const path_params&, responder respond) {
    std::string why;
    auto f = parse(req.query, why);
    if (!f) {
      respond(response::error(400, "malformed", why));
      return;
    }
    run(std::move(*f), answer(std::move(respond)));
  };
}

/// A route on one row: /…/{id}[/action].
template <class Run> route_handler id_handler(Run run) {
  return [run](request&& req, const path_params& p, responder respond) {
    int64_t id = 0;
    if (!path_id(p, respond, id))
      return;
    run(id, core::console_reveal(req.query), answer(std::move(respond)));
  };
}

/// RFC 3339 UTC text of Unix seconds.
std::string rfc3339(double seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

/// The metrics' service name of a delivery-log provider.
std::string service_of(const std::string& provider) {
  return provider == "whatsapp_cloud" ? "whatsapp" : provider;
}

const char* circuit_name(int state) {
  return state == 2 ? "open" : state == 1 ? "half_open" : "closed";
}

/// /admin/v1/providers: the last hour from the delivery log joined with what this process
/// knows in memory (circuit, bulkhead); services with no rows (telegram, openai) too.
json providers_view(const json& counts, const std::vector<actors::metrics::provider_state>& live) {
  auto items = json::array();
  std::map<std::string, const actors::metrics::provider_state*> by_service;
  for (const auto& st : live)
    by_service[st.service] = &st;
  std::set<std::string> seen;
  auto add = [&](json item, const std::string& service) {
    auto it = by_service.find(service);
    const auto* st = it == by_service.end() ? nullptr : it->second;
    item["circuit"] = circuit_name(st ? st->circuit : 0);
    item["in_flight"] = st ? st->in_flight : 0;
    item["bulkhead_budget"] = st ? st->budget : 0;
    item["waiting_for_slot"] = st ? st->queued : 0;
    // The delivery log's latencies of the last hour (services with no rows: none).
    if (!item.contains("p50_ms"))
      item["p50_ms"] = nullptr;
    if (!item.contains("p99_ms"))
      item["p99_ms"] = nullptr;
    seen.insert(service);
    items.push_back(std::move(item));
  };
  for (const auto& c : counts.at("items")) {
    auto sent = c["sent_1h"].get<long long>(), failed = c["failed_1h"].get<long long>();
    json item = c;
    item["success_rate_1h"]
        = sent + failed == 0 ? json(nullptr) : json(static_cast<double>(sent) / (sent + failed));
    add(std::move(item), service_of(c["provider"].get<std::string>()));
  }
  for (const auto& st : live)
    if (!seen.count(st.service))
      add({{"provider", st.service},
           {"channel", nullptr},
           {"sent_1h", 0},
           {"failed_1h", 0},
           {"success_rate_1h", nullptr},
           {"queued", 0}},
          st.service);
  return json{{"items", std::move(items)}};
}

} // namespace

void add_console_api_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg,
                            const lifecycle& life) {
  auto* r = &rt;
  auto* l = &life;
  auto add = [&](const char* method, const char* pattern, const char* label, route_handler h,
                 json openapi) {
    routes.add({method, pattern, label, 0, admin_authenticated(cfg, std::move(h)), openapi.dump()});
  };
  const std::initializer_list<std::pair<const char*, const char*>> bad_query{
      {"400", "A filter or paging value is invalid."}};
  const std::initializer_list<std::pair<const char*, const char*>> one_row{
      {"400", "The id is not a number."}, {"404", "No such row."}};
  const std::initializer_list<std::pair<const char*, const char*>> action{
      {"400", "The id is not a number."},
      {"404", "No such row."},
      {"409", "The row is not in a state the action applies to."}};

  add("GET", "/admin/v1/deliveries", "console_deliveries",
      list_handler(core::parse_delivery_filter,
                   [r](core::delivery_filter f, actors::edge_callback done) {
                     r->console_deliveries(std::move(f), std::move(done));
                   }),
      operation("consoleListDeliveries", "Search the delivery log (newest first)", "console",
                concat(json{query_param("phone", {{"type", "string"}}, "The user's phone (E.164)."),
                            query_param("correlation_id", {{"type", "string"}}, "Exact."),
                            query_param("channel", {{"enum", {"whatsapp", "sms"}}}, ""),
                            query_param("status", {{"type", "string"}}, ""),
                            query_param("direction", {{"enum", {"inbound", "outbound"}}}, ""),
                            reveal_param()},
                       paging_params()),
                "{items: [delivery], next_before_id}; phones and bodies masked unless revealed.",
                bad_query));
  add("GET", "/admin/v1/deliveries/{id}", "console_delivery",
      id_handler([r](int64_t id, bool reveal, actors::edge_callback done) {
        r->console_delivery(id, reveal, std::move(done));
      }),
      operation("consoleGetDelivery", "One message and its story", "console",
                {id_param(), reveal_param()},
                "{delivery, story: [{at, kind, title, detail}]}, oldest first.", one_row));
  add("POST", "/admin/v1/deliveries/{id}/requeue", "console_requeue",
      id_handler([r](int64_t id, bool, actors::edge_callback done) {
        r->console_requeue(id, std::move(done));
      }),
      operation("consoleRequeueDelivery", "Requeue a failed outbound message (audited)", "console",
                {id_param()}, "The updated delivery item (queued, due now).", action));
  add("POST", "/admin/v1/deliveries/{id}/cancel", "console_cancel",
      id_handler([r](int64_t id, bool, actors::edge_callback done) {
        r->console_cancel(id, std::move(done));
      }),
      operation("consoleCancelDelivery", "Cancel a queued or failed outbound message (audited)",
                "console", {id_param()},
                "The updated delivery item (failed, last_error \"cancelled by operator\").",
                action));
  add("GET", "/admin/v1/queues", "console_queues",
      list_handler(core::parse_queue_filter,
                   [r](core::queue_filter f, actors::edge_callback done) {
                     r->console_queues(std::move(f), std::move(done));
                   }),
      operation("consoleQueues", "Backlogs and the outbound rows still to settle (oldest first)",
                "console",
                {query_param("status", {{"enum", {"queued", "retrying", "failed"}}}, ""),
                 query_param("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 500}}, ""),
                 query_param("after_id", {{"type", "integer"}, {"minimum", 1}},
                             "Paging: rows with a larger id (the previous page's next_after_id).")},
                "{outbound, notifications, inbox, items: [delivery + age_s], next_after_id}.",
                bad_query));
  add("GET", "/admin/v1/audit", "console_audit",
      list_handler(core::parse_console_page,
                   [r](core::console_page p, actors::edge_callback done) {
                     r->console_audit(p, std::move(done));
                   }),
      operation("consoleAudit", "The operators' actions and reveals (newest first)", "console",
                paging_params(), "{items: [{id, at, action, target, detail}], next_before_id}.",
                bad_query));
  add("GET", "/admin/v1/sessions", "console_sessions",
      list_handler(core::parse_session_filter,
                   [r](core::session_filter f, actors::edge_callback done) {
                     r->console_sessions(std::move(f), std::move(done));
                   }),
      operation(
          "consoleListSessions", "Sessions (newest first)", "console",
          concat(json{query_param("status", {{"enum", {"active", "follow_up", "closed"}}}, ""),
                      query_param("phone", {{"type", "string"}}, ""), reveal_param()},
                 paging_params()),
          "{items: [session], next_before_id}.", bad_query));
  add("GET", "/admin/v1/sessions/{id}", "console_session",
      id_handler([r](int64_t id, bool reveal, actors::edge_callback done) {
        r->console_session(id, reveal, std::move(done));
      }),
      operation("consoleGetSession", "A session with its context and deliveries", "console",
                {id_param(), reveal_param()}, "{session, deliveries}.", one_row));
  add("POST", "/admin/v1/sessions/{id}/close", "console_close_session",
      id_handler([r](int64_t id, bool, actors::edge_callback done) {
        r->console_close_session(id, std::move(done));
      }),
      operation("consoleCloseSession", "Close a session (audited)", "console", {id_param()},
                "The session item (closed, closed_reason \"operator\").", action));
  add(
      "GET", "/admin/v1/providers", "console_providers",
      [r](request&&, const path_params&, responder respond) {
        r->console_provider_counts([r, respond](actors::edge_reply reply) {
          if (reply.status != 200) {
            respond(from_reply(reply));
            return;
          }
          auto counts = json::parse(reply.body);
          respond(response::make(200, providers_view(counts, r->stats().provider_states()).dump()));
        });
      },
      operation("consoleProviders", "Per provider: the last hour's sends, circuit and bulkhead",
                "console", json::array(),
                "{items: [{provider, channel, sent_1h, failed_1h, success_rate_1h, p50_ms, "
                "p99_ms, circuit, in_flight, queued, bulkhead_budget, waiting_for_slot}]}.",
                {}));
  add(
      "GET", "/admin/v1/charts/sends", "console_chart_sends",
      [r](request&& req, const path_params&, responder respond) {
        auto text = std::string{core::form_value(core::parse_form(req.query), "minutes")};
        int minutes = 60;
        if (!text.empty()) {
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), minutes);
          if (ec != std::errc{} || end != text.data() + text.size() || minutes < 1
              || minutes > 1440) {
            respond(response::error(400, "malformed", "minutes must be a number from 1 to 1440"));
            return;
          }
        }
        r->console_sends_chart(minutes, answer(std::move(respond)));
      },
      operation("consoleChartSends", "Outbound messages per minute by channel and outcome",
                "console",
                {query_param("minutes", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1440}},
                             "How far back (default 60).")},
                "{minutes: [{t, by: {\"sms:sent\": n, ...}}]}, oldest first.", bad_query));
  add("GET", "/admin/v1/bot", "console_bot",
      list_handler(core::parse_bot_filter,
                   [r](core::bot_filter f, actors::edge_callback done) {
                     r->console_bot(f, std::move(done));
                   }),
      operation("consoleBot",
                "The support bot: rates, hand-offs and their notifications, articles cited, "
                "knowledge gaps",
                "console",
                {query_param("hours", {{"type", "integer"}, {"minimum", 1}, {"maximum", 8760}},
                             "The window of the answers' figures (default 168)."),
                 reveal_param()},
                "{rates: {conversations, handed_off, escalation_rate, questions, bot_answers, "
                "answer_rate}, hours, handed_off: [{..., notification, provider_replied, "
                "provider_replied_at}], top_articles: [{title, url, article_id, cited}], "
                "knowledge_gaps: [{question, at, count, reason}]}; questions masked unless "
                "revealed.",
                bad_query));
  add(
      "GET", "/admin/v1/node", "console_node",
      [r, l](request&&, const path_params&, responder respond) {
        auto b = r->stats().build();
        char host[256] = {};
        if (gethostname(host, sizeof host - 1) != 0)
          host[0] = 0;
        json node{{"node_id", std::string{host} + ":" + std::to_string(getpid())},
                  {"version", b.version},
                  {"commit", b.commit},
                  {"started_at", rfc3339(b.started_at)},
                  {"draining", l->draining.load()},
                  {"shards", nullptr}};
        // Shard ownership as the lease actor last saw it (no database round trip of its own).
        r->check_readiness([respond, node = std::move(node)](actors::readiness rd) mutable {
          if (rd.clustered)
            node["shards"] = {{"owned", rd.shards_owned}, {"leases_healthy", rd.leases_healthy}};
          respond(response::make(200, node.dump()));
        });
      },
      operation("consoleNode", "This node: version, commit, start, draining, shards", "console",
                json::array(),
                "{node_id, version, commit, started_at, draining, shards}; shards is "
                "{owned, leases_healthy} when cluster.enabled, else null.",
                {}));
}

} // namespace switchboard::http
