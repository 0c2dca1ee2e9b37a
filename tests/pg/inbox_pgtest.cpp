// The durable inbox and the set-based flows over it, against a real PostgreSQL.

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include <soci/soci.h>

#include "storage/db.hpp"
#include "storage/flows.hpp"
#include "storage/inbox.hpp"
#include "storage/pg.hpp"
#include "storage/sets.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace std::chrono_literals;

namespace {

using inbox_db = test::omni_db;

core::inbound_message msg(const std::string& id, const std::string& from, const std::string& text,
                          const std::string& channel = "sms") {
  core::inbound_message m;
  m.channel = channel;
  m.provider = channel == "sms" ? "mtn" : "whatsapp_cloud";
  m.external_id = id;
  m.from = from;
  m.type = "text";
  m.text = text;
  m.received_at_ms = to_ms(std::chrono::system_clock::now());
  m.correlation_id = "corr-" + id;
  return m;
}

std::vector<inbox_stored> ingest(soci::session& sql, const std::vector<core::inbound_message>& ms) {
  std::vector<core::inbox_entry> entries;
  for (auto& m : ms)
    entries.push_back(core::make_inbox_entry(m, 256));
  std::vector<const core::inbox_entry*> ptrs;
  for (auto& e : entries)
    ptrs.push_back(&e);
  return insert_inbox(sql, ptrs);
}

} // namespace

TEST_CASE("pg text arrays round-trip quotes, backslashes, commas and braces", "[inbox]") {
  inbox_db d;
  std::vector<std::string> items{"plain", "with \"quotes\"", "back\\slash", "a,b", "{x}",
                                 "",      "ünïcödé ✓",       "NULL"};
  static constexpr pg_statement echo{"sb_test_echo", "SELECT $1::text[]"};
  auto rows = pg_exec(*d.sql, echo, {pg_text_array(items)});
  REQUIRE(rows.size() == 1);
  CHECK(parse_pg_text_array(rows.text(0, 0)) == items);
  static constexpr pg_statement unnest{"sb_test_unnest", "SELECT unnest($1::text[])"};
  auto each = pg_exec(*d.sql, unnest, {pg_text_array(items)});
  REQUIRE(each.size() == static_cast<int>(items.size()));
  for (int i = 0; i < each.size(); ++i)
    CHECK(std::string{each.text(i, 0)} == items[static_cast<std::size_t>(i)]);
}

TEST_CASE("a statement is prepared once per connection and survives a new connection", "[inbox]") {
  inbox_db d;
  static constexpr pg_statement one{"sb_test_one", "SELECT $1::int + 1"};
  for (int i = 0; i < 3; ++i)
    CHECK(pg_exec(*d.sql, one, {std::to_string(i)}).int64(0, 0) == i + 1);
  CHECK(d.count("SELECT count(*) FROM pg_prepared_statements WHERE name = 'sb_test_one'") == 1);
  auto other = d.db.connect();
  CHECK(pg_exec(*other, one, {"41"}).int64(0, 0) == 42);
}

TEST_CASE("ingest: one row per dedupe key, within a batch and across batches", "[inbox]") {
  inbox_db d;
  auto first = d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("a", "+250788000001", "hi"), msg("b", "+250788000002", "yo"),
                        msg("a", "+250788000001", "hi")});
  });
  REQUIRE(first.size() == 3);
  CHECK(first[0].inserted);
  CHECK(first[1].inserted);
  CHECK_FALSE(first[2].inserted); // the same webhook twice in one batch
  CHECK(first[0].id < first[1].id);
  auto second = d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("b", "+250788000002", "yo"), msg("c", "+250788000001", "more")});
  });
  CHECK_FALSE(second[0].inserted);
  CHECK(second[1].inserted);
  CHECK(d.count("SELECT count(*) FROM inbox") == 3);
  CHECK(d.count("SELECT count(DISTINCT shard) FROM inbox WHERE entity = '+250788000001'") == 1);
}

TEST_CASE("an ingest worker's connection plans the insert once and dedupes as any other",
          "[inbox]") {
  inbox_db d;
  auto sql = d.db.connect();
  use_for_ingest_only(*sql);
  auto one = ingest(*sql, {msg("g1", "+250788000011", "hi")});
  auto dup = ingest(*sql, {msg("g2", "+250788000012", "a"), msg("g1", "+250788000011", "hi"),
                           msg("g2", "+250788000012", "a")});
  std::vector<core::inbound_message> many;
  for (int i = 0; i < 50; ++i)
    many.push_back(msg("g-many-" + std::to_string(i), "+2507880001" + std::to_string(10 + i), "x"));
  auto fifty = ingest(*sql, many);
  CHECK(one.at(0).inserted);
  CHECK(dup.at(0).inserted);
  CHECK_FALSE(dup.at(1).inserted); // stored by the first batch
  CHECK_FALSE(dup.at(2).inserted); // twice in this batch
  CHECK(std::all_of(fifty.begin(), fifty.end(), [](auto& r) { return r.inserted; }));
  CHECK(d.count("SELECT count(*) FROM inbox") == 52);
  // Three batches of three sizes, one plan: the generic one, never a custom one.
  static constexpr pg_statement plans{
      "sb_test_plans", "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                       "WHERE name = 'sb_inbox_insert'"};
  auto counts = pg_exec(*sql, plans, {});
  REQUIRE(counts.size() == 1);
  CHECK(counts.int64(0, 0) == 3);
  CHECK(counts.int64(0, 1) == 0);
}

TEST_CASE("concurrent deliveries of one webhook store one row", "[inbox]") {
  inbox_db d;
  constexpr int threads = 10;
  std::atomic<int> inserted{0}, duplicates{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      auto sql = d.db.connect();
      auto r = ingest(*sql, {msg("same", "+250788000009", "hello")});
      (r[0].inserted ? inserted : duplicates)++;
    });
  for (auto& th : pool)
    th.join();
  CHECK(inserted == 1);
  CHECK(duplicates == threads - 1);
  CHECK(d.count("SELECT count(*) FROM inbox") == 1);
}

TEST_CASE("take: pending rows of the asked entities, oldest first, each taken once", "[inbox]") {
  inbox_db d;
  d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("1", "+250788000001", "a"), msg("2", "+250788000002", "b"),
                        msg("3", "+250788000001", "c"), msg("4", "+250788000003", "d")});
  });
  auto taken = d.tx([&](soci::session& sql) {
    return take_inbox(sql, "message", {"+250788000001", "+250788000002"}, 100);
  });
  REQUIRE(taken.size() == 3);
  CHECK(taken[0].dedupe_key == "1");
  CHECK(taken[1].dedupe_key == "2");
  CHECK(taken[2].dedupe_key == "3");
  CHECK(taken[0].correlation_id == "corr-1");
  CHECK(d.tx([&](soci::session& sql) {
           return take_inbox(sql, "message", {"+250788000001"}, 100);
         }).empty());
  // A limit takes the oldest; the rest stays pending.
  d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("5", "+250788000003", "e"), msg("6", "+250788000003", "f")});
  });
  auto some
      = d.tx([&](soci::session& sql) { return take_inbox(sql, "message", {"+250788000003"}, 2); });
  REQUIRE(some.size() == 2);
  CHECK(some[0].dedupe_key == "4");
  CHECK(some[1].dedupe_key == "5");
  // A rolled-back take leaves its rows pending.
  CHECK_THROWS(d.tx([&](soci::session& sql) -> int {
    take_inbox(sql, "message", {"+250788000003"}, 10);
    throw std::runtime_error("effects failed");
  }));
  CHECK(d.count("SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 1);
}

TEST_CASE("take: the limit is per entity, so one entity's backlog crowds no other out", "[inbox]") {
  inbox_db d;
  std::vector<core::inbound_message> backlog;
  for (int i = 0; i < 6; ++i)
    backlog.push_back(msg("f" + std::to_string(i), "+250788000009", "flood"));
  backlog.push_back(msg("o1", "+250788000001", "other"));
  d.tx([&](soci::session& sql) { return ingest(sql, backlog); });
  auto taken = d.tx([&](soci::session& sql) {
    return take_inbox(sql, "message", {"+250788000009", "+250788000001"}, 4);
  });
  // The flooder's 4 oldest, and the other user's row although it is the newest of all.
  REQUIRE(taken.size() == 5);
  CHECK(taken[0].dedupe_key == "f0");
  CHECK(taken[3].dedupe_key == "f3");
  CHECK(taken[4].dedupe_key == "o1");
  // accept_messages says who reached the cap (more may be pending) and who did not.
  accept_request flooder{"+250788000009", "tok-f"}, other{"+250788000001", "tok-o"};
  d.tx([&](soci::session& sql) { return ingest(sql, {msg("o2", "+250788000001", "again")}); });
  auto out = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&flooder, &other}, d.now, 2);
  });
  REQUIRE(out.size() == 2);
  CHECK(out[0].inbound.size() == 2);
  CHECK(out[0].more);
  CHECK(out[1].inbound.size() == 1);
  CHECK_FALSE(out[1].more);
  auto last = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&flooder}, d.now, 2);
  });
  CHECK(last[0].inbound.empty());
  CHECK_FALSE(last[0].more);
}

TEST_CASE("rows locked by another taker are skipped, not waited for", "[inbox]") {
  inbox_db d;
  d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("1", "+250788000001", "a"), msg("2", "+250788000001", "b")});
  });
  auto other = d.db.connect();
  exec_script(*other, "BEGIN");
  auto held = take_inbox(*other, "message", {"+250788000001"}, 1);
  REQUIRE(held.size() == 1);
  auto rest
      = d.tx([&](soci::session& sql) { return take_inbox(sql, "message", {"+250788000001"}, 10); });
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].dedupe_key == "2");
  exec_script(*other, "ROLLBACK");
  CHECK(d.count("SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 1);
}

TEST_CASE("pending entities are found after the grace; processed rows are purged after retention",
          "[inbox]") {
  inbox_db d;
  d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("1", "+250788000001", "a"), msg("2", "+250788000002", "b")});
  });
  CHECK(d.tx([&](soci::session& sql) { return pending_inbox(sql, 60s, 10); }).empty());
  exec_script(*d.sql, "UPDATE inbox SET received_at = now() - interval '10 minutes'");
  auto pending = d.tx([&](soci::session& sql) { return pending_inbox(sql, 60s, 10); });
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].kind == "message");
  CHECK(pending[0].entity == "+250788000001");
  d.tx([&](soci::session& sql) { return take_inbox(sql, "message", {"+250788000001"}, 10); });
  CHECK(d.tx([&](soci::session& sql) { return purge_inbox(sql, 3600s, 100); }) == 0);
  CHECK(d.tx([&](soci::session& sql) { return purge_inbox(sql, 60s, 100); }) == 1);
  CHECK(d.count("SELECT count(*) FROM inbox") == 1); // the pending one stays
}

TEST_CASE("accept: a batch of phones, bursts kept in order, profiles and sessions set-based",
          "[inbox]") {
  inbox_db d;
  d.tx([&](soci::session& sql) {
    return ingest(sql, {msg("w1", "+250788000001", "hi", "whatsapp"),
                        msg("s1", "+250788000002", "hello"), msg("w2", "+250788000001", "I need"),
                        msg("w3", "+250788000001", "to change my booking", "whatsapp")});
  });
  accept_request a{"+250788000001", "tok-a"}, b{"+250788000002", "tok-b"},
      c{"+250788000003", "tok-c"};
  auto out = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&a, &b, &c}, d.now, 100);
  });
  REQUIRE(out.size() == 3);
  REQUIRE(out[0].inbound.size() == 3);
  CHECK(out[0].inbound[0].body == "hi");
  CHECK(out[0].inbound[1].body == "I need");
  CHECK(out[0].inbound[2].body == "to change my booking");
  CHECK(out[0].inbound[1].channel == "sms"); // w2 came by SMS in this test
  CHECK(out[0].inbound[0].claim_token == "tok-a");
  CHECK(out[0].profile.has_whatsapp);
  CHECK(out[0].profile.last_active_channel == "whatsapp");
  CHECK(out[0].profile.last_whatsapp_inbound_at.has_value());
  CHECK(out[0].session_created);
  REQUIRE(out[1].inbound.size() == 1);
  CHECK_FALSE(out[1].profile.has_whatsapp);
  CHECK(out[1].session.id != out[0].session.id);
  CHECK(out[2].inbound.empty());
  CHECK(d.count("SELECT count(*) FROM profiles") == 2);
  CHECK(d.count("SELECT count(*) FROM omnichannel_sessions WHERE status = 'active'") == 2);
  CHECK(d.count("SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                "claim_token IS NOT NULL AND next_attempt_at > now()")
        == 4);
  // The stored profile matches what the accept answered.
  CHECK(d.count("SELECT count(*) FROM profiles WHERE phone_number = '+250788000001' AND "
                "has_whatsapp AND whatsapp_jid = '250788000001' AND last_active_channel = "
                "'whatsapp'")
        == 1);
  // The next accept continues the same sessions and extends them.
  d.tx([&](soci::session& sql) { return ingest(sql, {msg("s2", "+250788000002", "again")}); });
  auto later = d.now + 1h;
  auto next = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&b}, later, 100);
  });
  CHECK(next[0].session.id == out[1].session.id);
  CHECK_FALSE(next[0].session_created);
  CHECK(next[0].session.expires_at >= later + 24h);
}

TEST_CASE("accept: an expired session is closed and a new one opened in the same batch",
          "[inbox]") {
  inbox_db d;
  d.tx([&](soci::session& sql) { return ingest(sql, {msg("1", "+250788000001", "hi")}); });
  accept_request a{"+250788000001", "t1"};
  auto first = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&a}, d.now, 100);
  });
  d.tx([&](soci::session& sql) { return ingest(sql, {msg("2", "+250788000001", "back")}); });
  auto later = d.now + 25h;
  auto second = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&a}, later, 100);
  });
  CHECK(second[0].session_created);
  CHECK(second[0].session_expired);
  CHECK(second[0].session.id != first[0].session.id);
  CHECK(d.count("SELECT count(*) FROM omnichannel_sessions WHERE status = 'closed' AND "
                "closed_reason = 'expired'")
        == 1);
}

TEST_CASE("call-ended batch: repeated call ids get the first answer, within a batch and after",
          "[inbox]") {
  inbox_db d;
  auto call = [&](const std::string& id, const std::string& phone) {
    call_ended_input in;
    in.summary.call_id = id;
    in.summary.summary = "Quoted 200k.";
    in.phone = phone;
    in.correlation_id = "corr-" + id;
    in.token = "tok-" + id;
    in.now = d.now;
    return in;
  };
  auto c1 = call("c1", "+250788000001"), c2 = call("c2", "+250788000002"),
       c1b = call("c1", "+250788000001");
  auto out = d.tx([&](soci::session& sql) {
    return accept_calls(sql, d.machine, d.policy, {&c1, &c2, &c1b});
  });
  REQUIRE(out.size() == 3);
  CHECK_FALSE(out[0].duplicate);
  CHECK_FALSE(out[1].duplicate);
  CHECK(out[2].duplicate);
  CHECK(out[2].result == out[0].result);
  CHECK(out[0].result.at("session_id") != out[1].result.at("session_id"));
  CHECK(out[0].sends.size() + out[0].skipped.size() == 2);
  auto again
      = d.tx([&](soci::session& sql) { return accept_calls(sql, d.machine, d.policy, {&c2}); });
  CHECK(again[0].duplicate);
  CHECK(again[0].result == out[1].result);
  CHECK(d.count("SELECT count(*) FROM message_delivery_log") == 4);
  CHECK(d.count("SELECT count(*) FROM inbox WHERE source = 'voice' AND processed_at IS NOT NULL "
                "AND result IS NOT NULL")
        == 2);
}

TEST_CASE("accept: a WhatsApp user known by a BSUID only, then by number too, is one profile",
          "[inbox][bsuid]") {
  inbox_db d;
  const std::string business = "1088451004357858", bsuid = "IN.1410018717833190";
  auto wa = [&](const std::string& id, const std::string& from, const std::string& text) {
    auto m = msg(id, from, text, "whatsapp");
    m.user_id = bsuid;
    m.business = business;
    return m;
  };
  // 1. The number withheld (a username): a number-less profile, addressed by the BSUID.
  d.tx([&](soci::session& sql) { return ingest(sql, {wa("w1", "", "hi, I have a username")}); });
  auto key = core::whatsapp_user_key(business, bsuid);
  accept_request a{key, "tok-a"};
  auto first = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&a}, d.now, 100);
  });
  REQUIRE(first[0].inbound.size() == 1);
  CHECK(first[0].inbound[0].recipient == bsuid);
  CHECK(first[0].profile.phone_number.empty());
  CHECK(first[0].profile.whatsapp_jid == bsuid);
  CHECK(first[0].profile.has_whatsapp);
  CHECK(first[0].session_created);
  CHECK(d.count("SELECT count(*) FROM profiles WHERE phone_number IS NULL AND whatsapp_user_id = '"
                + bsuid + "'")
        == 1);
  CHECK(d.count("SELECT count(*) FROM profile_whatsapp_ids WHERE business = '" + business
                + "' AND user_id = '" + bsuid + "'")
        == 1);

  // Its reply goes out on WhatsApp to the BSUID; an SMS cannot (no number).
  auto reply = d.tx([&](soci::session& sql) {
    return queue_reply(sql, d.policy, {{first[0].inbound[0].id, "tok-a"}}, "whatsapp", "Hello!",
                       "reply", d.now);
  });
  REQUIRE(reply);
  CHECK(reply->status == "queued");
  CHECK(reply->recipient == bsuid);

  // 2. The same BSUID again, still without a number: the same profile and session.
  d.tx([&](soci::session& sql) { return ingest(sql, {wa("w2", "", "still me")}); });
  auto again = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&a}, d.now + 1min, 100);
  });
  CHECK(again[0].profile.id == first[0].profile.id);
  CHECK(again[0].session.id == first[0].session.id);
  CHECK_FALSE(again[0].session_created);

  // 3. The number appears with the BSUID: the profile adopts it, no second profile.
  d.tx([&](soci::session& sql) { return ingest(sql, {wa("w3", "+919810218674", "now with")}); });
  accept_request b{"+919810218674", "tok-b"};
  auto linked = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&b}, d.now + 2min, 100);
  });
  REQUIRE(linked[0].inbound.size() == 1);
  CHECK(linked[0].profile.id == first[0].profile.id);
  CHECK(linked[0].profile.phone_number == "+919810218674");
  CHECK(linked[0].profile.whatsapp_jid == "919810218674");
  CHECK(linked[0].session.id == first[0].session.id); // the same live session continues
  CHECK(d.count("SELECT count(*) FROM profiles") == 1);
  // Later SMS from that number continue the same profile and session.
  d.tx([&](soci::session& sql) { return ingest(sql, {msg("s1", "+919810218674", "by SMS")}); });
  auto sms = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&b}, d.now + 3min, 100);
  });
  CHECK(sms[0].profile.id == first[0].profile.id);
  CHECK(sms[0].session.id == first[0].session.id);
  CHECK(d.count("SELECT count(*) FROM profiles") == 1);
}

TEST_CASE("accept: a BSUID seen with the number of an existing profile joins that profile",
          "[inbox][bsuid]") {
  inbox_db d;
  const std::string business = "1088451004357858", bsuid = "US.13491208655302741918";
  // A known SMS user ...
  d.tx([&](soci::session& sql) { return ingest(sql, {msg("s1", "+16315551111", "sms first")}); });
  accept_request b{"+16315551111", "tok-b"};
  auto sms = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&b}, d.now, 100);
  });
  // ... writes on WhatsApp, number and BSUID together: the BSUID is linked to that profile.
  auto m = msg("w1", "+16315551111", "on WhatsApp now", "whatsapp");
  m.user_id = bsuid;
  m.business = business;
  d.tx([&](soci::session& sql) { return ingest(sql, {m}); });
  auto wa = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&b}, d.now + 1min, 100);
  });
  CHECK(wa[0].profile.id == sms[0].profile.id);
  CHECK(wa[0].profile.whatsapp_user_id == bsuid);
  CHECK(d.count("SELECT count(*) FROM profile_whatsapp_ids WHERE profile_id = "
                + std::to_string(sms[0].profile.id))
        == 1);
  // Later the user hides the number: the BSUID finds the same profile and session.
  auto hidden = msg("w2", "", "username now", "whatsapp");
  hidden.user_id = bsuid;
  hidden.business = business;
  d.tx([&](soci::session& sql) { return ingest(sql, {hidden}); });
  accept_request a{core::whatsapp_user_key(business, bsuid), "tok-a"};
  auto later = d.tx([&](soci::session& sql) {
    return accept_messages(sql, d.machine, d.policy, {&a}, d.now + 2min, 100);
  });
  REQUIRE(later[0].inbound.size() == 1);
  CHECK(later[0].profile.id == sms[0].profile.id);
  CHECK(later[0].session.id == sms[0].session.id);
  CHECK(d.count("SELECT count(*) FROM profiles") == 1);
}
