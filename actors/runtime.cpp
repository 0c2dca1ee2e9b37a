#include "actors/runtime.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "actors/common.hpp"
#include "actors/http_client.hpp"
#include "actors/ingest.hpp"
#include "core/crypto.hpp"
#include "core/phone.hpp"
#include "providers/provider.hpp"
#include "storage/console.hpp"
#include "storage/inbox.hpp"
#include "storage/omnichannel.hpp"
#include "storage/providers.hpp"

namespace switchboard::config {
const std::string& builtin_followup_prompt();
const std::string& builtin_support_bot_prompt();
} // namespace switchboard::config

namespace switchboard::actors {

namespace {

/// A prompt from its configured file, or the built-in copy when the setting is empty.
std::string load_prompt(const std::string& path, const std::string& builtin) {
  if (path.empty())
    return builtin;
  std::ifstream in{path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str().empty() ? builtin : text.str();
}

} // namespace

struct runtime::impl {
  config::settings settings;
  std::shared_ptr<metrics> stats;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  // The actor graph: each actor was spawned with the handles and settings it uses (fwd.hpp).
  storage_actor storage;
  http_client_actor http;
  llm_actor llm; ///< llm.enabled only
  patient_http_actor patient;
  articles_actor articles;
  channel_set channels;
  batch_kinds kinds;
  session_router_actor sessions;
  conversation_router_actor conversations;
  telegram_bridge_actor telegram;
  sweeper_actor sweeper;
  edge_actor edge;
  inbox_targets targets;
  std::shared_ptr<ingest_load> load;
  std::shared_ptr<cluster_view> cluster; ///< cluster.enabled only
  std::unique_ptr<ingest_pool> ingest_workers;
  lease_actor leases; ///< cluster.enabled only
  hint_actor hints;   ///< cluster.enabled and cluster.wake_hints only
  bool stopped = false;

  /// Stores an inbox entry; after the commit, answers and wakes the entity.
  void ingest(core::inbox_entry e, edge_callback done) {
    if (core::has_nul(e)) {
      done(json_reply(400, {{"error", "malformed"},
                            {"reason", "the message contains a NUL character, which is not "
                                       "stored; nothing was accepted"}}));
      return;
    }
    auto kind = e.kind;
    auto entity = e.entity;
    auto source = e.source;
    ingest_workers->submit(std::move(e), [to = &targets, kind, entity, source, done](db_result& r) {
      if (r.error) {
        done(error_reply(r.error));
        return;
      }
      if (!std::any_cast<storage::inbox_stored>(&r.value)->inserted) {
        to->stats->dedupe_hit(source);
        done(edge_reply{200, R"({"status":"duplicate"})"});
        return;
      }
      done(edge_reply{200, R"({"status":"accepted"})"});
      wake(*to, kind, entity);
    });
  }
};

runtime::runtime(const config::settings& s, std::shared_ptr<metrics> m)
    : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.settings = s;
  d.stats = std::move(m);
  d.cfg.set("scheduler.policy", caf::atom("sharing"));
  d.cfg.set("scheduler.max-threads", s.actors.scheduler_threads);
  d.cfg.set("logger.verbosity", caf::atom("quiet"));
  // Every thread the actor system starts (the scheduler, the clock) and every thread those
  // start in turn (the HTTP client's loop, detached actors spawned by actors) inherits the nice
  // value of its creator, so the system is built on a thread at actors.processing_nice:
  // processing then runs below the acknowledgement path, whose threads (the HTTP server's, the
  // ingest workers spawned below from this thread) keep the server's own priority. So do the
  // storage workers (spawn_storage spawns them from this thread): they hold row locks. Raising a
  // nice value needs no privilege; this thread cannot lower its own again, hence the helper thread.
  std::thread{[&d, nice = s.actors.processing_nice] {
    if (nice > 0) {
      errno = 0;
      int now = getpriority(PRIO_PROCESS, 0);
      if (errno == 0 && setpriority(PRIO_PROCESS, 0, std::min(19, now + nice)) != 0)
        core::log(core::log_level::warn, "processing threads keep the server's priority",
                  {{"error", std::strerror(errno)}});
    }
    d.sys = std::make_unique<caf::actor_system>(d.cfg);
  }}.join();

  storage_config sc{s.database, s.storage, {}};
  d.load = std::make_shared<ingest_load>();
  d.load->latency_target_ms = static_cast<long>(s.inbox.yield_latency.count());
  sc.yielding = [load = d.load, rate = s.inbox.yield_rate, backlog = s.inbox.yield_backlog] {
    return load->busy(rate, backlog);
  };
  d.storage = spawn_storage(*d.sys, sc, d.stats);
  http_client_config hc;
  hc.connect_timeout = s.http_client.connect_timeout;
  hc.total_timeout = s.http_client.total_timeout;
  hc.max_connections = s.http_client.max_connections;
  hc.max_in_flight_per_provider = s.http_client.max_in_flight_per_provider;
  auto& b = s.http_client.max_in_flight;
  hc.max_in_flight
      = {{"whatsapp", b.whatsapp}, {"mtn", b.mtn},           {"twilio", b.twilio}, {"llm", b.llm},
         {"telegram", b.telegram}, {"chatwoot", b.chatwoot}, {"smtp", b.smtp}};
  d.http = spawn_http_client(*d.sys, hc, d.stats);
  core::session_machine machine{s.session.ttl};
  core::channel_policy policy;
  policy.whatsapp_enabled = s.whatsapp.enabled;
  policy.sms_enabled = s.sms.enabled;
  policy.sms_provider = s.sms.provider;
  policy.whatsapp_window = s.session.whatsapp_window;
  policy.template_name = s.whatsapp.template_name;
  policy.template_language = s.whatsapp.template_language;
  policy.sms_max_segments = s.sms.max_segments;
  policy.claim_lease = std::max<std::chrono::milliseconds>(std::chrono::seconds{30},
                                                           s.http_client.total_timeout * 2);
  if (s.cluster.enabled)
    d.cluster = std::make_shared<cluster_view>(
        make_node_id(), static_cast<uint32_t>(s.inbox.shards), s.cluster.lease_ttl);
  d.kinds = make_batch_kinds(machine, policy, s.inbox.accept_batch, d.cluster);
  if (s.llm.enabled)
    d.llm = spawn_llm(*d.sys, s.llm, d.http);
  // The channel adapters: one generic actor over each enabled provider (providers/registry.cpp).
  auto channel = [&](const std::string& provider) {
    channel_deps c;
    c.provider = providers::make_provider(provider, s);
    c.retry = s.retry;
    c.circuit = s.circuit;
    c.policy = policy;
    c.storage = d.storage;
    c.attempts = d.kinds.attempts;
    c.sent = d.kinds.sent;
    c.http = d.http;
    c.stats = d.stats;
    c.cluster = d.cluster;
    return spawn_channel(*d.sys, std::move(c));
  };
  if (s.whatsapp.enabled)
    d.channels.whatsapp = channel("whatsapp");
  if (s.sms.enabled)
    d.channels.sms = channel(s.sms.provider); // a registered provider (config checks it)
  if (s.telegram.enabled)
    d.channels.telegram = channel("telegram");
  if (s.smtp.enabled)
    d.channels.email = channel("smtp");
  d.channels.sms_provider = s.sms.provider;
  d.patient = spawn_patient_http(*d.sys, s.retry, d.http, d.stats);
  d.articles = spawn_articles(*d.sys, s.chatwoot, d.patient);
  router_deps routing;
  routing.inbox = s.inbox;
  routing.idle_passivate = s.actors.idle_passivate;
  routing.stats = d.stats;
  routing.load = d.load;
  routing.cluster = d.cluster;
  auto sessions = std::make_shared<session_deps>();
  sessions->routing = routing;
  sessions->session = s.session;
  sessions->llm_settings = s.llm;
  sessions->whatsapp = s.whatsapp;
  sessions->machine = machine;
  sessions->policy = policy;
  sessions->followup_prompt
      = load_prompt(s.llm.system_prompt_file, config::builtin_followup_prompt());
  sessions->storage = d.storage;
  sessions->accept = d.kinds.accept;
  sessions->replies = d.kinds.replies;
  sessions->llm = d.llm;
  sessions->http = d.http;
  sessions->channels = d.channels;
  d.sessions = spawn_session_router(*d.sys, std::move(sessions));
  auto conversations = std::make_shared<conversation_deps>();
  conversations->routing = routing;
  conversations->chatwoot = s.chatwoot;
  conversations->llm_settings = s.llm;
  conversations->bot_prompt
      = load_prompt(s.llm.bot_prompt_file, config::builtin_support_bot_prompt());
  conversations->storage = d.storage;
  conversations->events = d.kinds.chatwoot;
  conversations->patient = d.patient;
  conversations->articles = d.articles;
  conversations->llm = d.llm;
  conversations->channels = d.channels;
  d.conversations = spawn_conversation_router(*d.sys, std::move(conversations));
  d.telegram = spawn_telegram_bridge(
      *d.sys, {s.telegram, d.storage, d.kinds.telegram, d.patient, d.conversations});
  d.targets = inbox_targets{d.sessions, d.conversations,  d.telegram,
                            d.storage,  d.kinds.statuses, d.stats};
  sweeper_deps sw;
  sw.inbox = s.inbox;
  sw.retention = s.retention;
  sw.sweep_interval = s.session.sweep_interval;
  sw.claim_lease = policy.claim_lease;
  sw.storage = d.storage;
  sw.channels = d.channels;
  sw.targets = d.targets;
  sw.stats = d.stats;
  sw.load = d.load;
  sw.cluster = d.cluster;
  d.sweeper = spawn_sweeper(*d.sys, std::move(sw));
  if (d.cluster) {
    auto address = s.cluster.address.empty()
                       ? s.server.listen_address + ":" + std::to_string(s.server.port)
                       : s.cluster.address;
    d.leases = spawn_leases(*d.sys, s.database.dsn, address, d.cluster, d.targets, d.stats);
    if (s.cluster.wake_hints)
      d.hints
          = spawn_hints(*d.sys, s.database.dsn, s.database.reconnect_backoff, d.cluster, d.sweeper);
    core::log(core::log_level::info, "cluster node started",
              {{"node_id", d.cluster->node()},
               {"shards", std::to_string(s.inbox.shards)},
               {"ttl_ms", std::to_string(s.cluster.lease_ttl.count())}});
  }
  // API storage jobs give up a second after the storage actor's own request timeout.
  d.edge = spawn_edge(*d.sys, d.storage, s.storage.request_timeout + std::chrono::seconds{1});
  ingest_config ic;
  ic.dsn = s.database.dsn;
  ic.workers = s.storage.ingest_workers;
  ic.statement_timeout = s.storage.request_timeout;
  ic.reconnect_backoff = s.database.reconnect_backoff;
  if (d.cluster && s.cluster.wake_hints)
    ic.node = d.cluster->node();
  d.ingest_workers = std::make_unique<ingest_pool>(*d.sys, ic, d.stats, d.load);
}

runtime::~runtime() {
  shutdown();
}

void runtime::check_readiness(std::function<void(readiness)> done) {
  auto cluster = impl_->cluster;
  caf::anon_send(impl_->edge, ready_atom::value,
                 std::function<void(storage_status)>{[done, cluster](storage_status st) {
                   readiness r{st.connected, st.migrated, st.workers_up};
                   if (cluster) {
                     r.clustered = true;
                     r.leases_healthy = cluster->healthy();
                     r.shards_owned = static_cast<unsigned>(cluster->processing().size());
                   }
                   done(r);
                 }});
}

void runtime::submit(core::inbound_message m, edge_callback done) {
  impl_->ingest(core::make_inbox_entry(m, static_cast<uint32_t>(impl_->settings.inbox.shards)),
                std::move(done));
}

void runtime::submit(core::status_update st, edge_callback done) {
  impl_->ingest(core::make_inbox_entry(st, static_cast<uint32_t>(impl_->settings.inbox.shards)),
                std::move(done));
}

void runtime::submit(core::chatwoot_inbound c, std::string dedupe_key, edge_callback done) {
  impl_->ingest(core::make_inbox_entry(c, std::move(dedupe_key),
                                       static_cast<uint32_t>(impl_->settings.inbox.shards)),
                std::move(done));
}

void runtime::submit(core::telegram_inbound t, edge_callback done) {
  impl_->ingest(core::make_inbox_entry(t, static_cast<uint32_t>(impl_->settings.inbox.shards)),
                std::move(done));
}

void runtime::submit(call_ended_event ev, edge_callback done) {
  storage::call_ended_input in;
  in.summary.call_id = ev.call_id;
  in.summary.summary = ev.summary;
  in.summary.outcome = ev.outcome;
  in.summary.language = ev.language;
  in.summary.customer_name = ev.customer_name;
  in.summary.action_items = ev.action_items;
  in.phone = ev.phone;
  if (ev.has_whatsapp >= 0)
    in.has_whatsapp = ev.has_whatsapp == 1;
  if (ev.allows_sms >= 0)
    in.allows_sms = ev.allows_sms == 1;
  in.correlation_id = ev.correlation_id;
  in.token = core::random_hex(8);
  in.now = std::chrono::system_clock::now();
  auto& d = *impl_;
  submit_batch(
      d.storage, d.kinds.calls, std::move(in),
      [stats = d.stats, channels = d.channels, done, phone = ev.phone,
       correlation_id = ev.correlation_id](db_result& r) {
        if (r.error) {
          done(error_reply(r.error));
          return;
        }
        auto& a = *std::any_cast<storage::accepted_call>(&r.value);
        done(json_reply(202, a.result));
        auto masked = core::mask_phone(phone);
        if (a.duplicate) {
          stats->dedupe_hit("voice");
          core::log(core::log_level::info, "call-ended webhook repeated; nothing sent again",
                    {{"phone", masked}, {"correlation_id", correlation_id}});
          return;
        }
        if (a.session_created)
          stats->session_event("opened");
        if (a.session_expired)
          stats->session_event("expired");
        auto sends = std::to_string(a.sends.size());
        core::log(core::log_level::info, "call ended; summaries queued",
                  {{"phone", masked}, {"correlation_id", correlation_id}, {"sends", sends}});
        for (auto& row : a.skipped) {
          stats->count("skipped_sends", row.channel);
          core::log(core::log_level::info, "summary skipped",
                    {{"phone", masked},
                     {"correlation_id", correlation_id},
                     {"channel", row.channel},
                     {"reason", row.last_error}});
        }
        for (auto& row : a.sends)
          dispatch_send(channels, row);
      });
}

void runtime::submit(tool_request req, edge_callback done) {
  caf::anon_send(impl_->sessions, std::move(req), std::move(done));
}

namespace {

/// One storage flow for an API route, run by the edge actor on a storage worker.
template <class Fn>
void run_api_job(const edge_actor& edge, const char* name, bool write, Fn fn, edge_callback done) {
  caf::anon_send(edge, make_job<nlohmann::json>(name, std::move(fn)), write, std::move(done));
}

} // namespace

void runtime::authenticate_provider(std::string key, edge_callback done) {
  run_api_job(
      impl_->edge, "provider_auth", false,
      [key = std::move(key)](soci::session& sql) {
        return nlohmann::json{{"provider_id", storage::require_provider(sql, key, false)}};
      },
      std::move(done));
}

void runtime::get_provider_config(std::string key, edge_callback done) {
  run_api_job(
      impl_->edge, "provider_config_get", false,
      [key = std::move(key)](soci::session& sql) {
        return storage::provider_config_of_key(sql, key);
      },
      std::move(done));
}

void runtime::put_provider_config(std::string key, core::notification_config config,
                                  edge_callback done) {
  run_api_job(
      impl_->edge, "provider_config_put", true,
      [key = std::move(key), config = std::move(config)](soci::session& sql) {
        return storage::put_provider_config_of_key(sql, key, config);
      },
      std::move(done));
}

void runtime::session_deliveries(int64_t session_id, edge_callback done) {
  run_api_job(
      impl_->edge, "session_deliveries", false,
      [session_id](soci::session& sql) {
        return storage::session_deliveries_json(sql, session_id);
      },
      std::move(done));
}

void runtime::console_deliveries(core::delivery_filter f, edge_callback done) {
  bool write = f.reveal;
  run_api_job(
      impl_->edge, "console_deliveries", write,
      [f = std::move(f)](soci::session& sql) { return storage::console_deliveries(sql, f); },
      std::move(done));
}

void runtime::console_delivery(int64_t id, bool reveal, edge_callback done) {
  run_api_job(
      impl_->edge, "console_delivery", reveal,
      [id, reveal](soci::session& sql) { return storage::console_delivery(sql, id, reveal); },
      std::move(done));
}

void runtime::console_queues(core::queue_filter f, edge_callback done) {
  run_api_job(
      impl_->edge, "console_queues", false,
      [f = std::move(f)](soci::session& sql) { return storage::console_queues(sql, f); },
      std::move(done));
}

void runtime::console_requeue(int64_t id, edge_callback done) {
  run_api_job(
      impl_->edge, "console_requeue", true,
      [id](soci::session& sql) { return storage::console_requeue(sql, id); }, std::move(done));
}

void runtime::console_cancel(int64_t id, edge_callback done) {
  run_api_job(
      impl_->edge, "console_cancel", true,
      [id](soci::session& sql) { return storage::console_cancel(sql, id); }, std::move(done));
}

void runtime::console_audit(core::console_page page, edge_callback done) {
  run_api_job(
      impl_->edge, "console_audit", false,
      [page](soci::session& sql) { return storage::console_audit(sql, page); }, std::move(done));
}

void runtime::console_sessions(core::session_filter f, edge_callback done) {
  bool write = f.reveal;
  run_api_job(
      impl_->edge, "console_sessions", write,
      [f = std::move(f)](soci::session& sql) { return storage::console_sessions(sql, f); },
      std::move(done));
}

void runtime::console_session(int64_t id, bool reveal, edge_callback done) {
  run_api_job(
      impl_->edge, "console_session", reveal,
      [id, reveal](soci::session& sql) { return storage::console_session(sql, id, reveal); },
      std::move(done));
}

void runtime::console_close_session(int64_t id, edge_callback done) {
  run_api_job(
      impl_->edge, "console_close_session", true,
      [id](soci::session& sql) { return storage::console_close_session(sql, id); },
      std::move(done));
}

void runtime::console_sends_chart(int minutes, edge_callback done) {
  run_api_job(
      impl_->edge, "console_sends_chart", false,
      [minutes](soci::session& sql) { return storage::console_sends_chart(sql, minutes); },
      std::move(done));
}

void runtime::console_provider_counts(edge_callback done) {
  run_api_job(
      impl_->edge, "console_provider_counts", false,
      [](soci::session& sql) { return storage::console_provider_counts(sql); }, std::move(done));
}

void runtime::console_bot(core::bot_filter f, edge_callback done) {
  run_api_job(
      impl_->edge, "console_bot", f.reveal,
      [f](soci::session& sql) { return storage::console_bot(sql, f); }, std::move(done));
}

void runtime::run_read_only_tool(std::string name, nlohmann::json arguments, edge_callback done) {
  actors::run_read_only_tool(*impl_->sys, {impl_->storage, impl_->articles}, std::move(name),
                             std::move(arguments), std::move(done));
}

const config::settings& runtime::settings() const {
  return impl_->settings;
}

bool runtime::wait_until_ready(std::chrono::milliseconds limit) {
  caf::scoped_actor self{*impl_->sys};
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    bool ready = false;
    self->request(impl_->storage, limit, ready_atom::value)
        .receive([&](storage_status st) { ready = st.connected && st.migrated; },
                 [&](caf::error&) {});
    if (ready)
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

bool runtime::flush_storage(std::chrono::milliseconds limit) {
  caf::scoped_actor self{*impl_->sys};
  bool ok = false;
  self->request(impl_->storage, limit, flush_atom::value)
      .receive([&](bool b) { ok = b; }, [&](caf::error&) { ok = false; });
  return ok;
}

void runtime::shutdown() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  d.stopped = true;
  if (d.ingest_workers)
    d.ingest_workers->stop();
  for (auto a : std::vector<caf::actor>{
           caf::actor_cast<caf::actor>(d.leases), caf::actor_cast<caf::actor>(d.hints),
           caf::actor_cast<caf::actor>(d.sweeper), caf::actor_cast<caf::actor>(d.sessions),
           caf::actor_cast<caf::actor>(d.edge), caf::actor_cast<caf::actor>(d.conversations),
           caf::actor_cast<caf::actor>(d.telegram),
           caf::actor_cast<caf::actor>(d.channels.telegram),
           caf::actor_cast<caf::actor>(d.channels.email), caf::actor_cast<caf::actor>(d.patient),
           caf::actor_cast<caf::actor>(d.articles),
           caf::actor_cast<caf::actor>(d.channels.whatsapp),
           caf::actor_cast<caf::actor>(d.channels.sms), caf::actor_cast<caf::actor>(d.llm),
           caf::actor_cast<caf::actor>(d.http), caf::actor_cast<caf::actor>(d.storage)})
    if (a)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  d.sessions = session_router_actor{};
  d.conversations = conversation_router_actor{};
  d.telegram = telegram_bridge_actor{};
  d.sweeper = sweeper_actor{};
  d.edge = edge_actor{};
  d.leases = lease_actor{};
  d.hints = hint_actor{};
  d.targets = inbox_targets{};
  d.channels = channel_set{};
  d.kinds = batch_kinds{};
  d.llm = llm_actor{};
  d.patient = patient_http_actor{};
  d.articles = articles_actor{};
  d.http = http_client_actor{};
  d.storage = storage_actor{};
  d.ingest_workers.reset();
  d.sys.reset();
}

metrics& runtime::stats() {
  return *impl_->stats;
}

} // namespace switchboard::actors
