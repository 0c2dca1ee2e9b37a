// The control API under /_sim/: one table of {method, path, handler}, the simulator's own routes
// (health, recorded requests, deliveries, faults, reset, config, help) followed by each
// provider's (provider_control_routes()).

#include <algorithm>
#include <string>

#include "core/form.hpp"
#include "sim/provider.hpp"
#include "sim/sim_impl.hpp"

namespace switchboard::sim {

namespace {

/// Form or query pairs as a JSON object; a repeated name becomes an array of its values.
json pairs_to_json(const core::form_params& params) {
  json out = json::object();
  for (auto& [k, v] : params) {
    if (!out.contains(k)) {
      out[k] = v;
    } else {
      if (!out[k].is_array())
        out[k] = json::array({out[k]});
      out[k].push_back(v);
    }
  }
  return out;
}

/// The JSON form of a recorded request: what tests and benchmarks assert on.
json render(const recorded_request& r) {
  json e = json::object();
  e["seq"] = r.seq;
  e["service"] = r.service;
  e["method"] = r.method;
  e["path"] = r.path;
  e["query"] = r.query;
  e["query_params"] = pairs_to_json(core::parse_form(r.query));
  json headers = json::object();
  std::string content_type;
  for (auto& [k, v] : r.headers) {
    auto name = lower(k);
    if (name == "content-type")
      content_type = lower(v);
    if (headers.contains(name))
      headers[name] = headers[name].get<std::string>() + ", " + v;
    else
      headers[name] = v;
  }
  e["headers"] = std::move(headers);
  e["body"] = r.body;
  e["json"] = nullptr;
  e["form"] = nullptr;
  if (!r.body.empty() && r.service != "smtp") {
    auto parsed = json::parse(r.body, nullptr, false);
    if (!parsed.is_discarded())
      e["json"] = std::move(parsed);
    if (content_type.find("application/x-www-form-urlencoded") != std::string::npos)
      e["form"] = pairs_to_json(core::parse_form(r.body));
  }
  e["remote"] = r.remote;
  e["received_at"] = r.received_at;
  e["status"] = r.status;
  e["fault"] = r.fault.empty() ? json(nullptr) : json(r.fault);
  auto response = json::parse(r.response, nullptr, false);
  e["response"] = r.response.empty()        ? json(nullptr)
                  : response.is_discarded() ? json(r.response)
                                            : std::move(response);
  if (r.extra.is_object())
    for (auto& [k, v] : r.extra.items())
      e[k] = v;
  return e;
}

/// Parses an unsigned integer query parameter; `fallback` when absent or invalid.
uint64_t query_u64(const core::form_params& q, std::string_view name, uint64_t fallback) {
  auto v = core::form_value(q, name);
  if (v.empty())
    return fallback;
  try {
    return std::stoull(std::string{v});
  } catch (...) {
    return fallback;
  }
}

} // namespace

std::vector<control_route> sim_core::own_routes() {
  return {
      {"GET", "/_sim/health",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         std::size_t n = 0;
         {
           std::lock_guard<std::mutex> guard{sim.impl_->rec_mtx};
           n = sim.impl_->records.size();
         }
         auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - sim.impl_->started)
                           .count();
         respond(json_response(200, {{"status", "ok"},
                                     {"http_port", sim.http_port()},
                                     {"smtp_port", sim.smtp_port()},
                                     {"recorded", n},
                                     {"uptime_s", uptime}}));
       }},
      {"GET", "/_sim/requests",
       [](sim_core& sim, const http::request& req, http::responder& respond) {
         auto q = core::parse_form(req.query);
         auto service = std::string{core::form_value(q, "service")};
         auto since = query_u64(q, "since", 0);
         auto limit = query_u64(q, "limit", UINT64_MAX);
         auto path_filter = std::string{core::form_value(q, "path")};
         std::vector<recorded_request> picked;
         uint64_t last = 0;
         {
           std::lock_guard<std::mutex> guard{sim.impl_->rec_mtx};
           last = sim.impl_->next_seq;
           for (auto& e : sim.impl_->records) {
             if (e.seq <= since)
               continue;
             if (!service.empty() && e.service != service)
               continue;
             if (!path_filter.empty() && e.path.find(path_filter) == std::string::npos)
               continue;
             if (picked.size() >= limit)
               break;
             picked.push_back(e);
           }
         }
         json out = json::array();
         for (auto& e : picked)
           out.push_back(render(e));
         respond(json_response(200, {{"requests", std::move(out)}, {"last_seq", last}}));
       }},
      {"DELETE", "/_sim/requests",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         std::lock_guard<std::mutex> guard{sim.impl_->rec_mtx};
         sim.impl_->records.clear();
         sim.impl_->deliveries.clear();
         respond(json_response(200, {{"cleared", true}, {"last_seq", sim.impl_->next_seq}}));
       }},
      {"GET", "/_sim/deliveries",
       [](sim_core& sim, const http::request& req, http::responder& respond) {
         auto q = core::parse_form(req.query);
         auto since = query_u64(q, "since", 0);
         auto service = std::string{core::form_value(q, "service")};
         json out = json::array();
         {
           std::lock_guard<std::mutex> guard{sim.impl_->rec_mtx};
           for (auto& e : sim.impl_->deliveries) {
             if (e["id"].get<uint64_t>() <= since)
               continue;
             if (!service.empty() && e["service"].get<std::string>() != service)
               continue;
             out.push_back(e);
           }
         }
         respond(json_response(200, {{"deliveries", std::move(out)}}));
       }},
      {"GET", "/_sim/faults",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         json out = json::object();
         std::lock_guard<std::mutex> guard{sim.impl_->fault_mtx};
         for (auto& [svc, f] : sim.impl_->faults)
           out[svc] = {{"path_contains", f.path_contains},
                       {"latency_ms", f.latency_ms},
                       {"error_rate", f.error_rate},
                       {"error_status", f.error_status},
                       {"fail_next", f.fail_next},
                       {"retry_after", f.retry_after},
                       {"hang", f.hang},
                       {"hang_next", f.hang_next},
                       {"seen", f.seen}};
         respond(json_response(200, {{"faults", std::move(out)}}));
       }},
      {"POST", "/_sim/faults",
       [](sim_core& sim, const http::request& req, http::responder& respond) {
         auto body = json::parse(req.body.empty() ? std::string{"{}"} : req.body, nullptr, false);
         if (!body.is_object()) {
           respond(http::response::error(400, "bad_request", "body must be a JSON object"));
           return;
         }
         std::vector<std::string> services;
         auto svc = body.value("service", json{});
         if (svc.is_string() && (svc == "*" || svc == "all"))
           services = known_services();
         else if (svc.is_string())
           services.push_back(svc.get<std::string>());
         else if (svc.is_array())
           for (auto& s : svc)
             if (s.is_string())
               services.push_back(s.get<std::string>());
         if (services.empty()) {
           respond(http::response::error(400, "bad_request", "\"service\" is required"));
           return;
         }
         for (auto& s : services)
           if (std::find(known_services().begin(), known_services().end(), s)
               == known_services().end()) {
             respond(http::response::error(400, "bad_request", "unknown service '" + s + "'"));
             return;
           }
         fault_config f;
         try {
           f.path_contains = body.value("path_contains", std::string{});
           f.latency_ms = body.value("latency_ms", int64_t{0});
           f.error_rate = std::clamp(body.value("error_rate", 0.0), 0.0, 1.0);
           f.fail_next = body.value("fail_next", int64_t{0});
           f.hang = body.value("hang", false);
           f.hang_next = body.value("hang_next", int64_t{0});
           f.retry_after = body.value("retry_after", 1);
           // A Retry-After without a status means a rate limit.
           f.error_status = body.value("error_status", body.contains("retry_after") ? 429 : 500);
           if (body.contains("seed") && body["seed"].is_number_integer()) {
             f.seed = body["seed"].get<uint64_t>();
             f.rng.seed(*f.seed);
           }
         } catch (const json::exception& e) {
           respond(http::response::error(400, "bad_request", e.what()));
           return;
         }
         {
           std::lock_guard<std::mutex> guard{sim.impl_->fault_mtx};
           for (auto& s : services)
             sim.impl_->faults[s] = f;
         }
         respond(json_response(200, {{"services", services}, {"applied", true}}));
       }},
      {"DELETE", "/_sim/faults",
       [](sim_core& sim, const http::request& req, http::responder& respond) {
         auto q = core::parse_form(req.query);
         auto service = std::string{core::form_value(q, "service")};
         {
           std::lock_guard<std::mutex> guard{sim.impl_->fault_mtx};
           if (service.empty())
             sim.impl_->faults.clear();
           else
             sim.impl_->faults.erase(service);
         }
         sim.impl_->release_held();
         respond(json_response(200, {{"cleared", service.empty() ? json("all") : json(service)}}));
       }},
      {"POST", "/_sim/reset",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         {
           std::lock_guard<std::mutex> guard{sim.impl_->fault_mtx};
           sim.impl_->faults.clear();
         }
         sim.impl_->release_held();
         {
           std::lock_guard<std::mutex> guard{sim.impl_->rec_mtx};
           sim.impl_->records.clear();
           sim.impl_->deliveries.clear();
         }
         {
           std::lock_guard<std::mutex> guard{sim.mtx};
           reset_provider_state(sim.state, sim.opts_);
         }
         respond(json_response(200, {{"reset", true}}));
       }},
      {"GET", "/_sim/config",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         respond(json_response(
             200, {{"server_url", sim.server_url()}, {"public_url", sim.public_url()}}));
       }},
      {"POST", "/_sim/config",
       [](sim_core& sim, const http::request& req, http::responder& respond) {
         auto body = json::parse(req.body.empty() ? std::string{"{}"} : req.body, nullptr, false);
         if (!body.is_object()) {
           respond(http::response::error(400, "bad_request", "body must be a JSON object"));
           return;
         }
         auto trimmed = [](std::string url) {
           while (!url.empty() && url.back() == '/')
             url.pop_back();
           return url;
         };
         {
           std::lock_guard<std::mutex> guard{sim.url_mtx_};
           if (body.contains("server_url") && body["server_url"].is_string())
             sim.server_url_ = trimmed(body["server_url"].get<std::string>());
           if (body.contains("public_url") && body["public_url"].is_string())
             sim.public_url_ = trimmed(body["public_url"].get<std::string>());
         }
         respond(json_response(
             200, {{"server_url", sim.server_url()}, {"public_url", sim.public_url()}}));
       }},
      {"GET", "/_sim/help",
       [](sim_core&, const http::request&, http::responder& respond) {
         respond(http::response::make(200, help_text(), "text/plain; charset=utf-8"));
       }},
  };
}

void sim_core::handle_control(http::request&& req, http::responder respond) {
  static const auto routes = [] {
    auto all = own_routes();
    for (auto& r : provider_control_routes())
      all.push_back(std::move(r));
    return all;
  }();
  for (auto& r : routes)
    if (r.path == req.path && r.method == req.method) {
      r.handle(*this, req, respond);
      return;
    }
  respond(http::response::error(404, "not_found",
                                "unknown control route " + req.method + " " + req.path));
}

} // namespace switchboard::sim
