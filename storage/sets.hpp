#pragma once

// Set-based steps over many profiles, sessions and delivery rows at once: each is one prepared
// statement per batch, whatever the batch size, so a batch of 100 events costs a handful of
// round trips instead of a dozen per event. Rows are locked in key order so that concurrent
// batches cannot deadlock on each other.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/omni/session.hpp"
#include "storage/omnichannel.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// Profiles of some users, created when unknown, locked until the transaction ends.
struct locked_profiles {
  std::map<std::string, profile_row> rows; ///< by key (a number, or a core::whatsapp_user_key)
  std::set<std::string> created;           ///< keys that had no profile before
};

/// A WhatsApp user's number and business-scoped user id, seen together in one message.
struct phone_user_id {
  std::string phone;
  std::string business;
  std::string user_id;
};

/// Creates the missing profiles (defaults: SMS allowed, no WhatsApp) and locks all of them:
/// numbers in number order (2 round trips), then users known by a BSUID only (a whatsapp_user_key)
/// in id order (2 round trips, 2 more when some are new). A number in `seen_with` whose BSUID
/// has a number-less profile is given to that profile rather than to a new one.
locked_profiles lock_profiles(soci::session& sql, const std::set<std::string>& keys,
                              const std::vector<phone_user_id>& seen_with = {});

/// Links BSUIDs to the profiles of the numbers they were seen with (by number, in
/// `profile_of_phone`); a BSUID linked elsewhere before moves to the number's profile. 1 round
/// trip.
void link_user_ids(soci::session& sql, const std::vector<phone_user_id>& links,
                   const std::map<std::string, int64_t>& profile_of_phone);

/// The profiles with these ids (not locked), by id. 1 round trip.
std::map<int64_t, profile_row> profiles_by_id(soci::session& sql, const std::set<int64_t>& ids);

/// Applies what an event tells about a profile (unset facts leave the field as it is; the
/// WhatsApp window only moves forward).
void apply_facts(profile_row& p, const profile_facts& f);

/// Whether two rows of a profile hold the same fields (a save would change nothing).
bool same_fields(const profile_row& a, const profile_row& b);

/// Writes the profiles' fields. 1 round trip.
void save_profiles(soci::session& sql, const std::vector<const profile_row*>& rows);

/// The open sessions of some profiles (by profile id), locked in profile order. 1 round trip.
std::map<int64_t, core::session_record> lock_open_sessions(soci::session& sql,
                                                           const std::set<int64_t>& profile_ids);

/// Sessions to write after the state machine ran: expired ones to close first (freeing the
/// one-open-session slot), new ones to insert (they get their ids), changed ones to save.
struct session_writes {
  std::vector<core::session_record*> expired;
  std::vector<core::session_record*> created;
  std::vector<core::session_record*> changed;
  std::vector<core::session_record*> touched; ///< only their expiry and activity changed
  std::string closed_reason;                  ///< for changed sessions that end up closed
};

/// Writes them: at most 4 round trips. Versions are bumped; ids assigned to the created.
void write_sessions(soci::session& sql, session_writes& w);

/// Inserts delivery rows (ids from the sequence first, so each input learns its id); a row whose
/// (provider, direction, external_id) exists already is not inserted (id 0 in the answer).
/// `next_attempt_at` is per row (nullopt: none). 2 round trips.
std::vector<int64_t>
insert_deliveries(soci::session& sql, std::vector<delivery_row>& rows,
                  const std::vector<std::optional<time_point>>& next_attempt_at);

/// The last `n` messages of a session with text (oldest first): id, direction and body only.
/// 1 round trip.
std::vector<delivery_row> session_history(soci::session& sql, int64_t session_id, int n);

} // namespace switchboard::storage
