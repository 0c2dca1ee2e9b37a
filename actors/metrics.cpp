#include "actors/metrics.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace switchboard::actors {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

namespace {

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string s(std::string_view v) {
  return std::string{v};
}

/// The counters metrics::count knows: the name of their one label, their HELP text and the
/// label values pre-created at 0 (so alerts see the series before the first event).
struct generic_counter {
  const char* name;
  const char* label;
  const char* help;
  std::vector<const char*> values;
};

const std::vector<generic_counter>& generic_counters() {
  static const std::vector<generic_counter> table = {
      {"fallback_replies",
       "reason",
       "Replies by the built-in responder instead of the LLM, by why",
       {}},
      {"tool_calls", "tool", "Tool calls the LLM made, by tool", {}},
      {"typing_indicators",
       "result",
       "WhatsApp read receipts with the typing indicator, by result",
       {"sent", "refused", "failed"}},
      {"inbox_dead_letters",
       "entity",
       "Inbox rows set aside after failing five times for a reason of their own, by entity kind",
       {"message"}},
      {"whatsapp_fallbacks",
       "channel",
       "WhatsApp sends that fell back to another channel, by it",
       {"sms"}},
      {"whatsapp_user_backoffs",
       "origin",
       "WhatsApp per-user rate limits (131056) met, by where they were seen",
       {"send", "status"}},
      {"skipped_sends",
       "channel",
       "Summaries not sent on a channel (no window, no template, no opt-in)",
       {}},
      {"inbox_rewakes",
       "source",
       "Entities woken for pending inbox rows, by who found them",
       {"poller"}},
      {"handoffs",
       "result",
       "Hand-offs to a human recorded, by whether a reason was known",
       {"recorded", "unknown"}},
      {"escalations", "reason", "Conversations escalated to a human, by reason", {}},
      {"cluster_lease_statements",
       "statement",
       "Statements the lease actor sent to the database (renew, take, release, ensure, leave)",
       {}},
      {"bot_answers",
       "result",
       "Bot answers from the Help Center, by whether they cite sources",
       {"with_sources", "no_sources"}},
      {"provider_replies",
       "result",
       "Provider replies from Telegram posted into Chatwoot",
       {"posted", "failed"}},
  };
  return table;
}

const generic_counter* find_generic(std::string_view name) {
  for (const auto& g : generic_counters())
    if (name == g.name)
      return &g;
  return nullptr;
}

} // namespace

struct metrics::impl {
  mutable std::mutex states_mtx;
  std::map<std::string, provider_state, std::less<>> states;
  std::string version = SB_VERSION, commit = "unknown";
  double started_at = 0;
  provider_state& state_of(std::string_view service) {
    auto it = states.find(service);
    if (it == states.end()) {
      it = states.emplace(std::string{service}, provider_state{}).first;
      it->second.service = std::string{service};
    }
    return it->second;
  }
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& http_requests
      = BuildCounter()
            .Name("switchboard_http_requests_total")
            .Help("HTTP requests answered, by route, method and status")
            .Register(*registry);
  prometheus::Family<prometheus::Histogram>& http_latency
      = BuildHistogram()
            .Name("switchboard_http_request_duration_seconds")
            .Help("Time from a request's first byte to its response, by route")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& auth_failures
      = BuildCounter()
            .Name("switchboard_auth_failures_total")
            .Help("Webhooks and API calls refused for a bad or missing signature or token")
            .Register(*registry);
  prometheus::Family<prometheus::Histogram>& batch_size_family
      = BuildHistogram()
            .Name("switchboard_storage_batch_jobs")
            .Help("Jobs per group-commit transaction")
            .Register(*registry);
  prometheus::Histogram& batch_size = batch_size_family.Add(
      {}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  prometheus::Family<prometheus::Histogram>& commit_family
      = BuildHistogram()
            .Name("switchboard_storage_commit_seconds")
            .Help("Duration of group-commit transactions")
            .Register(*registry);
  prometheus::Histogram& commit_latency = commit_family.Add({}, latency_buckets());
  prometheus::Family<prometheus::Counter>& batches
      = BuildCounter()
            .Name("switchboard_storage_batches_total")
            .Help("Group-commit transactions, by outcome")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& workers_family
      = BuildGauge()
            .Name("switchboard_storage_workers_up")
            .Help("Storage workers holding a live database connection")
            .Register(*registry);
  prometheus::Gauge& workers_up = workers_family.Add({});
  prometheus::Family<prometheus::Gauge>& tables
      = BuildGauge()
            .Name("switchboard_table_bytes")
            .Help("On-disk size of each table (data, indexes, TOAST), sampled every sweep")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& purged
      = BuildCounter()
            .Name("switchboard_retention_purged_rows_total")
            .Help("Rows deleted by retention (past their table's horizon), by table")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& actors = BuildGauge()
                                                      .Name("switchboard_live_actors")
                                                      .Help("Live entity actors by kind")
                                                      .Register(*registry);
  prometheus::Family<prometheus::Gauge>& cluster_owned
      = BuildGauge()
            .Name("switchboard_cluster_shards_owned")
            .Help("Shards whose lease this node holds (cluster.enabled)")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& cluster_healthy
      = BuildGauge()
            .Name("switchboard_cluster_lease_healthy")
            .Help("1 while this node's leases were renewed within 2/3 of the TTL, else 0")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& cluster_renewals
      = BuildCounter()
            .Name("switchboard_cluster_lease_renewals_total")
            .Help("Lease renewal rounds (heartbeat and every shard held), by outcome")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& cluster_losses
      = BuildCounter()
            .Name("switchboard_cluster_shard_losses_total")
            .Help("Shards this node stopped owning, by reason (stolen, rejected, released, "
                  "expired)")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& cluster_rejections
      = BuildCounter()
            .Name("switchboard_cluster_epoch_rejections_total")
            .Help("Fenced writes refused because their shard's lease moved to another epoch")
            .Register(*registry);
  prometheus::Family<prometheus::Histogram>& cluster_failovers
      = BuildHistogram()
            .Name("switchboard_cluster_failover_seconds")
            .Help("Shards taken over from a node that stopped renewing: seconds since its last "
                  "renewal")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& cost_units
      = BuildCounter()
            .Name("switchboard_cost_units_total")
            .Help("Billable units as the providers report them: WhatsApp messages charged "
                  "(pricing.type regular), by pricing category; SMS segments sent, by encoding")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& priced_messages
      = BuildCounter()
            .Name("switchboard_priced_messages_total")
            .Help("Messages whose pricing the provider reported, by channel, category and "
                  "pricing type (billable or free)")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& provider_calls
      = BuildCounter()
            .Name("switchboard_provider_calls_total")
            .Help("Provider API calls by service and outcome")
            .Register(*registry);
  prometheus::Family<prometheus::Histogram>& provider_latency
      = BuildHistogram()
            .Name("switchboard_provider_call_duration_seconds")
            .Help("Provider API call latency by service")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& bulkhead_budget
      = BuildGauge()
            .Name("switchboard_http_client_budget")
            .Help("Outbound calls a provider may have in flight at once (its bulkhead)")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& bulkhead_in_flight
      = BuildGauge()
            .Name("switchboard_http_client_in_flight")
            .Help("Outbound calls in flight, by provider")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& bulkhead_queued
      = BuildGauge()
            .Name("switchboard_http_client_queued")
            .Help("Outbound calls waiting for a slot in their provider's bulkhead, by provider")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& retries = BuildCounter()
                                                         .Name("switchboard_provider_retries_total")
                                                         .Help("Retried provider calls by service")
                                                         .Register(*registry);
  prometheus::Family<prometheus::Counter>& sends
      = BuildCounter()
            .Name("switchboard_messages_total")
            .Help("Outbound messages by channel, provider and outcome (sent, failed)")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& dedupe
      = BuildCounter()
            .Name("switchboard_dedupe_hits_total")
            .Help("Duplicate webhooks recognised, by source")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& sessions
      = BuildCounter()
            .Name("switchboard_sessions_total")
            .Help("Omnichannel sessions by event (opened, closed, expired)")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& circuit
      = BuildGauge()
            .Name("switchboard_circuit_state")
            .Help("Circuit breaker of each provider service: 0 closed, 1 half-open, 2 open")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& circuit_opens
      = BuildCounter()
            .Name("switchboard_circuit_opens_total")
            .Help("Times a provider's circuit breaker opened (re-opens after a failed probe too)")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& circuit_deferred
      = BuildCounter()
            .Name("switchboard_circuit_deferred_total")
            .Help("Sends held back by an open breaker: left queued, not attempted, attempts "
                  "unchanged")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& outbox_queued
      = BuildGauge()
            .Name("switchboard_outbox_queued")
            .Help("Queued outbound messages and notifications per provider service (waiting for "
                  "a first try, a retry or a breaker), sampled every second")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& outbox_due
      = BuildGauge()
            .Name("switchboard_outbox_due")
            .Help("Of the queued rows, those due now (a backlog the sweeper has not handed out)")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& replies_deferred
      = BuildCounter()
            .Name("switchboard_replies_deferred_total")
            .Help("Answers held back by a user's or a Chatwoot conversation's reply bucket "
                  "(session.reply_burst, chatwoot.reply_burst): the messages wait for one later "
                  "answer, by kind (session, conversation)")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& replies_coalesced
      = BuildCounter()
            .Name("switchboard_reply_coalesced_messages_total")
            .Help("Inbound messages answered together by an answer the reply bucket had held back")
            .Register(*registry);
  prometheus::Family<prometheus::Counter>& api_limited
      = BuildCounter()
            .Name("switchboard_api_rate_limited_total")
            .Help("API calls answered 429 by their key's bucket (api.rate_per_s, api.burst), by "
                  "route")
            .Register(*registry);
  prometheus::Family<prometheus::Gauge>& build_info
      = BuildGauge()
            .Name("switchboard_build_info")
            .Help("Always 1; the labels say which build is running")
            .Register(*registry);
  prometheus::Gauge& cpu = BuildGauge()
                               .Name("process_cpu_seconds_total")
                               .Help("User and system CPU time spent, in seconds")
                               .Register(*registry)
                               .Add({});
  prometheus::Gauge& rss = BuildGauge()
                               .Name("process_resident_memory_bytes")
                               .Help("Resident memory size in bytes")
                               .Register(*registry)
                               .Add({});
  prometheus::Gauge& vsize = BuildGauge()
                                 .Name("process_virtual_memory_bytes")
                                 .Help("Virtual memory size in bytes")
                                 .Register(*registry)
                                 .Add({});
  prometheus::Gauge& fds = BuildGauge()
                               .Name("process_open_fds")
                               .Help("Open file descriptors")
                               .Register(*registry)
                               .Add({});
  prometheus::Gauge& max_fds = BuildGauge()
                                   .Name("process_max_fds")
                                   .Help("The open-file limit (soft)")
                                   .Register(*registry)
                                   .Add({});
  prometheus::Gauge& start_time = BuildGauge()
                                      .Name("process_start_time_seconds")
                                      .Help("Start time of the process since the Unix epoch, in "
                                            "seconds")
                                      .Register(*registry)
                                      .Add({});
  prometheus::Gauge& threads = BuildGauge()
                                   .Name("process_threads")
                                   .Help("Threads of the process")
                                   .Register(*registry)
                                   .Add({});
  std::mutex generic_mutex;
  std::unordered_map<std::string, prometheus::Family<prometheus::Counter>*> generic;

  prometheus::Family<prometheus::Counter>& generic_family(std::string_view name) {
    std::lock_guard<std::mutex> guard{generic_mutex};
    auto key = "switchboard_" + s(name) + "_total";
    auto it = generic.find(key);
    if (it == generic.end()) {
      auto* known = find_generic(name);
      auto help = known ? std::string{known->help} : "Events counted as " + s(name) + ", by kind";
      it = generic.emplace(key, &BuildCounter().Name(key).Help(help).Register(*registry)).first;
    }
    return *it->second;
  }

  /// Reads /proc/self: CPU time, memory, descriptors, threads (at each scrape).
  void sample_process() const;
};

namespace {

/// The process's start as seconds since the epoch: boot time + its start in clock ticks.
double process_start_seconds() {
  std::ifstream stat{"/proc/self/stat"};
  std::string text{std::istreambuf_iterator<char>{stat}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{text.substr(close + 2)};
  std::string f;
  unsigned long long starttime = 0;
  for (int i = 3; i <= 22 && fields >> f; ++i)
    if (i == 22)
      starttime = std::stoull(f);
  std::ifstream up{"/proc/stat"};
  std::string line;
  double btime = 0;
  while (std::getline(up, line))
    if (line.rfind("btime ", 0) == 0)
      btime = std::stod(line.substr(6));
  return btime + static_cast<double>(starttime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

} // namespace

void metrics::impl::sample_process() const {
  std::ifstream stat{"/proc/self/stat"};
  std::string text{std::istreambuf_iterator<char>{stat}, {}};
  auto close = text.rfind(')');
  if (close != std::string::npos) {
    // Fields after the command name, numbered as in proc(5): 14 utime, 15 stime, 20 threads,
    // 23 vsize, 24 rss (pages).
    std::istringstream fields{text.substr(close + 2)};
    std::string f;
    double utime = 0, stime = 0, nthreads = 0, vs = 0, pages = 0;
    for (int i = 3; i <= 24 && fields >> f; ++i) {
      if (i == 14)
        utime = std::stod(f);
      else if (i == 15)
        stime = std::stod(f);
      else if (i == 20)
        nthreads = std::stod(f);
      else if (i == 23)
        vs = std::stod(f);
      else if (i == 24)
        pages = std::stod(f);
    }
    auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    cpu.Set((utime + stime) / ticks);
    threads.Set(nthreads);
    vsize.Set(vs);
    rss.Set(pages * static_cast<double>(sysconf(_SC_PAGESIZE)));
  }
  std::size_t open = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{"/proc/self/fd", ec}, end; !ec && it != end;
       it.increment(ec))
    ++open;
  fds.Set(static_cast<double>(open));
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    max_fds.Set(static_cast<double>(lim.rlim_cur));
}

metrics::metrics() : impl_(std::make_unique<impl>()) {
  impl_->started_at = process_start_seconds();
  impl_->start_time.Set(impl_->started_at);
  impl_->build_info.Add({{"version", SB_VERSION}, {"commit", "unknown"}}).Set(1);
  for (const auto& g : generic_counters()) {
    auto& family = impl_->generic_family(g.name); // listed (HELP, TYPE) before its first event
    for (auto* v : g.values)
      family.Add({{g.label, v}});
  }
  // Listed at 0 from the start, so a dashboard sees the series before the first flood.
  impl_->replies_deferred.Add({{"kind", "session"}});
  impl_->replies_coalesced.Add({{"kind", "session"}});
  impl_->replies_deferred.Add({{"kind", "conversation"}});
  impl_->replies_coalesced.Add({{"kind", "conversation"}});
  for (const char* route : {"tools_call", "voice_call_ended", "session_deliveries",
                            "provider_config_get", "provider_config_put"})
    impl_->api_limited.Add({{"route", route}});
}

metrics::~metrics() = default;

void metrics::http_request(std::string_view route, std::string_view method, int status,
                           double seconds) {
  auto r = route.empty() ? std::string{"unmatched"} : s(route);
  impl_->http_requests
      .Add({{"route", r}, {"method", s(method)}, {"status", std::to_string(status)}})
      .Increment();
  impl_->http_latency.Add({{"route", r}}, latency_buckets()).Observe(seconds);
}

void metrics::auth_failure(std::string_view route) {
  impl_->auth_failures.Add({{"route", s(route)}}).Increment();
}

void metrics::storage_batch(std::size_t jobs, double seconds, bool ok) {
  impl_->batch_size.Observe(static_cast<double>(jobs));
  impl_->commit_latency.Observe(seconds);
  impl_->batches.Add({{"outcome", ok ? "committed" : "failed"}}).Increment();
}

void metrics::storage_workers_up(std::size_t n) {
  impl_->workers_up.Set(static_cast<double>(n));
}

void metrics::live_actors(std::string_view kind, long delta) {
  impl_->actors.Add({{"kind", s(kind)}}).Increment(static_cast<double>(delta));
}

void metrics::provider_call(std::string_view service, std::string_view outcome, double seconds) {
  impl_->provider_calls.Add({{"service", s(service)}, {"outcome", s(outcome)}}).Increment();
  impl_->provider_latency.Add({{"service", s(service)}}, latency_buckets()).Observe(seconds);
}

void metrics::http_bulkhead(std::string_view provider, std::size_t budget, std::size_t in_flight,
                            std::size_t queued) {
  impl_->bulkhead_budget.Add({{"provider", s(provider)}}).Set(static_cast<double>(budget));
  impl_->bulkhead_in_flight.Add({{"provider", s(provider)}}).Set(static_cast<double>(in_flight));
  impl_->bulkhead_queued.Add({{"provider", s(provider)}}).Set(static_cast<double>(queued));
  std::lock_guard<std::mutex> guard{impl_->states_mtx};
  auto& st = impl_->state_of(provider);
  st.budget = budget;
  st.in_flight = in_flight;
  st.queued = queued;
}

void metrics::provider_retry(std::string_view service) {
  impl_->retries.Add({{"service", s(service)}}).Increment();
}

void metrics::message_sent(std::string_view channel, std::string_view provider, bool ok) {
  impl_->sends
      .Add(
          {{"channel", s(channel)}, {"provider", s(provider)}, {"outcome", ok ? "sent" : "failed"}})
      .Increment();
}

void metrics::cost(std::string_view channel, std::string_view category, std::string_view type,
                   double units) {
  impl_->priced_messages
      .Add({{"channel", s(channel)}, {"category", s(category)}, {"type", s(type)}})
      .Increment();
  // Free messages still show up, with 0 units, so every category a deployment meets is listed.
  impl_->cost_units.Add({{"channel", s(channel)}, {"category", s(category)}}).Increment(units);
}

void metrics::table_bytes(std::string_view table, double bytes) {
  impl_->tables.Add({{"table", s(table)}}).Set(bytes);
}

void metrics::rows_purged(std::string_view table, double rows) {
  impl_->purged.Add({{"table", s(table)}}).Increment(rows);
}

void metrics::circuit_state(std::string_view service, int state) {
  impl_->circuit.Add({{"service", s(service)}}).Set(state);
  std::lock_guard<std::mutex> guard{impl_->states_mtx};
  impl_->state_of(service).circuit = state;
}

std::vector<metrics::provider_state> metrics::provider_states() const {
  std::lock_guard<std::mutex> guard{impl_->states_mtx};
  std::vector<provider_state> out;
  for (const auto& [name, st] : impl_->states)
    out.push_back(st);
  return out;
}

metrics::build_facts metrics::build() const {
  std::lock_guard<std::mutex> guard{impl_->states_mtx};
  return {impl_->version, impl_->commit, impl_->started_at};
}

void metrics::circuit_opened(std::string_view service) {
  impl_->circuit_opens.Add({{"service", s(service)}}).Increment();
}

void metrics::circuit_deferred(std::string_view service) {
  impl_->circuit_deferred.Add({{"service", s(service)}}).Increment();
}

void metrics::outbox_queued(std::string_view service, double queued, double due) {
  impl_->outbox_queued.Add({{"service", s(service)}}).Set(queued);
  impl_->outbox_due.Add({{"service", s(service)}}).Set(due);
}

void metrics::dedupe_hit(std::string_view source) {
  impl_->dedupe.Add({{"source", s(source)}}).Increment();
}

void metrics::session_event(std::string_view what) {
  impl_->sessions.Add({{"event", s(what)}}).Increment();
}

void metrics::reply_deferred(std::string_view kind) {
  impl_->replies_deferred.Add({{"kind", s(kind)}}).Increment();
}

void metrics::reply_coalesced(std::string_view kind, std::size_t messages) {
  impl_->replies_coalesced.Add({{"kind", s(kind)}}).Increment(static_cast<double>(messages));
}

void metrics::api_rate_limited(std::string_view route) {
  impl_->api_limited.Add({{"route", s(route)}}).Increment();
}

void metrics::cluster_shards(std::size_t owned, bool healthy) {
  impl_->cluster_owned.Add({}).Set(static_cast<double>(owned));
  impl_->cluster_healthy.Add({}).Set(healthy ? 1 : 0);
}

void metrics::cluster_renewal(bool ok) {
  impl_->cluster_renewals.Add({{"outcome", ok ? "ok" : "failed"}}).Increment();
}

void metrics::cluster_shards_lost(std::string_view reason, std::size_t shards) {
  impl_->cluster_losses.Add({{"reason", s(reason)}}).Increment(static_cast<double>(shards));
}

void metrics::cluster_epoch_rejection(std::size_t shards) {
  impl_->cluster_rejections.Add({}).Increment(static_cast<double>(shards));
}

void metrics::cluster_failover(double seconds) {
  impl_->cluster_failovers
      .Add({}, prometheus::Histogram::BucketBoundaries{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 30, 60})
      .Observe(seconds);
}

void metrics::count(std::string_view name, std::string_view label_value, double by) {
  auto* known = find_generic(name);
  impl_->generic_family(name).Add({{known ? known->label : "kind", s(label_value)}}).Increment(by);
}

void metrics::set_build(std::string_view version, std::string_view commit) {
  auto& fam = impl_->build_info;
  fam.Remove(&fam.Add({{"version", SB_VERSION}, {"commit", "unknown"}}));
  fam.Add({{"version", s(version)}, {"commit", s(commit)}}).Set(1);
  std::lock_guard<std::mutex> guard{impl_->states_mtx};
  impl_->version = std::string{version};
  impl_->commit = std::string{commit};
}

std::string metrics::render() const {
  impl_->sample_process();
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

} // namespace switchboard::actors
