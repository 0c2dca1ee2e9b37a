#include "http/console_api.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "actors/runtime.hpp"
#include "core/console.hpp"
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

} // namespace

void add_console_api_routes(route_table& routes, actors::runtime& rt, const config::settings& cfg) {
  auto* r = &rt;
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
}

} // namespace switchboard::http
