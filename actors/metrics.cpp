#include "actors/metrics.hpp"

#include <mutex>
#include <unordered_map>

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

} // namespace

struct metrics::impl {
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
            .Help("Answers held back by the user's reply bucket (session.reply_burst, "
                  "session.reply_rate_per_min): the messages wait, stored, for one later answer")
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
  std::mutex generic_mutex;
  std::unordered_map<std::string, prometheus::Family<prometheus::Counter>*> generic;
};

metrics::metrics() : impl_(std::make_unique<impl>()) {
  // Listed at 0 from the start, so a dashboard sees the series before the first flood.
  impl_->replies_deferred.Add({{"kind", "session"}});
  impl_->replies_coalesced.Add({{"kind", "session"}});
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

void metrics::count(std::string_view name, std::string_view label_value, double by) {
  prometheus::Family<prometheus::Counter>* fam;
  {
    std::lock_guard<std::mutex> guard{impl_->generic_mutex};
    auto key = "switchboard_" + s(name) + "_total";
    auto it = impl_->generic.find(key);
    if (it == impl_->generic.end())
      it = impl_->generic
               .emplace(key, &BuildCounter().Name(key).Help(s(name)).Register(*impl_->registry))
               .first;
    fam = it->second;
  }
  fam->Add({{"kind", s(label_value)}}).Increment(by);
}

std::string metrics::render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

} // namespace switchboard::actors
