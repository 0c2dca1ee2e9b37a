#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/events.hpp"
#include "storage/cluster.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// The outcome of storing one inbox entry.
struct inbox_stored {
  int64_t id = 0;        ///< the row's id (arrival order)
  bool inserted = false; ///< false: the dedupe key was stored before (a duplicate webhook)
};

/// Stores a batch of entries with one multi-row INSERT ... ON CONFLICT DO NOTHING (1 round
/// trip; no transaction of its own is needed). Answers per entry, in order; an entry repeated
/// within the batch is inserted once and is a duplicate the second time.
std::vector<inbox_stored> insert_inbox(soci::session& sql,
                                       const std::vector<const core::inbox_entry*>& entries);

/// Sets up a connection that runs insert_inbox and nothing else (an ingest worker's): the
/// INSERT's plan does not depend on the table's size or the batch (it inserts what it is given
/// and checks conflicts through the primary key), so it is planned once per connection instead
/// of once per batch as on the other connections (storage::open_session forces custom plans).
void use_for_ingest_only(soci::session& sql);

/// A pending row taken for processing.
struct inbox_row {
  int64_t id = 0;
  std::string source;
  std::string dedupe_key;
  std::string entity;
  std::string payload;
  std::string correlation_id;
};

/// Takes the pending rows of `kind` for these entities, oldest first, at most `limit` of each
/// entity (an entity with more pending keeps the rest for its next take): marks
/// them processed (the caller's effects commit in the same transaction) and returns them in id
/// order. Rows locked by another transaction are skipped (SKIP LOCKED). 1 round trip.
std::vector<inbox_row> take_inbox(soci::session& sql, const std::string& kind,
                                  const std::vector<std::string>& entities, int limit);

/// take_inbox fenced by shard leases (a cluster): in the same statement (still 1 round trip)
/// the fence's lease rows are read FOR SHARE (until the transaction ends) and only rows of
/// shards whose owner and epoch are still the fence's are taken; the other fenced shards are
/// added to `stale` (their rows stay pending for the new owner). Rows of shards outside the
/// fence are not taken.
std::vector<inbox_row> take_inbox(soci::session& sql, const std::string& kind,
                                  const std::vector<std::string>& entities, int limit,
                                  const shard_fence& fence, std::vector<int32_t>& stale);

/// An entity with pending rows.
struct pending_entity {
  std::string kind;
  std::string entity;
};

/// Entities with rows still pending `grace` after they arrived (their wake-up was lost: a crash,
/// a full queue), oldest first. 1 round trip.
std::vector<pending_entity> pending_inbox(soci::session& sql, std::chrono::milliseconds grace,
                                          int limit);

/// pending_inbox over some shards only (the ones a node of a cluster owns). 1 round trip.
std::vector<pending_entity> pending_inbox(soci::session& sql, std::chrono::milliseconds grace,
                                          int limit, const std::vector<int32_t>& shards);

/// Sets aside the oldest pending row of an entity that cannot be processed (its accept keeps
/// failing for a reason of its own): marked processed with `reason` as its result, so that the
/// entity's later rows can go. Returns its dedupe key (empty when none was pending). 1 round trip.
std::string dead_letter_oldest(soci::session& sql, const std::string& kind,
                               const std::string& entity, const std::string& reason);

/// Deletes processed rows received more than `retention` ago (the dedupe window), at most
/// `limit`; returns how many.
int purge_inbox(soci::session& sql, std::chrono::seconds retention, int limit);

} // namespace switchboard::storage

namespace switchboard::storage {

/// Records events that are processed in the same transaction (call-ended: its effects commit
/// with the row): inserted as processed, or found to be duplicates. 1 round trip.
std::vector<inbox_stored> record_inbox(soci::session& sql,
                                       const std::vector<const core::inbox_entry*>& entries);

/// The answers stored for some keys of a source (keys without one are absent). 1 round trip.
std::map<std::string, std::string> inbox_results(soci::session& sql, const std::string& source,
                                                 const std::vector<std::string>& keys);

/// Stores the answers given for rows of a source (parallel vectors). 1 round trip.
void set_inbox_results(soci::session& sql, const std::string& source,
                       const std::vector<std::string>& keys,
                       const std::vector<std::string>& results);

} // namespace switchboard::storage
