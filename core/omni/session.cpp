#include "core/omni/session.hpp"

#include <algorithm>

namespace switchboard::core {

std::string to_string(session_status x) {
  switch (x) {
  case session_status::active:
    return "active";
  case session_status::follow_up:
    return "follow_up";
  case session_status::closed:
    return "closed";
  }
  return "closed";
}

expected<session_status> parse_session_status(std::string_view text) {
  for (auto x : {session_status::active, session_status::follow_up, session_status::closed})
    if (to_string(x) == text)
      return x;
  return caf::make_error(sb_error::invalid_argument,
                         "unknown session status '" + std::string{text.substr(0, 32)} + "'");
}

session_machine::session_machine(std::chrono::seconds ttl) : ttl_(ttl) {
  // nop
}

session_record session_machine::open(int64_t profile_id,
                                     std::chrono::system_clock::time_point now) const {
  session_record s;
  s.profile_id = profile_id;
  s.status = session_status::active;
  s.context = nlohmann::json::object();
  s.created_at = now;
  s.last_activity_at = now;
  s.expires_at = now + ttl_;
  return s;
}

bool session_machine::is_expired(const session_record& s,
                                 std::chrono::system_clock::time_point now) const {
  return now >= s.expires_at;
}

expected<session_resolution>
session_machine::get_or_create(const std::optional<session_record>& current, int64_t profile_id,
                               std::chrono::system_clock::time_point now) const {
  session_resolution out;
  if (current) {
    if (current->profile_id != profile_id)
      return caf::make_error(sb_error::invalid_argument,
                             std::string{"session belongs to another profile"});
    if (current->status != session_status::closed && !is_expired(*current, now)) {
      out.session = *current;
      return out;
    }
    if (current->status != session_status::closed) {
      out.expired = *current;
      out.expired->status = session_status::closed;
    }
  }
  out.session = open(profile_id, now);
  out.created = true;
  return out;
}

expected<void> session_machine::touch(session_record& s,
                                      std::chrono::system_clock::time_point now) const {
  if (s.status == session_status::closed)
    return caf::make_error(sb_error::conflict, std::string{"session is closed"});
  s.last_activity_at = std::max(s.last_activity_at, now);
  s.expires_at = std::max(s.expires_at, now + ttl_);
  return {};
}

expected<bool> session_machine::set_status(session_record& s, session_status next) const {
  if (s.status == next)
    return false;
  if (s.status == session_status::closed)
    return caf::make_error(sb_error::conflict, "a closed session cannot become " + to_string(next));
  s.status = next;
  return true;
}

expected<void> session_machine::merge_context(session_record& s,
                                              const nlohmann::json& patch) const {
  if (!patch.is_object())
    return caf::make_error(sb_error::invalid_argument,
                           std::string{"context patch must be a JSON object, not "}
                               + patch.type_name());
  if (s.status == session_status::closed)
    return caf::make_error(sb_error::conflict, std::string{"session is closed"});
  auto merged = s.context.is_object() ? s.context : nlohmann::json::object();
  merged.merge_patch(patch);
  auto size = merged.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
  if (size > max_context_bytes)
    return caf::make_error(sb_error::invalid_argument,
                           "the session context would hold " + std::to_string(size)
                               + " bytes; at most " + std::to_string(max_context_bytes)
                               + " are kept (it goes into every prompt)");
  s.context = std::move(merged);
  return {};
}

bool session_machine::mark_summary_sent(session_record& s, summary_channel channel) const {
  auto& flag = channel == summary_channel::whatsapp ? s.whatsapp_summary_sent : s.sms_summary_sent;
  if (flag)
    return false;
  flag = true;
  return true;
}

} // namespace switchboard::core
