// The outbox per owned shard (migrations/0012_outbox_shards.sql): delivery rows and
// notifications know their entity's shard, the sweeper's claims take only the owned shards'
// rows, and the recording of attempts and send outcomes is fenced by the rows' shard leases.

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <soci/soci.h>

#include "core/events.hpp"
#include "storage/chatwoot.hpp"
#include "storage/cluster.hpp"
#include "storage/omnichannel.hpp"
#include "storage/outbox.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t shards = 8;

struct outbox_db : test::omni_db {
  outbox_db() {
    store = make_pg_lease_store(*sql);
    store->ensure_shards(shards);
  }

  /// A delivery row to `recipient`, due a second ago: queued outbound, or inbound unanswered.
  int64_t row(const std::string& recipient, bool inbound = false, const std::string& token = "") {
    long long id = 0;
    std::string rc = recipient, tok = token;
    std::string dir = inbound ? "inbound" : "outbound", st = inbound ? "received" : "queued";
    *sql << "INSERT INTO message_delivery_log (profile_id, channel, provider, direction, "
            "message_type, status, recipient, correlation_id, next_attempt_at, claim_token) "
            "VALUES (1, 'sms', 'mtn', :dir, 'reply', :st, :rc, 'corr', now() - interval '1 "
            "second', nullif(:tok, '')) RETURNING id",
        soci::use(dir), soci::use(st), soci::use(rc), soci::use(tok), soci::into(id);
    return id;
  }

  std::unique_ptr<lease_store> store;
};

std::string phone(int i) {
  return "+25078800" + std::to_string(1000 + i);
}

int32_t shard_of(const std::string& entity) {
  return static_cast<int32_t>(core::shard_of(entity, shards));
}

std::set<int64_t> ids_of(const std::vector<delivery_row>& rows) {
  std::set<int64_t> out;
  for (auto& r : rows)
    out.insert(r.id);
  return out;
}

} // namespace

TEST_CASE("the database's shard key is the entity hash core::shard_of uses", "[cluster]") {
  outbox_db d;
  for (std::string key : {"+250788001234", "", "wa:123:US.abc", "42:7", "Zoë ☎ 電話"}) {
    long long h = 0;
    *d.sql << "SELECT sb_fnv1a(:k)", soci::use(key), soci::into(h);
    INFO(key);
    CHECK(static_cast<uint32_t>(h % 256) == core::shard_of(key, 256));
    CHECK(static_cast<uint32_t>(h % shards) == core::shard_of(key, shards));
  }
  // Filled on insert, from the recipient.
  auto id = d.row(phone(1));
  CHECK(d.count("SELECT (shard_key % 8)::int FROM message_delivery_log WHERE id = "
                + std::to_string(id))
        == shard_of(phone(1)));
}

TEST_CASE("the outbox claims of two nodes take only their own shards' rows", "[cluster]") {
  outbox_db d;
  std::set<int64_t> queued, unanswered;
  std::map<int64_t, int32_t> shard;
  for (int i = 0; i < 24; ++i) {
    auto q = d.row(phone(i));
    auto u = d.row(phone(100 + i), true);
    queued.insert(q);
    unanswered.insert(u);
    shard[q] = shard_of(phone(i));
    shard[u] = shard_of(phone(100 + i));
  }
  owned_shards a{shards, {0, 1, 2, 3}}, b{shards, {4, 5, 6, 7}};
  auto now = std::chrono::system_clock::now();
  auto a_due
      = d.tx([&](soci::session& sql) { return claim_due_deliveries(sql, now, 60s, 200, a); });
  auto b_due
      = d.tx([&](soci::session& sql) { return claim_due_deliveries(sql, now, 60s, 200, b); });
  auto a_un
      = d.tx([&](soci::session& sql) { return claim_unanswered_inbound(sql, now, 60s, 200, a); });
  auto b_un
      = d.tx([&](soci::session& sql) { return claim_unanswered_inbound(sql, now, 60s, 200, b); });
  for (auto& r : a_due)
    CHECK(shard.at(r.id) < 4);
  for (auto& r : b_due)
    CHECK(shard.at(r.id) >= 4);
  for (auto& r : a_un)
    CHECK(shard.at(r.id) < 4);
  for (auto& r : b_un)
    CHECK(shard.at(r.id) >= 4);
  // Between them every row once.
  auto due = ids_of(a_due);
  for (auto id : ids_of(b_due))
    CHECK(due.insert(id).second);
  CHECK(due == queued);
  auto un = ids_of(a_un);
  for (auto id : ids_of(b_un))
    CHECK(un.insert(id).second);
  CHECK(un == unanswered);
  CHECK(!a_due.empty());
  CHECK(!b_due.empty());
  // A node owning nothing claims nothing; without a cluster every due row is claimed.
  auto later = now + 2min;
  CHECK(d.tx([&](soci::session& sql) {
           return claim_due_deliveries(sql, later, 60s, 200, owned_shards{shards, {}});
         }).empty());
  CHECK(d.tx([&](soci::session& sql) { return claim_due_deliveries(sql, later, 60s, 200); }).size()
        == queued.size());
}

TEST_CASE("notifications are claimed by the owner of their conversation's shard", "[cluster]") {
  outbox_db d;
  *d.sql << "INSERT INTO provider_notifications (account_id, conversation_id, handoff_seq, "
            "channel, recipient, body, status, correlation_id, next_attempt_at) VALUES "
            "(7, 42, 1, 'sms', '+250788000999', 'hand-off', 'queued', 'corr', now() - interval "
            "'1 second')";
  auto mine = shard_of("7:42");
  auto now = std::chrono::system_clock::now();
  CHECK(
      d.tx([&](soci::session& sql) {
         return claim_due_notifications(sql, now, 60s, 200, owned_shards{shards, {(mine + 1) % 8}});
       }).empty());
  CHECK(d.tx([&](soci::session& sql) {
           return claim_due_notifications(sql, now, 60s, 200, owned_shards{shards, {mine}});
         }).size()
        == 1);
}

TEST_CASE("a stale epoch's attempt and send record are refused; the owner's are recorded",
          "[cluster]") {
  outbox_db d;
  auto to = phone(7);
  auto s = shard_of(to);
  auto taken = d.store->take("node-a", shards, 1, 4000ms, s);
  REQUIRE(taken.size() == 1);
  shard_fence old_owner{"node-a", taken, shards};
  auto id = d.row(to, false, "tok-a");
  attempt_claim claim{id, "tok-a", outbox::deliveries};

  // node-a holds the lease: its attempt is taken.
  std::vector<int32_t> stale;
  auto begun = d.tx([&](soci::session& sql) {
    return begin_attempts(sql, {&claim}, 60s, outbox_fence{&old_owner, &stale});
  });
  CHECK(begun.at(0));
  CHECK(stale.empty());

  // The lease expires and node-b takes the shard (epoch bumped) while node-a's send is out.
  *d.sql << "UPDATE shard_leases SET expires_at = now() - interval '1 second' WHERE shard = "
                + std::to_string(s);
  auto stolen = d.store->take("node-b", shards, 1, 4000ms, s);
  REQUIRE(stolen.size() == 1);
  REQUIRE(stolen[0].epoch == taken[0].epoch + 1);

  // node-a's record of the send, and a second attempt, are refused and name the shard.
  sent_record rec;
  rec.id = id;
  rec.external_id = "mtn-1";
  auto recorded = d.tx([&](soci::session& sql) {
    return record_sends(sql, d.policy, {&rec}, outbox_fence{&old_owner, &stale});
  });
  CHECK_FALSE(recorded.at(0));
  CHECK(stale == std::vector<int32_t>{s});
  CHECK(d.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(id)
                + " AND status = 'queued' AND external_id IS NULL")
        == 1);
  stale.clear();
  CHECK_FALSE(d.tx([&](soci::session& sql) {
                 return begin_attempts(sql, {&claim}, 60s, outbox_fence{&old_owner, &stale});
               }).at(0));
  CHECK(stale == std::vector<int32_t>{s});

  // The new owner's fence passes: its record is written.
  shard_fence new_owner{"node-b", stolen, shards};
  stale.clear();
  CHECK(d.tx([&](soci::session& sql) {
           return record_sends(sql, d.policy, {&rec}, outbox_fence{&new_owner, &stale});
         }).at(0));
  CHECK(stale.empty());
  CHECK(d.count("SELECT count(*) FROM message_delivery_log WHERE id = " + std::to_string(id)
                + " AND status = 'sent' AND external_id = 'mtn-1'")
        == 1);

  // A row of a shard outside the fence is guarded by its claim token only (a call summary
  // accepted on a node that does not own the user).
  auto other = phone(8);
  while (shard_of(other) == s)
    other += "1";
  auto id2 = d.row(other, false, "tok-c");
  attempt_claim claim2{id2, "tok-c", outbox::deliveries};
  CHECK(d.tx([&](soci::session& sql) {
           return begin_attempts(sql, {&claim2}, 60s, outbox_fence{&new_owner, &stale});
         }).at(0));
  CHECK(stale.empty());
}
