#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <soci/soci.h>

#include "actors/metrics.hpp"
#include "actors/storage.hpp"
#include "storage/db.hpp"
#include "storage/migrator.hpp"
#include "tests/support/pg.hpp"

using namespace switchboard;
using namespace switchboard::actors;
using namespace std::chrono_literals;

namespace {

struct fixture {
  test::scratch_db db;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<metrics> m = std::make_shared<metrics>();
  storage_actor store;

  explicit fixture(std::size_t pool = 2, std::chrono::milliseconds flush = 5ms,
                   const std::function<void(storage_config&)>& tweak = {}) {
    auto sql = db.connect();
    storage::exec_script(*sql, "CREATE TABLE t (v int PRIMARY KEY, xid bigint NOT NULL)");
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    storage_config sc;
    sc.database.dsn = db.dsn();
    sc.database.pool_size = pool;
    sc.database.reconnect_backoff = 50ms;
    sc.storage.max_batch = 128;
    sc.storage.flush_delay = flush;
    sc.storage.request_timeout = 5s;
    if (tweak)
      tweak(sc);
    store = spawn_storage(*sys, sc, m);
  }

  ~fixture() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sys.reset();
  }

  /// Waits until the storage actor reports a live connection (at least `workers` of them).
  bool wait_up(std::chrono::milliseconds limit = 10s, uint32_t workers = 1) {
    caf::scoped_actor self{*sys};
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      bool up = false;
      self->request(store, 5s, ready_atom::value)
          .receive([&](storage_status s) { up = s.connected && s.workers_up >= workers; },
                   [&](caf::error&) {});
      if (up)
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
};

db_job insert_job(int v) {
  return make_job<int>("insert", [v](soci::session& sql) {
    int value = v;
    sql << "INSERT INTO t (v, xid) VALUES (:v, txid_current())", soci::use(value);
    return value;
  });
}

int count_rows(soci::session& sql, const std::string& where = "true") {
  int n = 0;
  sql << "SELECT count(*) FROM t WHERE " + where, soci::into(n);
  return n;
}

} // namespace

TEST_CASE("many concurrent writers share few transactions and are acked after commit",
          "[storage]") {
  fixture f;
  REQUIRE(f.wait_up());
  constexpr int writers = 8;
  constexpr int per_writer = 100;
  std::atomic<int> acked{0};
  std::atomic<int> visible_at_ack{0};
  std::atomic<int> errors{0};
  std::string dsn = f.db.dsn();
  // Each writer actor fires its inserts without waiting; on every ack it checks, on its own
  // connection, that the row is already committed.
  std::vector<caf::actor> spawned;
  for (int w = 0; w < writers; ++w) {
    spawned.push_back(f.sys->spawn<caf::detached>(
        [&](caf::event_based_actor* self, int w) {
          auto check = std::make_shared<std::unique_ptr<soci::session>>(storage::open_session(dsn));
          for (int i = 0; i < per_writer; ++i) {
            int v = w * per_writer + i;
            self->request(f.store, 10s, write_atom::value, insert_job(v))
                .then(
                    [&, v, check](std::any& r) {
                      if (std::any_cast<int>(r) == v
                          && count_rows(**check, "v = " + std::to_string(v)) == 1)
                        ++visible_at_ack;
                      ++acked;
                    },
                    [&](caf::error&) { ++errors; });
          }
        },
        w));
  }
  for (auto& a : spawned) {
    caf::scoped_actor self{*f.sys};
    self->wait_for(a);
  }
  CHECK(errors == 0);
  CHECK(acked == writers * per_writer);
  CHECK(visible_at_ack == writers * per_writer);
  auto sql = f.db.connect();
  CHECK(count_rows(*sql) == writers * per_writer);
  int transactions = 0;
  *sql << "SELECT count(DISTINCT xid) FROM t", soci::into(transactions);
  INFO("transactions: " << transactions);
  CHECK(transactions < writers * per_writer / 4);
}

TEST_CASE("a failing job fails alone; its batch neighbours commit", "[storage]") {
  fixture f{1, 20ms};
  REQUIRE(f.wait_up());
  caf::scoped_actor self{*f.sys};
  self->request(f.store, 5s, write_atom::value, insert_job(1))
      .receive([](std::any&) {}, [](caf::error& e) { FAIL(caf::to_string(e)); });
  // 2 and 3 go into one batch with a duplicate of 1 between them.
  std::mutex mtx;
  std::map<int, caf::error> outcome;
  auto sender = f.sys->spawn(
      [&](caf::event_based_actor* a, std::vector<int> values) {
        for (int v : values)
          a->request(f.store, 5s, write_atom::value, insert_job(v))
              .then(
                  [&, v](std::any&) {
                    std::lock_guard<std::mutex> g{mtx};
                    outcome[v] = caf::error{};
                  },
                  [&, v](caf::error& e) {
                    std::lock_guard<std::mutex> g{mtx};
                    outcome[v] = e;
                  });
      },
      std::vector<int>{2, 1, 3});
  self->wait_for(sender);
  REQUIRE(outcome.size() == 3);
  CHECK_FALSE(outcome[2]);
  CHECK_FALSE(outcome[3]);
  REQUIRE(outcome[1]);
  CHECK(core::code_of(outcome[1]) == core::sb_error::conflict);
  auto sql = f.db.connect();
  CHECK(count_rows(*sql) == 3);
}

TEST_CASE("database down: writes fail fast with unavailable, then recover", "[storage]") {
  fixture f;
  REQUIRE(f.wait_up());
  caf::scoped_actor self{*f.sys};
  self->request(f.store, 5s, write_atom::value, insert_job(1))
      .receive([](std::any&) {}, [](caf::error& e) { FAIL(caf::to_string(e)); });

  f.db.set_available(false);
  auto t0 = std::chrono::steady_clock::now();
  int unavailable = 0;
  for (int v = 10; v < 20; ++v)
    self->request(f.store, 5s, write_atom::value, insert_job(v))
        .receive([](std::any&) {},
                 [&](caf::error& e) {
                   if (core::code_of(e) == core::sb_error::unavailable)
                     ++unavailable;
                 });
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(unavailable == 10);
  CHECK(elapsed < 4s); // errors, not hangs: well under the request timeout

  bool ready = true;
  self->request(f.store, 5s, ready_atom::value)
      .receive([&](storage_status s) { ready = s.connected; }, [&](caf::error&) {});
  CHECK_FALSE(ready);

  f.db.set_available(true);
  REQUIRE(f.wait_up());
  bool ok = false;
  self->request(f.store, 5s, write_atom::value, insert_job(99))
      .receive([&](std::any&) { ok = true; }, [](caf::error&) {});
  CHECK(ok);
}

TEST_CASE("readiness reports migrations", "[storage]") {
  fixture f;
  REQUIRE(f.wait_up());
  caf::scoped_actor self{*f.sys};
  storage_status before, after;
  self->request(f.store, 5s, ready_atom::value)
      .receive([&](storage_status s) { before = s; }, [](caf::error&) {});
  CHECK(before.connected);
  CHECK_FALSE(before.migrated);
  auto sql = f.db.connect();
  REQUIRE(storage::migrate(*sql, storage::embedded_migrations()));
  self->request(f.store, 5s, ready_atom::value)
      .receive([&](storage_status s) { after = s; }, [](caf::error&) {});
  CHECK(after.migrated);
  CHECK(after.workers_up == 2);
}

TEST_CASE("flush answers once queued writes are committed", "[storage]") {
  fixture f{1, 50ms};
  REQUIRE(f.wait_up());
  caf::scoped_actor self{*f.sys};
  for (int v = 0; v < 50; ++v)
    self->send(f.store, write_atom::value, insert_job(v));
  bool flushed = false;
  self->request(f.store, 5s, flush_atom::value)
      .receive([&](bool b) { flushed = b; }, [](caf::error&) {});
  CHECK(flushed);
  auto sql = f.db.connect();
  CHECK(count_rows(*sql) == 50);
}

TEST_CASE("database errors keep PostgreSQL's text out of the reason (it reaches responses)",
          "[storage]") {
  test::migrated_db d;
  auto reason_of_failure = [&](const std::string& sql_text) {
    try {
      *d.sql << sql_text;
    } catch (...) {
      bool lost = false;
      auto e = storage::map_db_exception(std::current_exception(), d.sql.get(), lost);
      CHECK_FALSE(lost);
      return std::make_pair(core::code_of(e), core::reason_of(e));
    }
    FAIL("the statement did not fail");
    return std::make_pair(core::sb_error::none, std::string{});
  };
  auto [code, reason] = reason_of_failure("SELECT 1 / 0");
  CHECK(code == core::sb_error::invalid_argument);
  CHECK(reason == "the database refused a value (SQLSTATE 22012)");
  CHECK(reason.find("division") == std::string::npos);
  auto [code2, reason2] = reason_of_failure("SELECT no_such_column FROM profiles");
  CHECK(code2 == core::sb_error::internal);
  CHECK(reason2 == "database error (SQLSTATE 42703)");
  CHECK(reason2.find("no_such_column") == std::string::npos);
}

TEST_CASE("while the acknowledgement path is busy, writes use at most yield_workers connections",
          "[storage]") {
  auto yielding = std::make_shared<std::atomic<bool>>(true);
  fixture f{4, 1ms, [yielding](storage_config& sc) {
              sc.storage.max_batch = 1; // each write its own transaction, so they can spread
              sc.yielding = [yielding] { return yielding->load(); };
              sc.storage.yield_workers = 1;
            }};
  REQUIRE(f.wait_up(10s, 4));
  std::atomic<int> in_flight{0}, most{0}, done{0};
  auto slow = [&](int v) {
    return make_job<int>("slow", [&, v](soci::session& sql) {
      int now = ++in_flight;
      for (int m = most; now > m && !most.compare_exchange_weak(m, now);)
        ;
      sql << "SELECT pg_sleep(0.05)";
      --in_flight;
      ++done;
      return v;
    });
  };
  auto run = [&](int first, int n) {
    caf::scoped_actor self{*f.sys};
    for (int i = 0; i < n; ++i)
      self->send(f.store, write_atom::value, slow(first + i), batch_callback{[](db_result&) {}});
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (done < first + n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    REQUIRE(done == first + n);
  };
  run(0, 8);
  CHECK(most == 1); // one connection at a time while yielding
  most = 0;
  *yielding = false;
  run(8, 8);
  CHECK(most > 1); // the whole pool again (4 connections)
  CHECK(most <= 4);
}
