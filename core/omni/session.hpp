#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace switchboard::core {

/// Lifecycle of a customer session: open for conversation, waiting on a follow-up, or done.
enum class session_status { active, follow_up, closed };

/// "active", "follow_up" or "closed" (the stored form).
std::string to_string(session_status x);

/// Parses the stored form; invalid_argument for anything else.
expected<session_status> parse_session_status(std::string_view text);

/// A session row as storage keeps it.
struct session_record {
  int64_t id = 0;                                         ///< 0 until storage assigns one
  int64_t profile_id = 0;                                 ///< the customer profile it belongs to
  session_status status = session_status::active;         ///< lifecycle state
  nlohmann::json context = nlohmann::json::object();      ///< free-form state, merged with RFC 7386
  std::chrono::system_clock::time_point created_at;       ///< when it was opened
  std::chrono::system_clock::time_point last_activity_at; ///< last inbound or outbound activity
  std::chrono::system_clock::time_point expires_at;       ///< expired from this instant on
  std::string call_id;                                    ///< voice call that started it, if any
  bool whatsapp_summary_sent = false;                     ///< the WhatsApp call summary went out
  bool sms_summary_sent = false;                          ///< the SMS call summary went out
  int64_t version = 0; ///< optimistic-locking counter; owned by storage, never changed here
};

/// Channel a call summary was delivered on.
enum class summary_channel { whatsapp, sms };

/// What get_or_create decided.
struct session_resolution {
  session_record session;                ///< the session to use (new when `created`)
  std::optional<session_record> expired; ///< the previous session, now closed, to persist
  bool created = false;                  ///< `session` is new and has no id yet
};

/// The session rules, free of I/O: sliding expiry, status transitions and context merging.
class session_machine {
public:
  /// `ttl` is the idle time after which a session expires.
  explicit session_machine(std::chrono::seconds ttl);

  /// The idle time-to-live.
  std::chrono::seconds ttl() const { return ttl_; }

  /// A new active session for `profile_id` opened at `now` (id 0, empty context object).
  session_record open(int64_t profile_id, std::chrono::system_clock::time_point now) const;

  /// True from expires_at on (the boundary instant is already expired).
  bool is_expired(const session_record& s, std::chrono::system_clock::time_point now) const;

  /// Reuses `current` when it is open and not expired; otherwise opens a new session and, when
  /// `current` was open but expired, returns it closed for storage. invalid_argument when
  /// `current` belongs to another profile. Does not touch the reused session.
  expected<session_resolution> get_or_create(const std::optional<session_record>& current,
                                             int64_t profile_id,
                                             std::chrono::system_clock::time_point now) const;

  /// Records activity: last_activity_at = now and expires_at = now + ttl (neither moves
  /// backwards). conflict on a closed session.
  expected<void> touch(session_record& s, std::chrono::system_clock::time_point now) const;

  /// Applies a status change: active <-> follow_up, either -> closed; closed is terminal
  /// (conflict). Returns whether anything changed (same -> same is a no-op).
  expected<bool> set_status(session_record& s, session_status next) const;

  /// Merges `patch` into the context per RFC 7386 (null deletes a member, objects merge
  /// recursively, anything else replaces). invalid_argument unless `patch` is an object;
  /// conflict on a closed session.
  expected<void> merge_context(session_record& s, const nlohmann::json& patch) const;

  /// The most a session's context may hold (compact JSON): it goes into every LLM prompt of the
  /// session, so a patch that would make it larger is refused (invalid_argument).
  static constexpr std::size_t max_context_bytes = 16 * 1024;

  /// Marks the call summary as sent on `channel`; false when it already was (send once).
  bool mark_summary_sent(session_record& s, summary_channel channel) const;

private:
  std::chrono::seconds ttl_;
};

} // namespace switchboard::core
