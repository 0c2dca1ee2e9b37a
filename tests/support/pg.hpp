#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/omni/outbound.hpp"
#include "core/omni/session.hpp"
#include "storage/omnichannel.hpp"

namespace soci {
class session;
}

namespace switchboard::test {

/// DSN of the private test cluster (SWITCHBOARD_TEST_DSN, exported by scripts/test); the test
/// fails with a clear message when it is unset.
std::string cluster_dsn();

/// A fresh database created for one test and dropped (with its connections) afterwards.
class scratch_db {
public:
  scratch_db();
  ~scratch_db();
  scratch_db(const scratch_db&) = delete;
  scratch_db& operator=(const scratch_db&) = delete;

  /// DSN of the scratch database.
  const std::string& dsn() const { return dsn_; }
  /// Database name.
  const std::string& name() const { return name_; }
  /// A new SOCI session on it.
  std::unique_ptr<soci::session> connect() const;
  /// Runs a statement on the cluster's maintenance connection (e.g. to cut connections).
  void admin(const std::string& sql) const;
  /// Refuses new connections and terminates existing ones (a database outage), or ends it.
  void set_available(bool available) const;

private:
  std::string name_;
  std::string dsn_;
};

/// A scratch database with every embedded migration applied and a session on it.
struct migrated_db {
  migrated_db();
  virtual ~migrated_db();

  /// Runs `f(session)` in a transaction (committed, or rolled back when it throws).
  template <class F> auto tx(F f) {
    begin();
    try {
      auto r = f(*sql);
      commit();
      return r;
    } catch (...) {
      rollback();
      throw;
    }
  }

  /// The integer a one-value query returns.
  int count(const std::string& query);

  scratch_db db;
  std::unique_ptr<soci::session> sql;

private:
  void begin();
  void commit();
  void rollback();
};

/// A migrated database with what the omnichannel flows take: the session rules (24 h), the
/// default channel policy and a fixed "now".
struct omni_db : migrated_db {
  core::session_machine machine{std::chrono::hours{24}};
  core::channel_policy policy;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// One-row calls of the outbox for tests, through the batch flows the server runs
// (storage::begin_attempts, record_sends, reschedule_row, apply_status_update).

/// Takes a queued row's claim for one attempt (false when another claimant or a final status
/// won).
bool begin_attempt(soci::session& sql, int64_t id, const std::string& token,
                   std::chrono::milliseconds lease,
                   storage::outbox box = storage::outbox::deliveries);
/// Records a send as sent with the provider's id; answers the row afterwards.
storage::delivery_row record_sent(soci::session& sql, int64_t id, const std::string& external_id);
/// Puts a queued row back in the outbox, due at `retry_at`.
void record_retry(soci::session& sql, int64_t id, const std::string& error,
                  std::chrono::system_clock::time_point retry_at);
/// Applies a status callback; the row's status afterwards, empty when parked for later.
std::string apply_status(soci::session& sql, const std::string& provider,
                         const std::string& external_id, const std::string& status,
                         const std::string& error);

/// Replaces the database name in a DSN URI ("postgresql://u@h:p/db?x" -> ".../name?x").
std::string dsn_with_database(const std::string& dsn, const std::string& name);

} // namespace switchboard::test
