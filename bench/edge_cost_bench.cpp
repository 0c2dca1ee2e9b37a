// Cost of our HTTP edge: a signed no-op webhook (HMAC over the raw body + JSON parse) against a
// static reply, on the same server in the same run.
#include <string>

#include "bench/harness.hpp"
#include "providers/whatsapp/signature.hpp"
#include "tests/support/fixtures.hpp"

namespace {

using namespace switchboard;

} // namespace

int main() {
  return bench::run(
      "edge_cost", "signed no-op webhook vs static reply on the same server", [](bench::report& r) {
        test::stack st{bench::bench_stack_options()};
        auto pid = st.server().pid();
        auto lo = bench::default_load(st.port());
        r.config("connections", lo.connections);
        r.config("duration_s", lo.duration.count() / 1000.0);
        r.config("warmup_s", lo.warmup.count() / 1000.0);

        // A WhatsApp inbound text webhook (the vendored fixture) with a unique message id.
        auto secret = st.env("SWITCHBOARD_WHATSAPP_APP_SECRET");
        auto doc = test::fixture_json("whatsapp/inbound_text.json");
        doc["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.BENCH@";
        auto text = doc.dump();
        auto at = text.find('@');
        auto head = text.substr(0, at);
        auto tail = text.substr(at + 1);
        r.config("signed_body_bytes", text.size());

        auto bad = test::http_post(st.url("/bench/signed-noop"), text, "application/json",
                                   {{"X-Hub-Signature-256", "sha256=00"}});
        if (bad.status != 401)
          r.fail("POST /bench/signed-noop with a bad signature answered "
                 + std::to_string(bad.status) + ", expected 401");

        auto stat = bench::measure_static(r, lo, pid);

        auto sig = bench::measure(
            r, "signed_noop", "POST /bench/signed-noop (X-Hub-Signature-256, JSON parse)", lo,
            [&](uint64_t seq) {
              bench::load_request q;
              q.method = "POST";
              q.target = "/bench/signed-noop";
              q.body = head + std::to_string(seq) + tail;
              q.headers.emplace_back("X-Hub-Signature-256",
                                     providers::hub_signature(secret, q.body));
              return q;
            },
            pid);
        bench::check_samples(r, "signed_noop", sig, 200);

        if (stat.throughput > 0)
          r.value("signed_vs_static_throughput", sig.throughput / stat.throughput, "ratio");
        r.value("signed_minus_static_p50", sig.latency.p50 - stat.latency.p50, "ms");
        r.value("signed_minus_static_p99", sig.latency.p99 - stat.latency.p99, "ms");
        r.memory("server", bench::read_proc_memory(pid));
      });
}
