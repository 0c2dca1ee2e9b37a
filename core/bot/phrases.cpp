#include "core/bot/phrases.hpp"

namespace switchboard::core {

std::vector<std::string> default_handoff_phrases() {
  return {"human",          "agent",     "person",           "real person",
          "representative", "operator",  "speak to someone", "talk to someone",
          "someone real",   "live agent"};
}

} // namespace switchboard::core
