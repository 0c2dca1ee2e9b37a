// Inbound-SMS ingest: signed MTN webhooks stored and routed to session actors, against the
// static-reply route of the same server and, in the same run on the same PostgreSQL, the Node
// peer (shared/peers/node-sms-webhook); closed loop, then open loop at a fraction of the
// closed-loop rate; then the replies (LLM on the simulator + MTN send) the server produces.
#include <chrono>
#include <optional>
#include <string>

#include <soci/soci.h>

#include "bench/harness.hpp"
#include "bench/peer.hpp"
#include "core/crypto.hpp"
#include "providers/mtn/signature.hpp"

namespace {

using namespace switchboard;
using bench::clock_type;

/// The id prefix of a phase's measured requests or of its warm-up: distinct, so that each
/// phase's rows can be counted (and free of LIKE wildcards).
std::string id_prefix(std::string phase, bool warmup) {
  for (auto& c : phase)
    if (c == '_')
      c = '-';
  return phase + (warmup ? "-w-" : "-m-");
}

/// One ingest phase: warm-up and measured run, each with its own ids; fails the report when the
/// sampled answers are not 200.
bench::load_result ingest(bench::report& r, const std::string& phase, const std::string& what,
                          const bench::load_options& lo, const bench::mtn_requests& mtn,
                          pid_t pid) {
  auto warm = mtn.source(id_prefix(phase, true));
  auto res = bench::measure(r, phase, what, lo, mtn.source(id_prefix(phase, false)), pid, &warm);
  bench::check_samples(r, phase, res, 200);
  return res;
}

/// Inbound MTN rows of message_delivery_log whose external id starts with `prefix` (the peer's,
/// and ours before the durable inbox).
long long delivery_log_rows(soci::session& db, const std::string& prefix) {
  return bench::db_count(db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                             "'inbound' AND provider = 'mtn' AND external_id LIKE '"
                                 + prefix + "%'");
}

/// Switchboard's stored inbound MTN messages whose id starts with `prefix`: rows of the durable
/// inbox when it exists, else the inbound rows of message_delivery_log.
long long switchboard_rows(soci::session& db, const std::string& prefix) {
  if (bench::db_count(db, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                          "AND tablename = 'inbox'")
      == 0)
    return delivery_log_rows(db, prefix);
  return bench::db_count(db, "SELECT count(*) FROM inbox WHERE source = 'mtn' AND dedupe_key LIKE '"
                                 + prefix + "%'");
}

/// The same load at `fraction` of a closed-loop phase's throughput.
std::optional<bench::load_options> open_loop(bench::report& r, bench::load_options lo,
                                             const bench::load_result& closed, double fraction,
                                             const std::string& phase) {
  lo.rate_per_s = closed.throughput * fraction;
  if (lo.rate_per_s <= 0) {
    r.note(phase + " not run: no closed-loop throughput to take a fraction of");
    return std::nullopt;
  }
  return lo;
}

/// A signed webhook with a bad signature must be refused before anything is stored.
void check_bad_signature(bench::report& r, const std::string& url, const std::string& body,
                         const std::string& who) {
  auto bad
      = test::http_post(url, body, "application/json", {{"X-MTN-Signature", std::string(64, '0')}});
  if (bad.status != 401)
    r.fail(who + ": an MTN webhook with a bad signature answered " + std::to_string(bad.status)
           + ", expected 401");
}

/// The peer's phases (closed loop, then open loop), when it can run here; its closed-loop run.
std::optional<bench::load_result> measure_peer(bench::report& r, const bench::load_options& lo,
                                               long senders, double fraction) {
  auto dir = bench::node_peer::locate();
  if (auto why = bench::node_peer::unavailable(dir); !why.empty()) {
    r.note("the node peer was not measured: " + why);
    return std::nullopt;
  }
  r.config("peer_dir", dir);
  bench::mtn_requests mtn{"peer-" + core::random_hex(12), senders};
  bench::node_peer peer{dir, mtn.secret};
  auto db = peer.db().connect();
  check_bad_signature(r, peer.url("/webhooks/sms/mtn"), mtn.body("bad-signature", 0), "peer");
  auto plo = lo;
  plo.port = peer.port();
  auto closed = ingest(r, "peer_inbound",
                       "node peer: POST /webhooks/sms/mtn (fastify + pg, one transaction each)",
                       plo, mtn, peer.pid());
  bench::check_rows(r, "peer_inbound", closed,
                    delivery_log_rows(*db, id_prefix("peer_inbound", false)));
  if (auto olo = open_loop(r, plo, closed, fraction, "peer_open_loop")) {
    auto open = ingest(r, "peer_open_loop", "node peer, open loop (latency from schedule)", *olo,
                       mtn, peer.pid());
    bench::check_rows(r, "peer_open_loop", open,
                      delivery_log_rows(*db, id_prefix("peer_open_loop", false)));
  }
  r.memory("peer", bench::read_proc_memory(peer.pid()));
  if (auto status = peer.stop(); status != 0)
    r.note("the node peer exited with status " + std::to_string(status) + ": "
           + peer.log().substr(0, 500));
  return closed;
}

} // namespace

int main() {
  return bench::run(
      "sms_ingest",
      "signed MTN inbound SMS -> stored -> session actor -> 200, side by side with the node "
      "peer, then the replies",
      [](bench::report& r) {
        test::stack st{bench::bench_stack_options()};
        auto pid = st.server().pid();
        auto db = st.db().connect();
        auto lo = bench::default_load(st.port());
        lo.keep_samples = 64;
        auto senders = std::max<long>(1, bench::env_long("SB_BENCH_SENDERS", 10000));
        auto fraction = bench::env_double("SB_BENCH_OPEN_LOOP_FRACTION", 0.5);
        auto drain_limit = bench::env_seconds("SB_BENCH_DRAIN_TIMEOUT_S", 120);
        r.config("connections", lo.connections);
        r.config("duration_s", lo.duration.count() / 1000.0);
        r.config("warmup_s", lo.warmup.count() / 1000.0);
        r.config("senders", senders);
        r.config("open_loop_fraction", fraction);
        r.config("max_connections", lo.max_connections);

        bench::mtn_requests mtn{st.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET"), senders};
        check_bad_signature(r, st.url("/webhooks/sms/mtn"), mtn.body("bad-signature", 0),
                            "switchboard");

        auto stat = bench::measure_static(r, lo, pid, "GET /bench/static (same server, baseline)");

        // The peer goes first: Switchboard keeps working after its acks (LLM replies, sends),
        // the peer does not, so none of our leftover work runs during its phases; its dirty
        // pages are checkpointed before ours start.
        std::optional<bench::load_result> peer;
        try {
          peer = measure_peer(r, lo, senders, fraction);
        } catch (const std::exception& e) {
          r.fail(std::string{"node peer: "} + e.what());
        }
        try {
          st.db().admin("CHECKPOINT");
        } catch (const std::exception& e) {
          r.note(std::string{"no CHECKPOINT between the peer and us: "} + e.what());
        }

        auto load_start = clock_type::now();
        auto ingest_res
            = ingest(r, "mtn_inbound", "POST /webhooks/sms/mtn (signed, unique id, stored, routed)",
                     lo, mtn, pid);
        auto load_end = clock_type::now();
        bench::check_rows(r, "mtn_inbound", ingest_res,
                          switchboard_rows(*db, id_prefix("mtn_inbound", false)));
        if (stat.throughput > 0)
          r.value("ingest_vs_static_throughput", ingest_res.throughput / stat.throughput, "ratio");
        r.value("ingest_minus_static_p99", ingest_res.latency.p99 - stat.latency.p99, "ms");
        if (peer && peer->throughput > 0)
          r.value("switchboard_vs_peer_throughput", ingest_res.throughput / peer->throughput,
                  "ratio");

        // Every stored inbound message is answered (LLM on the simulator, then an MTN send; a
        // burst of one sender's messages gets one reply): nothing pending in the inbox, no
        // inbound row without its reply, no reply still queued.
        const std::string pending_sql
            = "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL) + (SELECT count(*) "
              "FROM message_delivery_log WHERE direction = 'inbound' AND reply_id IS NULL) + "
              "(SELECT count(*) FROM message_delivery_log WHERE direction = 'outbound' AND "
              "channel = 'sms' AND status = 'queued')";
        auto inbound = switchboard_rows(*db, "");
        long long pending = 0;
        bool drained = bench::wait_until(
            [&] {
              pending = bench::db_count(*db, pending_sql);
              return pending == 0;
            },
            drain_limit, std::chrono::milliseconds{250});
        auto drained_at = clock_type::now();
        auto answered = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE "
                                             "direction = 'inbound' AND reply_id IS NOT NULL");
        auto replies
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                   "'outbound' AND channel = 'sms'");
        auto sent
            = bench::db_count(*db, "SELECT count(*) FROM message_delivery_log WHERE direction = "
                                   "'outbound' AND channel = 'sms' AND status IN ('sent', "
                                   "'delivered', 'read')");
        auto total_s = std::chrono::duration<double>(drained_at - load_start).count();
        r.value("inbound_stored", static_cast<double>(inbound), "messages");
        r.value("inbound_answered", static_cast<double>(answered), "messages");
        r.value("replies", static_cast<double>(replies), "messages");
        r.value("replies_sent", static_cast<double>(sent), "messages");
        r.value("replies_failed_or_skipped", static_cast<double>(replies - sent), "messages");
        r.value("replies_drain_after_load",
                std::chrono::duration<double>(drained_at - load_end).count(), "s");
        r.value("answered_rate_load_start_to_drained", total_s > 0 ? answered / total_s : 0,
                "messages/s");
        if (auto llm = bench::scrape_metric(st.url("/metrics"), "switchboard_provider_calls_total",
                                            {{"service", "llm"}}))
          r.value("llm_calls", *llm, "calls");
        if (auto deferred
            = bench::scrape_metric(st.url("/metrics"), "switchboard_inbox_deferred_total"))
          r.value("wakeups_deferred_to_the_poller", *deferred, "wake-ups");
        if (!drained)
          r.note("not drained within SB_BENCH_DRAIN_TIMEOUT_S: " + std::to_string(pending)
                 + " inbox rows, unanswered messages or queued replies left");

        // Open loop once the replies have drained, at a fraction of the closed-loop rate.
        if (auto olo = open_loop(r, lo, ingest_res, fraction, "mtn_open_loop")) {
          auto open
              = ingest(r, "mtn_open_loop",
                       "POST /webhooks/sms/mtn, open loop (latency from schedule)", *olo, mtn, pid);
          bench::check_rows(r, "mtn_open_loop", open,
                            switchboard_rows(*db, id_prefix("mtn_open_loop", false)));
          r.value("pending_after_open_loop", static_cast<double>(bench::db_count(*db, pending_sql)),
                  "rows");
        }

        // Answering: the LLM takes 500 ms (SB_BENCH_LLM_LATENCY_MS) and every sender writes a
        // burst of three messages; acknowledgements must not wait for the LLM, every message is
        // answered, and each burst costs one LLM call.
        auto llm_latency = bench::env_long("SB_BENCH_LLM_LATENCY_MS", 500);
        auto bursts = std::max<long>(1, bench::env_long("SB_BENCH_BURSTS", 600));
        auto burst_rate = bench::env_double("SB_BENCH_BURST_RATE", 300);
        r.config("llm_latency_ms", llm_latency);
        r.config("bursts", bursts);
        auto fault = test::http_post_json(st.sim_url("/_sim/faults"),
                                          {{"service", "openai"}, {"latency_ms", llm_latency}});
        if (fault.status >= 300)
          throw std::runtime_error("the simulator refused the LLM latency: " + fault.body);
        bench::wait_until([&] { return bench::db_count(*db, pending_sql) == 0; }, drain_limit,
                          std::chrono::milliseconds{250});
        auto llm_before
            = bench::scrape_metric(st.url("/metrics"), "switchboard_provider_calls_total",
                                   {{"service", "llm"}})
                  .value_or(0);
        auto blo = lo;
        blo.rate_per_s = burst_rate;
        blo.max_requests = static_cast<uint64_t>(bursts) * 3;
        blo.warmup = std::chrono::milliseconds{0};
        auto burst_start = clock_type::now();
        auto burst_res = bench::measure(
            r, "answering", "3-message bursts per sender, open loop, the LLM at 500 ms", blo,
            [&](uint64_t seq) {
              bench::load_request q;
              q.method = "POST";
              q.target = "/webhooks/sms/mtn";
              auto sender = std::to_string(250790000000LL + static_cast<long long>(seq / 3));
              q.body = R"({"from":"+)" + sender + R"(","to":"SWITCHBRD","message":"Part )"
                       + std::to_string(seq % 3 + 1) + R"( of my question about order )"
                       + std::to_string(seq / 3) + R"(","id":"answering-)" + std::to_string(seq)
                       + R"("})";
              q.headers.emplace_back("X-MTN-Signature",
                                     providers::mtn_signature(mtn.secret, q.body));
              return q;
            },
            pid);
        bench::check_samples(r, "answering", burst_res, 200);
        bench::check_rows(r, "answering", burst_res, switchboard_rows(*db, "answering-"));
        bool answered_all
            = bench::wait_until([&] { return bench::db_count(*db, pending_sql) == 0; }, drain_limit,
                                std::chrono::milliseconds{250});
        auto burst_done = clock_type::now();
        auto llm_after
            = bench::scrape_metric(st.url("/metrics"), "switchboard_provider_calls_total",
                                   {{"service", "llm"}})
                  .value_or(0);
        auto burst_rows = switchboard_rows(*db, "answering-");
        auto burst_answered = bench::db_count(
            *db, "SELECT count(*) FROM message_delivery_log WHERE direction = 'inbound' AND "
                 "external_id LIKE 'answering-%' AND reply_id IS NOT NULL");
        auto burst_replies = bench::db_count(
            *db, "SELECT count(DISTINCT reply_id) FROM message_delivery_log WHERE direction = "
                 "'inbound' AND external_id LIKE 'answering-%'");
        r.value("answering_messages", static_cast<double>(burst_rows), "messages");
        r.value("answering_answered", static_cast<double>(burst_answered), "messages");
        r.value("answering_replies", static_cast<double>(burst_replies), "replies");
        auto bursts_sent = static_cast<double>(burst_res.answered) / 3.0;
        r.value("answering_llm_calls_per_burst",
                bursts_sent > 0 ? (llm_after - llm_before) / bursts_sent : 0, "calls");
        r.value("answering_last_reply_after_first_message",
                std::chrono::duration<double>(burst_done - burst_start).count(), "s");
        if (!answered_all || burst_answered != burst_rows)
          r.note("answering: not every message was answered within SB_BENCH_DRAIN_TIMEOUT_S");
        r.memory("server", bench::read_proc_memory(pid));
      });
}
