// Memory per idle session actor: N distinct phone numbers driven into session actors through the
// tools API, then (RSS after - RSS before) / N once switchboard_live_actors{kind="session"} says
// they are all alive.
#include <chrono>
#include <string>
#include <thread>

#include "bench/harness.hpp"
#include "tests/support/http_client.hpp"

namespace {

using namespace switchboard;

std::string phone_of(uint64_t i) {
  return "+2507" + std::to_string(10000000 + i); // 12 digits, distinct per i
}

} // namespace

int main() {
  return bench::run("session_memory", "RSS per idle session actor", [](bench::report& r) {
    auto n = static_cast<uint64_t>(std::max<long>(1, bench::env_long("SB_BENCH_SESSIONS", 100000)));
    auto warm = std::min<uint64_t>(1000, std::max<uint64_t>(1, n / 10));
    auto tool = std::string{"session_get_or_create"};
    if (const char* t = std::getenv("SB_BENCH_SESSION_TOOL"); t != nullptr && *t != '\0')
      tool = t;
    auto limit = bench::env_seconds("SB_BENCH_DRAIN_TIMEOUT_S", 120);
    test::stack st{bench::bench_stack_options({{"SWITCHBOARD_ACTORS_IDLE_PASSIVATE_S", "86400"}})};
    auto pid = st.server().pid();
    auto lo = bench::default_load(st.port());
    lo.duration = std::chrono::minutes{30}; // bounded by the count
    lo.warmup = std::chrono::milliseconds{0};
    lo.keep_samples = 64;
    r.config("sessions", n);
    r.config("warmup_sessions", warm);
    r.config("connections", lo.connections);
    r.config("tool", tool);

    auto token = st.env("SWITCHBOARD_API_TOKEN");
    auto source = [&](uint64_t offset) {
      return [&, offset](uint64_t seq) {
        bench::load_request q;
        q.method = "POST";
        q.target = "/api/v1/tools/" + tool;
        q.headers.emplace_back("Authorization", "Bearer " + token);
        q.body = R"({"phone_number":")" + phone_of(offset + seq) + R"("})";
        return q;
      };
    };
    auto metrics = st.url("/metrics");
    auto live = [&] {
      return bench::scrape_metric(metrics, "switchboard_live_actors", {{"kind", "session"}})
          .value_or(0);
    };
    auto wait_for = [&](uint64_t want) {
      return bench::wait_until([&] { return live() >= static_cast<double>(want); }, limit,
                               std::chrono::milliseconds{200});
    };

    // Warm-up: pools, allocator arenas and the router's table exist before "before".
    auto w = lo;
    w.max_requests = warm;
    auto wr = bench::run_load(w, source(0));
    if (wr.count_2xx() == 0)
      throw std::runtime_error(
          "the warm-up created no session: "
          + (wr.samples.empty() ? std::string{"no answer"} : wr.samples.front().body));
    if (!wait_for(warm))
      throw std::runtime_error("warm-up sessions never showed in switchboard_live_actors");
    std::this_thread::sleep_for(std::chrono::seconds{1});
    auto before = bench::read_proc_memory(pid);
    auto live_before = live();

    auto run = lo;
    run.max_requests = n;
    auto res = bench::measure(r, "create_sessions",
                              "POST /api/v1/tools/" + tool + " (one new phone number each)", run,
                              source(warm), pid);
    for (auto& s : res.samples)
      if (s.status != 200) {
        r.fail("answer " + std::to_string(s.seq) + " was " + std::to_string(s.status) + ": "
               + s.body.substr(0, 200));
        break;
      }
    if (!wait_for(static_cast<uint64_t>(live_before) + n))
      r.note("only " + std::to_string(static_cast<long long>(live())) + " of "
             + std::to_string(static_cast<long long>(live_before) + n)
             + " session actors alive within SB_BENCH_DRAIN_TIMEOUT_S");
    std::this_thread::sleep_for(std::chrono::seconds{2}); // let in-flight work finish
    auto after = bench::read_proc_memory(pid);
    auto live_after = live();
    auto added = live_after - live_before;
    r.value("live_session_actors", live_after, "actors");
    r.value("rss_before", static_cast<double>(before.rss_kb), "KiB");
    r.value("rss_after", static_cast<double>(after.rss_kb), "KiB");
    if (added > 0)
      r.value("rss_per_session_actor",
              static_cast<double>(after.rss_kb - before.rss_kb) * 1024.0 / added, "bytes");
    else
      r.fail("no session actor was added");
    r.memory("server", after);

    // Passivation: many more sessions touched once each, with actors passivated after 1 s idle:
    // memory follows the active users, not the users ever seen.
    auto touched = static_cast<uint64_t>(
        std::max<long>(0, bench::env_long("SB_BENCH_TOUCHED_SESSIONS", 200000)));
    if (touched == 0)
      return;
    r.config("touched_sessions", touched);
    test::stack ps{bench::bench_stack_options({{"SWITCHBOARD_ACTORS_IDLE_PASSIVATE_S", "1"}})};
    auto ppid = ps.server().pid();
    auto plo = bench::default_load(ps.port());
    plo.duration = std::chrono::minutes{60};
    plo.warmup = std::chrono::milliseconds{0};
    auto ptoken = ps.env("SWITCHBOARD_API_TOKEN");
    auto touch = [&](uint64_t offset) {
      return [&, offset](uint64_t seq) {
        bench::load_request q;
        q.method = "POST";
        q.target = "/api/v1/tools/session_get_or_create";
        q.headers.emplace_back("Authorization", "Bearer " + ptoken);
        q.body = R"({"phone_number":")" + phone_of(offset + seq) + R"("})";
        return q;
      };
    };
    auto pwarm = plo;
    pwarm.max_requests = warm;
    bench::run_load(pwarm, touch(0));
    std::this_thread::sleep_for(std::chrono::seconds{3}); // the warm-up actors passivate
    auto pbefore = bench::read_proc_memory(ppid);
    auto prun = plo;
    prun.max_requests = touched;
    auto pres = bench::measure(r, "touch_sessions_once",
                               "POST /api/v1/tools/session_get_or_create, idle actors passivated "
                               "after 1 s",
                               prun, touch(warm), ppid);
    if (pres.count_2xx() < touched)
      r.note("only " + std::to_string(pres.count_2xx()) + " of " + std::to_string(touched)
             + " touches answered 2xx");
    std::this_thread::sleep_for(std::chrono::seconds{3});
    auto pafter = bench::read_proc_memory(ppid);
    auto plive
        = bench::scrape_metric(ps.url("/metrics"), "switchboard_live_actors", {{"kind", "session"}})
              .value_or(-1);
    r.value("touched_live_actors_after", plive, "actors");
    r.value("touched_rss_growth", static_cast<double>(pafter.rss_kb - pbefore.rss_kb), "KiB");
    r.value("touched_peak_rss", static_cast<double>(pafter.hwm_kb), "KiB");
    r.value("touched_rss_growth_per_session",
            static_cast<double>(pafter.rss_kb - pbefore.rss_kb) * 1024.0
                / static_cast<double>(touched),
            "bytes");
    r.memory("server_passivating", pafter);
  });
}
