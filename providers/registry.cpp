#include "providers/provider.hpp"

#include <utility>

#include "providers/mtn/send.hpp"
#include "providers/smtp/send.hpp"
#include "providers/telegram/send.hpp"
#include "providers/twilio/send.hpp"
#include "providers/whatsapp/send.hpp"

namespace switchboard::providers {

namespace {

using factory = std::shared_ptr<provider> (*)(const config::settings&);

/// Every provider a channel can send through, by the name configuration uses (sms.provider).
constexpr std::pair<const char*, factory> registered[] = {
    {"whatsapp", make_whatsapp}, {"mtn", make_mtn},   {"twilio", make_twilio},
    {"telegram", make_telegram}, {"smtp", make_smtp},
};

} // namespace

std::shared_ptr<provider> make_provider(const std::string& name, const config::settings& cfg) {
  for (const auto& [n, make] : registered)
    if (name == n)
      return make(cfg);
  return nullptr;
}

} // namespace switchboard::providers
