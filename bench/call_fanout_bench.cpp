// Post-call fan-out: voice call-ended webhooks, each queueing a WhatsApp template and an SMS,
// with the simulated providers answering in 100 ms; how fast calls are accepted and how long
// until every resulting send is recorded 'sent'.
#include <chrono>
#include <string>

#include <soci/soci.h>

#include "bench/harness.hpp"
#include "tests/support/http_client.hpp"

using namespace switchboard;
using bench::clock_type;

int main() {
  return bench::run(
      "call_fanout",
      "call-ended webhooks -> WhatsApp template + SMS per call, providers answering in 100 ms",
      [](bench::report& r) {
        auto calls
            = static_cast<uint64_t>(std::max<long>(1, bench::env_long("SB_BENCH_CALLS", 2000)));
        auto latency_ms = bench::env_long("SB_BENCH_PROVIDER_LATENCY_MS", 100);
        auto drain_limit = bench::env_seconds("SB_BENCH_DRAIN_TIMEOUT_S", 120);
        // A business number at Meta's highest standard tier (1,000 messages/s; the default is
        // 80, which alone would make 2,000 summaries take 25 s): SB_BENCH_WHATSAPP_RATE.
        auto wa_rate = bench::env_long("SB_BENCH_WHATSAPP_RATE", 1000);
        test::stack st{bench::bench_stack_options(
            {{"SWITCHBOARD_WHATSAPP_TEMPLATE_NAME", "call_summary"},
             {"SWITCHBOARD_WHATSAPP_RATE_PER_S", std::to_string(wa_rate)},
             {"SWITCHBOARD_ACTORS_IDLE_PASSIVATE_S", "3600"}})};
        auto pid = st.server().pid();
        auto db = st.db().connect();
        auto lo = bench::default_load(st.port());
        lo.max_requests = calls;
        lo.duration = std::chrono::minutes{10}; // bounded by the call count
        lo.keep_samples = 64;
        r.config("connections", lo.connections);
        r.config("calls", calls);
        r.config("provider_latency_ms", latency_ms);
        r.config("whatsapp_template", "call_summary");
        r.config("whatsapp_rate_per_s", wa_rate);

        auto fault
            = test::http_post_json(st.sim_url("/_sim/faults"),
                                   {{"service", {"whatsapp", "mtn"}}, {"latency_ms", latency_ms}});
        if (fault.status != 200)
          throw std::runtime_error("the simulator refused the latency fault: " + fault.body);

        auto token = st.env("SWITCHBOARD_VOICE_TOKEN");
        auto call = [&](uint64_t seq) {
          bench::load_request q;
          q.method = "POST";
          q.target = "/webhooks/voice/call-ended";
          q.headers.emplace_back("Authorization", "Bearer " + token);
          // One customer per call, so every call opens its own session.
          q.body = R"({"call_id":"bench-call-)" + std::to_string(seq) + R"(","phone_number":"+)"
                   + std::to_string(250720000000LL + seq)
                   + R"(","summary":"We rescheduled your delivery to Friday between 9 and 12. )"
                     R"(Reply here if that does not suit you."})";
          return q;
        };
        const std::string done_sql = "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                     "'outbound' AND status IN ('sent', 'delivered', 'read', "
                                     "'failed')";
        const std::string expected_sql = "SELECT count(*) FROM message_delivery_log WHERE "
                                         "direction = 'outbound' AND status <> 'skipped'";

        // Warm-up calls (cold pools, the MTN token, first sessions), drained before measuring.
        auto warm = std::min<uint64_t>(100, std::max<uint64_t>(1, calls / 10));
        auto w = lo;
        w.max_requests = warm;
        w.warmup = std::chrono::milliseconds{0};
        if (bench::run_load(w, call).count_2xx() == 0)
          throw std::runtime_error("the warm-up calls were not accepted");
        bench::wait_until(
            [&] { return bench::db_count(*db, done_sql) >= bench::db_count(*db, expected_sql); },
            drain_limit);
        auto done_before = bench::db_count(*db, done_sql);
        auto expected_before = bench::db_count(*db, expected_sql);
        auto sent_before
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE direction "
                                   "= 'outbound' AND status IN ('sent', 'delivered', 'read')");
        auto skipped_before
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE "
                                   "direction = 'outbound' AND status = 'skipped'");
        auto last_id_before
            = bench::db_count(*db, "SELECT coalesce(max(id), 0) FROM message_delivery_log");
        r.config("warmup_calls", warm);

        auto start = clock_type::now();
        auto res = bench::measure(
            r, "call_ended", "POST /webhooks/voice/call-ended (bearer) -> 202", lo,
            [&](uint64_t seq) { return call(warm + seq); }, pid);
        auto load_end = clock_type::now();
        auto accepted = res.statuses.count(202) ? res.statuses.at(202) : 0;
        if (accepted == 0)
          r.fail("no call-ended webhook was accepted (202)");
        for (auto& s : res.samples)
          if (s.status != 202) {
            r.fail("answer " + std::to_string(s.seq) + " was " + std::to_string(s.status)
                   + ", expected 202: " + s.body.substr(0, 200));
            break;
          }

        // The sends were queued in the transaction that accepted each call.
        auto expected = bench::db_count(*db, expected_sql) - expected_before;
        long long done = 0;
        bool drained = bench::wait_until(
            [&] {
              done = bench::db_count(*db, done_sql) - done_before;
              return done >= expected;
            },
            drain_limit, std::chrono::milliseconds{100});
        auto drained_at = clock_type::now();
        auto sent
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                   "'outbound' AND status IN ('sent', 'delivered', 'read')")
              - sent_before;
        auto skipped
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                   "'outbound' AND status = 'skipped'")
              - skipped_before;
        auto all_s = std::chrono::duration<double>(drained_at - start).count();
        r.value("calls_accepted_per_s", res.throughput, "calls/s");
        r.value("sends_expected", static_cast<double>(expected), "sends");
        r.value("sends_sent", static_cast<double>(sent), "sends");
        r.value("sends_failed", static_cast<double>(done - sent), "sends");
        r.value("sends_skipped", static_cast<double>(skipped), "sends");
        r.value("all_sent_after_first_call", all_s, "s");
        r.value("all_sent_after_last_call",
                std::chrono::duration<double>(drained_at - load_end).count(), "s");
        r.value("sends_per_s_overall", all_s > 0 ? sent / all_s : 0, "sends/s");

        // Per send: from queued (row created) to its 'sent' update, as PostgreSQL timed them.
        double p50 = 0, p99 = 0, mx = 0;
        soci::indicator i1 = soci::i_ok, i2 = soci::i_ok, i3 = soci::i_ok;
        *db << "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) "
               "WITHIN GROUP (ORDER BY d), max(d) FROM (SELECT extract(epoch FROM updated_at - "
               "created_at) * 1000 AS d FROM message_delivery_log WHERE direction = 'outbound' "
               "AND status = 'sent' AND id > "
                   + std::to_string(last_id_before) + ") x",
            soci::into(p50, i1), soci::into(p99, i2), soci::into(mx, i3);
        if (i1 == soci::i_ok) {
          r.value("send_queued_to_sent_p50", p50, "ms");
          r.value("send_queued_to_sent_p99", p99, "ms");
          r.value("send_queued_to_sent_max", mx, "ms");
        }
        if (!drained)
          r.note("sends not all recorded within SB_BENCH_DRAIN_TIMEOUT_S: " + std::to_string(done)
                 + " of " + std::to_string(expected));
        if (skipped > 0)
          r.note(std::to_string(skipped) + " sends were skipped (no template or channel refused)");
        r.memory("server", bench::read_proc_memory(pid));
      });
}
