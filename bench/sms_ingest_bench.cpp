// Inbound-SMS ingest: signed MTN webhooks stored and routed to session actors, against the
// static-reply route of the same server; then the replies (LLM on the simulator + MTN send) the
// server produces for them.
#include <chrono>
#include <string>

#include <soci/soci.h>

#include "bench/harness.hpp"
#include "core/signatures.hpp"

namespace {

using namespace switchboard;
using clock_type = std::chrono::steady_clock;

} // namespace

int main() {
  return bench::run(
      "sms_ingest", "signed MTN inbound SMS -> stored -> session actor -> 200, then the replies",
      [](bench::report& r) {
        test::stack st{bench::bench_stack_options()};
        auto pid = st.server().pid();
        auto db = st.db().connect();
        auto lo = bench::default_load(st.port());
        lo.keep_samples = 64;
        auto senders = std::max<long>(1, bench::env_long("SB_BENCH_SENDERS", 1000));
        auto drain_limit = bench::env_seconds("SB_BENCH_DRAIN_TIMEOUT_S", 120);
        r.config("connections", lo.connections);
        r.config("duration_s", lo.duration.count() / 1000.0);
        r.config("warmup_s", lo.warmup.count() / 1000.0);
        r.config("senders", senders);

        auto secret = st.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET");
        auto body_of = [senders](uint64_t seq) {
          auto sender = std::to_string(250780000000LL + static_cast<long long>(seq) % senders);
          return R"({"from":"+)" + sender
                 + R"(","to":"SWITCHBRD","message":"Hello, about my order )" + std::to_string(seq)
                 + R"(: when will it arrive?","id":"bench-)" + std::to_string(seq) + R"("})";
        };
        auto bad = test::http_post(st.url("/webhooks/sms/mtn"), body_of(0), "application/json",
                                   {{"X-MTN-Signature", std::string(64, '0')}});
        if (bad.status != 401)
          r.fail("an MTN webhook with a bad signature answered " + std::to_string(bad.status)
                 + ", expected 401");

        auto stat = bench::measure(
            r, "static", "GET /bench/static (same server, baseline)", lo,
            [](uint64_t) {
              bench::load_request q;
              q.target = "/bench/static";
              return q;
            },
            pid);
        bench::check_samples(r, "static", stat, 200);

        auto load_start = clock_type::now();
        auto ingest = bench::measure(
            r, "mtn_inbound", "POST /webhooks/sms/mtn (signed, unique id, stored, routed)", lo,
            [&](uint64_t seq) {
              bench::load_request q;
              q.method = "POST";
              q.target = "/webhooks/sms/mtn";
              q.body = body_of(seq);
              q.headers.emplace_back("X-MTN-Signature", core::mtn_signature(secret, q.body));
              return q;
            },
            pid);
        auto load_end = clock_type::now();
        bench::check_samples(r, "mtn_inbound", ingest, 200);
        if (stat.throughput > 0)
          r.value("ingest_vs_static_throughput", ingest.throughput / stat.throughput, "ratio");
        r.value("ingest_minus_static_p99", ingest.latency.p99 - stat.latency.p99, "ms");

        // Every stored inbound message gets a reply (LLM on the simulator, then an MTN send).
        const std::string inbound_sql = "SELECT count(*) FROM message_delivery_log WHERE "
                                        "direction = 'inbound' AND provider = 'mtn'";
        const std::string done_sql
            = "SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound' AND "
              "channel = 'sms' AND status IN ('sent', 'delivered', 'read', 'failed', 'skipped')";
        auto inbound = bench::db_count(*db, inbound_sql);
        long long done = 0;
        bool drained = bench::wait_until(
            [&] {
              done = bench::db_count(*db, done_sql);
              return done >= inbound;
            },
            drain_limit, std::chrono::milliseconds{250});
        auto drained_at = clock_type::now();
        auto sent
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                   "'outbound' AND channel = 'sms' AND status IN ('sent', "
                                   "'delivered', 'read')");
        auto failed = done - sent;
        auto total_s = std::chrono::duration<double>(drained_at - load_start).count();
        r.value("inbound_stored", static_cast<double>(inbound), "messages");
        r.value("replies_sent", static_cast<double>(sent), "messages");
        r.value("replies_failed_or_skipped", static_cast<double>(failed), "messages");
        r.value("replies_drain_after_load",
                std::chrono::duration<double>(drained_at - load_end).count(), "s");
        r.value("replies_rate_load_start_to_drained", total_s > 0 ? sent / total_s : 0,
                "replies/s");
        if (auto llm = bench::scrape_metric(st.url("/metrics"), "switchboard_provider_calls_total",
                                            {{"service", "llm"}}))
          r.value("llm_calls", *llm, "calls");
        if (!drained)
          r.note("replies not drained within SB_BENCH_DRAIN_TIMEOUT_S: " + std::to_string(done)
                 + " of " + std::to_string(inbound) + " answered");
        r.memory("server", bench::read_proc_memory(pid));
      });
}
