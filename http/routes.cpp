#include "http/routes.hpp"

#include "core/form.hpp"

namespace switchboard::http {

namespace {

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < p.size()) {
    if (p[pos] == '/') {
      ++pos;
      continue;
    }
    auto next = p.find('/', pos);
    out.push_back(
        p.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (next == std::string_view::npos)
      break;
    pos = next;
  }
  return out;
}

} // namespace

bool match_pattern(std::string_view pattern, std::string_view path, path_params& params) {
  auto ps = split_path(pattern);
  auto xs = split_path(path);
  if (ps.size() != xs.size())
    return false;
  path_params found;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].size() > 2 && ps[i].front() == '{' && ps[i].back() == '}') {
      if (xs[i].empty())
        return false;
      found[std::string{ps[i].substr(1, ps[i].size() - 2)}] = core::url_decode(xs[i]);
    } else if (ps[i] != xs[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

void route_table::add(route r) {
  routes_.push_back(std::move(r));
}

const route* route_table::match(std::string_view method, std::string_view path,
                                path_params& params) const {
  for (auto& r : routes_)
    if ((r.method == method || (method == "HEAD" && r.method == "GET"))
        && match_pattern(r.pattern, path, params))
      return &r;
  return nullptr;
}

std::vector<std::string> route_table::allowed(std::string_view path) const {
  std::vector<std::string> out;
  path_params ignored;
  for (auto& r : routes_)
    if (match_pattern(r.pattern, path, ignored))
      out.push_back(r.method);
  return out;
}

std::size_t route_table::body_limit(std::string_view method, std::string_view path,
                                    std::size_t fallback) const {
  path_params ignored;
  auto r = match(method, path, ignored);
  return r && r->body_limit > 0 ? r->body_limit : fallback;
}

handler route_table::make_handler() const {
  return [this](request&& req, responder respond) {
    path_params params;
    if (auto r = match(req.method, req.path, params)) {
      auto label = r->label;
      r->handler(std::move(req), params, [respond, label](response res) {
        if (res.route.empty())
          res.route = label;
        respond(std::move(res));
      });
      return;
    }
    auto methods = allowed(req.path);
    if (methods.empty()) {
      respond(response::error(404, "not_found", "no route for " + req.path));
      return;
    }
    std::string allow;
    for (auto& m : methods)
      allow += (allow.empty() ? "" : ", ") + m;
    auto res = response::error(405, "method_not_allowed", req.method + " is not allowed here");
    res.headers.add("Allow", allow);
    respond(std::move(res));
  };
}

} // namespace switchboard::http
