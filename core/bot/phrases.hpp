#pragma once

// The default hand-off phrases, in a header of their own so that config/settings.hpp can take
// its default from here without the bot's headers (one list: the one the bot tests hold against
// false positives, such as "speak to me" or "someone charged me twice").

#include <string>
#include <vector>

namespace switchboard::core {

/// Phrases that hand a conversation to a human by default (chatwoot.handoff_phrases).
std::vector<std::string> default_handoff_phrases();

} // namespace switchboard::core
