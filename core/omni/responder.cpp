#include "core/omni/responder.hpp"

#include "core/omni/format.hpp"

namespace switchboard::core {

namespace {

bool french(const nlohmann::json& context) {
  auto call = context.find("last_call");
  if (call == context.end() || !call->is_object())
    return false;
  auto lang = call->value("language", std::string{});
  return lang.rfind("fr", 0) == 0;
}

std::string string_at(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

} // namespace

std::string fallback_reply(const nlohmann::json& context, std::string_view message) {
  bool fr = french(context);
  std::string out = fr ? "Merci pour votre message, nous l'avons bien reçu."
                       : "Thank you for your message, we have received it.";
  auto call = context.find("last_call");
  std::vector<std::string> items;
  if (call != context.end() && call->is_object()) {
    if (auto a = call->find("action_items"); a != call->end() && a->is_array())
      for (auto& x : *a)
        if (x.is_string() && !x.get<std::string>().empty())
          items.push_back(x.get<std::string>());
    if (items.empty()) {
      auto outcome = string_at(*call, "outcome");
      if (!outcome.empty())
        items.push_back(outcome);
      else
        for (auto& point : summary_key_points(string_at(*call, "summary")))
          items.push_back(point);
    }
  }
  if (!items.empty()) {
    out += fr ? " Points en cours :" : " Open items:";
    for (std::size_t i = 0; i < items.size() && i < 3; ++i)
      out += (i == 0 ? " " : "; ") + truncate_text(items[i], 120);
    out += '.';
  }
  out += fr ? " Un conseiller vous répondra rapidement."
            : " An agent will get back to you shortly.";
  (void)message;
  return out;
}

std::string unsupported_type_notice(std::string_view type, const nlohmann::json& context) {
  if (french(context))
    return "Nous ne pouvons lire que les messages texte pour l'instant. Merci d'écrire votre "
           "message.";
  return "We can only read text messages for now. Please type your message.";
}

} // namespace switchboard::core
