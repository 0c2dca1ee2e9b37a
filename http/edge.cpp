#include "http/edge.hpp"

namespace switchboard::http {

response to_response(const actors::edge_reply& r) {
  return response::make(r.status, r.body, r.content_type);
}

actors::edge_callback reply_to(responder respond) {
  return [respond = std::move(respond)](actors::edge_reply r) { respond(to_response(r)); };
}

std::string bearer_of(const request& req) {
  auto h = req.headers.get("Authorization");
  if (h.size() > 7 && (h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer "))
    return std::string{h.substr(7)};
  return {};
}

} // namespace switchboard::http
