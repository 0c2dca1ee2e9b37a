#include "core/delivery.hpp"

#include <array>
#include <utility>

namespace switchboard::core {

namespace {

int rank(delivery_status x) {
  switch (x) {
  case delivery_status::queued:
    return 0;
  case delivery_status::sent:
    return 1;
  case delivery_status::delivered:
    return 2;
  case delivery_status::read:
    return 3;
  case delivery_status::failed:
    break;
  }
  return -1;
}

} // namespace

std::string to_string(delivery_status x) {
  switch (x) {
  case delivery_status::queued:
    return "queued";
  case delivery_status::sent:
    return "sent";
  case delivery_status::delivered:
    return "delivered";
  case delivery_status::read:
    return "read";
  case delivery_status::failed:
    return "failed";
  }
  return "failed";
}

expected<delivery_status> parse_delivery_status(std::string_view text) {
  for (auto x : {delivery_status::queued, delivery_status::sent, delivery_status::delivered,
                 delivery_status::read, delivery_status::failed})
    if (to_string(x) == text)
      return x;
  return caf::make_error(sb_error::invalid_argument,
                         "unknown delivery status '" + std::string{text.substr(0, 32)} + "'");
}

std::optional<delivery_status> from_twilio_status(std::string_view status) {
  static constexpr std::array<std::pair<std::string_view, delivery_status>, 11> table{{
      {"queued", delivery_status::queued},
      {"accepted", delivery_status::queued},
      {"scheduled", delivery_status::queued},
      {"sending", delivery_status::queued},
      {"sent", delivery_status::sent},
      {"partially_delivered", delivery_status::sent},
      {"delivered", delivery_status::delivered},
      {"read", delivery_status::read},
      {"undelivered", delivery_status::failed},
      {"failed", delivery_status::failed},
      {"canceled", delivery_status::failed},
  }};
  for (auto& [name, value] : table)
    if (name == status)
      return value;
  return std::nullopt;
}

std::optional<delivery_status> from_whatsapp_status(std::string_view status) {
  if (status == "sent")
    return delivery_status::sent;
  if (status == "delivered")
    return delivery_status::delivered;
  if (status == "read" || status == "played")
    return delivery_status::read;
  if (status == "failed")
    return delivery_status::failed;
  return std::nullopt;
}

bool status_may_advance(delivery_status current, delivery_status incoming, bool retry_succeeded) {
  if (current == incoming)
    return false;
  if (current == delivery_status::failed)
    return retry_succeeded;
  if (incoming == delivery_status::failed)
    return current == delivery_status::queued || current == delivery_status::sent;
  return rank(incoming) > rank(current);
}

bool has_pricing(const message_pricing& p) {
  return p.billable.has_value() || !p.model.empty() || !p.category.empty() || !p.type.empty();
}

bool is_billable(const message_pricing& p) {
  if (!p.type.empty())
    return p.type == "regular";
  return p.billable.value_or(false);
}

double cost_units(const message_pricing& p) {
  return is_billable(p) ? 1.0 : 0.0;
}

std::optional<int64_t> provider_error_code(const caf::error& err) {
  if (!err)
    return std::nullopt;
  const auto& ctx = err.context();
  if (ctx.size() >= 2 && ctx.match_element<int64_t>(1))
    return ctx.get_as<int64_t>(1);
  return std::nullopt;
}

} // namespace switchboard::core
