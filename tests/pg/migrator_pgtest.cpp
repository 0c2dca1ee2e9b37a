#include <catch2/catch.hpp>

#include <thread>

#include <soci/soci.h>

#include "storage/db.hpp"
#include "storage/migrator.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;

namespace {

int count(soci::session& sql, const std::string& query) {
  int n = -1;
  sql << query, soci::into(n);
  return n;
}

bool table_exists(soci::session& sql, const std::string& name) {
  return count(sql, "SELECT count(*) FROM pg_tables WHERE tablename = '" + name + "'") == 1;
}

} // namespace

TEST_CASE("embedded migrations apply in order, once", "[migrator]") {
  test::scratch_db db;
  auto sql = db.connect();
  auto& all = storage::embedded_migrations();
  REQUIRE_FALSE(all.empty());
  CHECK_FALSE(storage::migrations_applied(*sql, all));

  auto first = storage::migrate(*sql, all);
  REQUIRE(first);
  CHECK(first->applied.size() == all.size());
  CHECK(first->already_applied == 0);
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(first->applied[i] == all[i].name);
  CHECK(storage::migrations_applied(*sql, all));
  CHECK(table_exists(*sql, "processed_webhooks"));

  auto second = storage::migrate(*sql, all);
  REQUIRE(second);
  CHECK(second->applied.empty());
  CHECK(second->already_applied == all.size());
  CHECK(count(*sql, "SELECT count(*) FROM schema_migrations") == static_cast<int>(all.size()));
}

TEST_CASE("migrations apply in version order whatever the list order", "[migrator]") {
  test::scratch_db db;
  auto sql = db.connect();
  std::vector<storage::migration> all{
      {"0002_b.sql", "ALTER TABLE a ADD COLUMN y int;"},
      {"0001_a.sql", "CREATE TABLE a (x int);"},
  };
  auto r = storage::migrate(*sql, all);
  REQUIRE(r);
  CHECK(r->applied == std::vector<std::string>{"0001_a.sql", "0002_b.sql"});
}

TEST_CASE("two concurrent runners apply each migration exactly once", "[migrator]") {
  test::scratch_db db;
  // The first migration is slow so both runners really overlap.
  std::vector<storage::migration> all{
      {"0001_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE t1 (x int);"},
      {"0002_more.sql", "CREATE TABLE t2 (x int); INSERT INTO t2 VALUES (1);"},
  };
  core::expected<storage::migration_report> r1{storage::migration_report{}};
  core::expected<storage::migration_report> r2{storage::migration_report{}};
  std::thread a{[&] {
    auto sql = db.connect();
    r1 = storage::migrate(*sql, all);
  }};
  std::thread b{[&] {
    auto sql = db.connect();
    r2 = storage::migrate(*sql, all);
  }};
  a.join();
  b.join();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->applied.size() + r2->applied.size() == 2);
  CHECK(r1->already_applied + r2->already_applied == 2);
  auto sql = db.connect();
  CHECK(count(*sql, "SELECT count(*) FROM t2") == 1);
  CHECK(count(*sql, "SELECT count(*) FROM schema_migrations") == 2);
}

TEST_CASE("a changed landed migration is refused", "[migrator]") {
  test::scratch_db db;
  auto sql = db.connect();
  REQUIRE(storage::migrate(*sql, {{"0001_a.sql", "CREATE TABLE a (x int);"}}));
  auto r = storage::migrate(*sql, {{"0001_a.sql", "CREATE TABLE a (x bigint);"},
                                   {"0002_b.sql", "CREATE TABLE b (x int);"}});
  REQUIRE_FALSE(r);
  CHECK(core::code_of(r.error()) == core::sb_error::conflict);
  CHECK(core::reason_of(r.error()).find("0001_a.sql") != std::string::npos);
  CHECK_FALSE(table_exists(*sql, "b"));
  CHECK_FALSE(storage::migrations_applied(*sql, {{"0001_a.sql", "CREATE TABLE a (x bigint);"}}));
}

TEST_CASE("a failing migration rolls back entirely and stops the run", "[migrator]") {
  test::scratch_db db;
  auto sql = db.connect();
  auto r = storage::migrate(*sql, {{"0001_ok.sql", "CREATE TABLE ok (x int);"},
                                   {"0002_bad.sql", "CREATE TABLE half (x int); SELECT nope;"},
                                   {"0003_after.sql", "CREATE TABLE after (x int);"}});
  REQUIRE_FALSE(r);
  CHECK(core::reason_of(r.error()).find("0002_bad.sql") != std::string::npos);
  CHECK(table_exists(*sql, "ok"));
  CHECK_FALSE(table_exists(*sql, "half"));
  CHECK_FALSE(table_exists(*sql, "after"));
  CHECK(count(*sql, "SELECT count(*) FROM schema_migrations") == 1);
}

TEST_CASE("badly named migrations are refused before touching the database", "[migrator]") {
  test::scratch_db db;
  auto sql = db.connect();
  auto r = storage::migrate(*sql, {{"1_a.sql", "CREATE TABLE a (x int);"}});
  REQUIRE_FALSE(r);
  CHECK(core::code_of(r.error()) == core::sb_error::invalid_argument);
  CHECK_FALSE(table_exists(*sql, "schema_migrations"));
  CHECK(storage::migration_version("0042_add_things.sql") == 42);
  CHECK(storage::migration_version("0042-add.sql") == -1);
}
