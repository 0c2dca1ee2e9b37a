#include "core/error.hpp"

#include <caf/message.hpp>

namespace switchboard::core {

std::string to_string(sb_error x) {
  switch (x) {
  case sb_error::none:
    return "none";
  case sb_error::bad_signature:
    return "bad_signature";
  case sb_error::malformed:
    return "malformed";
  case sb_error::invalid_argument:
    return "invalid_argument";
  case sb_error::not_found:
    return "not_found";
  case sb_error::conflict:
    return "conflict";
  case sb_error::unavailable:
    return "unavailable";
  case sb_error::timeout:
    return "timeout";
  case sb_error::provider_transient:
    return "provider_transient";
  case sb_error::provider_rejected:
    return "provider_rejected";
  case sb_error::unsupported:
    return "unsupported";
  case sb_error::payload_too_large:
    return "payload_too_large";
  case sb_error::internal:
    return "internal";
  }
  return "unknown";
}

int http_status_for(sb_error x) {
  switch (x) {
  case sb_error::none:
    return 200;
  case sb_error::bad_signature:
    return 401;
  case sb_error::malformed:
    return 400;
  case sb_error::invalid_argument:
    return 422;
  case sb_error::not_found:
    return 404;
  case sb_error::conflict:
    return 409;
  case sb_error::unavailable:
    return 503;
  case sb_error::timeout:
    return 503;
  case sb_error::provider_transient:
    return 502;
  case sb_error::provider_rejected:
    return 502;
  case sb_error::unsupported:
    return 422;
  case sb_error::payload_too_large:
    return 413;
  case sb_error::internal:
    return 500;
  }
  return 500;
}

sb_error code_of(const caf::error& err) {
  if (!err)
    return sb_error::none;
  if (err.category() != caf::atom("switchbrd"))
    return err == caf::sec::request_timeout ? sb_error::timeout : sb_error::internal;
  return static_cast<sb_error>(err.code());
}

std::string reason_of(const caf::error& err) {
  if (!err)
    return {};
  const auto& ctx = err.context();
  if (ctx.size() >= 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return err.category() == caf::atom("switchbrd") ? std::string{} : to_string(err);
}

} // namespace switchboard::core
