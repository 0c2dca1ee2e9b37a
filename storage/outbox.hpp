#pragma once

// The outbox's hot steps, set-based: the claims of many attempts and the outcomes of many sends
// in one statement each (the channel adapters batch them through the storage actor).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/omnichannel.hpp"

namespace soci {
class session;
}

namespace switchboard::storage {

/// One attempt's claim: the row, the token the attempt holds, the table.
struct attempt_claim {
  int64_t id = 0;
  std::string token;
  outbox box = outbox::deliveries;
};

/// Takes the claim of queued rows for one attempt each, when their token still holds it (or
/// they are unclaimed); counts the attempts. Answers per claim whether it was taken. 1 round
/// trip per table present in the batch.
std::vector<bool> begin_attempts(soci::session& sql, const std::vector<const attempt_claim*>& in,
                                 std::chrono::milliseconds lease);

/// A send the provider accepted.
struct sent_record {
  int64_t id = 0;
  std::string external_id; ///< the provider's id (empty when it gave none)
  outbox box = outbox::deliveries;
};

/// Records sends as sent with the providers' ids, sets the sessions' summary flags for
/// summaries, and applies status callbacks that raced ahead of them. 2-3 round trips per batch
/// (plus 2 per early status found). Answers per record whether its row was updated.
std::vector<bool> record_sends(soci::session& sql, const std::vector<const sent_record*>& in);

} // namespace switchboard::storage
