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

  /// `node`'s lease of `shard`, taken now (the shard must be free or expired).
  shard_fence take_lease(const std::string& node, int32_t shard) {
    auto taken = store->take(node, shards, 1, 4000ms, shard);
    REQUIRE(taken.size() == 1);
    return shard_fence{node, taken, shards};
  }

  /// Lets the lease of `shard` expire, for another node to take it.
  void expire(int32_t shard) {
    *sql << "UPDATE shard_leases SET expires_at = now() - interval '1 second' WHERE shard = "
                + std::to_string(shard);
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
  for (std::string key : {"+250788001234", "", "42:7", "Zoë ☎ 電話"}) {
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
  // A WhatsApp user known by a BSUID only: the rows' recipient is the BSUID, and their shard is
  // the shard of the user's entity key (the session's), whatever the business.
  auto bsuid = d.row("US.1410018717833190");
  for (uint32_t n : {8u, 256u, 1u << 31})
    CHECK(d.count("SELECT (shard_key % " + std::to_string(n)
                  + ")::int FROM message_delivery_log WHERE id = " + std::to_string(bsuid))
          == static_cast<int>(core::shard_of(
              core::whatsapp_user_key("1088451004357858", "US.1410018717833190"), n)));
}

TEST_CASE("an unanswered message of a user known by a BSUID only is replayed under the "
          "session's key, on the shard of that key",
          "[cluster]") {
  outbox_db d;
  const std::string business = "1088451004357858", user = "US.1410018717833190";
  long long pid = 0;
  *d.sql << "INSERT INTO profiles (phone_number, whatsapp_jid, whatsapp_user_id, has_whatsapp) "
            "VALUES (NULL, :u, :u2, true) RETURNING id",
      soci::use(user), soci::use(user), soci::into(pid);
  *d.sql << "INSERT INTO profile_whatsapp_ids (business, user_id, profile_id) VALUES (:b, :u, :p)",
      soci::use(business), soci::use(user), soci::use(pid);
  long long id = 0;
  *d.sql << "INSERT INTO message_delivery_log (profile_id, channel, provider, direction, "
            "message_type, status, recipient, correlation_id, next_attempt_at) VALUES (:p, "
            "'whatsapp', 'whatsapp_cloud', 'inbound', 'text', 'received', :u, 'corr', now() - "
            "interval '1 second') RETURNING id",
      soci::use(pid), soci::use(user), soci::into(id);
  auto phone_row = d.row(phone(50), true); // a number: its key as it is
  auto key = core::whatsapp_user_key(business, user);
  auto now = std::chrono::system_clock::now();
  std::set<std::string> keys;
  // Only the owner of the session key's shard claims it (the row's shard is that shard).
  auto other = d.tx([&](soci::session& sql) {
    return claim_unanswered_inbound(sql, now, 60s, 200,
                                    owned_shards{shards, {(shard_of(key) + 1) % 8}});
  });
  for (auto& r : other)
    CHECK(r.id != id);
  auto rows = d.tx([&](soci::session& sql) {
    return claim_unanswered_inbound(sql, now, 60s, 200, owned_shards{shards, {shard_of(key)}});
  });
  for (auto& r : rows) {
    if (r.id == id)
      CHECK(r.recipient == key);
    if (r.id == phone_row)
      CHECK(r.recipient == phone(50));
    keys.insert(r.recipient);
  }
  CHECK(keys.count(key) == 1);
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
  auto old_owner = d.take_lease("node-a", s);
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
  d.expire(s);
  auto new_owner = d.take_lease("node-b", s);
  REQUIRE(new_owner.leases[0].epoch == old_owner.leases[0].epoch + 1);

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

TEST_CASE("a failure-path write of a stale owner is fenced out by the row's shard lease; the "
          "owner's and rows outside the fence pass",
          "[cluster]") {
  outbox_db d;
  auto to = phone(9);
  auto s = shard_of(to);
  auto old_owner = d.take_lease("node-a", s);
  auto id = d.row(to, false, "tok-a");
  auto fenced = [&](int64_t row, outbox box, const shard_fence& f) {
    return d.tx([&](soci::session& sql) { return row_fenced_out(sql, row, box, f); });
  };

  // The owner's retry or failure write may go on.
  CHECK_FALSE(fenced(id, outbox::deliveries, old_owner).has_value());
  // An empty fence (a single node, or nothing held) fences nothing.
  CHECK_FALSE(fenced(id, outbox::deliveries, shard_fence{"node-a", {}, shards}).has_value());

  // node-b takes the expired shard: node-a's write is fenced out and names the shard.
  d.expire(s);
  auto new_owner = d.take_lease("node-b", s);
  auto stale = fenced(id, outbox::deliveries, old_owner);
  REQUIRE(stale.has_value());
  CHECK(*stale == s);
  // node-a believing in a later epoch than the lease row's is stale too.
  shard_fence wrong_epoch{"node-b", {{s, new_owner.leases[0].epoch + 1}}, shards};
  CHECK(fenced(id, outbox::deliveries, wrong_epoch) == std::optional<int32_t>{s});
  CHECK_FALSE(fenced(id, outbox::deliveries, new_owner).has_value());

  // A row of a shard outside the fence is not fenced (a call summary accepted on a node that
  // does not own the user: guarded as without a cluster), nor is a row that does not exist.
  auto other = phone(10);
  while (shard_of(other) == s)
    other += "1";
  auto id2 = d.row(other, false, "tok-c");
  CHECK_FALSE(fenced(id2, outbox::deliveries, old_owner).has_value());
  CHECK_FALSE(fenced(id2 + 1000, outbox::deliveries, old_owner).has_value());

  // Notifications are fenced by their conversation's shard.
  long long nid = 0;
  *d.sql << "INSERT INTO provider_notifications (account_id, conversation_id, handoff_seq, "
            "channel, recipient, body, status, correlation_id, next_attempt_at) VALUES "
            "(7, 43, 1, 'sms', '+250788000999', 'hand-off', 'queued', 'corr', now()) RETURNING id",
      soci::into(nid);
  auto ns = shard_of("7:43");
  if (ns != s) {
    d.expire(ns);
    old_owner.leases.push_back(d.take_lease("node-a", ns).leases[0]);
    CHECK_FALSE(fenced(nid, outbox::notifications, old_owner).has_value());
    d.expire(ns);
    d.take_lease("node-b", ns);
  }
  CHECK(fenced(nid, outbox::notifications, old_owner) == std::optional<int32_t>{ns});

  // The stale owner's attempt and send record of the notification are refused too.
  std::vector<int32_t> stale_shards;
  attempt_claim nclaim{nid, "tok-n", outbox::notifications};
  CHECK_FALSE(
      d.tx([&](soci::session& sql) {
         return begin_attempts(sql, {&nclaim}, 60s, outbox_fence{&old_owner, &stale_shards});
       }).at(0));
  CHECK(stale_shards == std::vector<int32_t>{ns});
  sent_record nrec;
  nrec.id = nid;
  nrec.box = outbox::notifications;
  nrec.external_id = "tg-1";
  stale_shards.clear();
  CHECK_FALSE(
      d.tx([&](soci::session& sql) {
         return record_sends(sql, d.policy, {&nrec}, outbox_fence{&old_owner, &stale_shards});
       }).at(0));
  CHECK(stale_shards == std::vector<int32_t>{ns});
  CHECK(d.count("SELECT count(*) FROM provider_notifications WHERE id = " + std::to_string(nid)
                + " AND status = 'queued' AND attempts = 0")
        == 1);
}
