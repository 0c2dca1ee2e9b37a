#pragma once

// Test doubles at the actor boundary for the actor tests (tests/unit/actors/): the storage, HTTP
// client, patient HTTP, LLM, articles and channel actors as plain CAF actors that record what
// they are asked and answer only when the test says so, and a system under CAF's deterministic
// test scheduler. They stand in for the database and the network, nothing else: the actors
// under test run unchanged.

#include <any>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/common.hpp"
#include "providers/provider.hpp"
#include "tests/support/metrics.hpp"

namespace switchboard::test {

/// What the fake storage actor was asked; batches and callback jobs wait here until answered.
struct storage_script {
  std::vector<actors::batch_request> batches; ///< unanswered, oldest first
  struct job {
    bool write = false;
    actors::db_job job;
    actors::batch_callback done;
  };
  std::vector<job> jobs;             ///< unanswered callback jobs, oldest first
  std::vector<std::string> seen;     ///< every batch kind and job name, in arrival order
  std::vector<std::string> requests; ///< request-style jobs (answered with an error at once)

  /// How many batches or jobs named `name` arrived so far (answered or not).
  std::size_t count(const std::string& name) const {
    std::size_t n = 0;
    for (auto& s : seen)
      n += s == name ? 1 : 0;
    return n;
  }

  /// Takes the oldest unanswered batch request of kind `name`.
  std::optional<actors::batch_request> take_batch(const std::string& name) {
    for (auto it = batches.begin(); it != batches.end(); ++it)
      if (it->kind->name == name) {
        auto out = std::move(*it);
        batches.erase(it);
        return out;
      }
    return std::nullopt;
  }

  /// Takes the oldest unanswered callback job named `name`.
  std::optional<job> take_job(const std::string& name) {
    for (auto it = jobs.begin(); it != jobs.end(); ++it)
      if (it->job.name == name) {
        auto out = std::move(*it);
        jobs.erase(it);
        return out;
      }
    return std::nullopt;
  }
};

/// Answers a batch request or a job with a value (the kind's Out, the job's T).
template <class T, class Done> void answer(Done& done, T value) {
  actors::db_result r;
  r.value = std::any{std::move(value)};
  done(r);
}

/// Answers a batch request or a job with an error.
template <class Done> void fail(Done& done, caf::error e) {
  actors::db_result r;
  r.error = std::move(e);
  done(r);
}

/// A request to a fake that answers later: what was asked and the promise to keep.
template <class Call, class Reply> struct pending_call {
  Call call;
  caf::typed_response_promise<Reply> promise;
  caf::actor owner; ///< the fake that made the promise

  /// Keeps the promise. The fake itself delivers it (a promise delivered from outside its
  /// actor would use an execution unit of the test scheduler that no longer exists).
  void deliver(Reply r) {
    caf::anon_send(owner, actors::resume_atom::value,
                   actors::deferred_step{[p = promise, r]() mutable { p.deliver(std::move(r)); }});
  }

  /// Breaks the promise with an error.
  void deliver(caf::error e) {
    caf::anon_send(owner, actors::resume_atom::value,
                   actors::deferred_step{[p = promise, e]() mutable { p.deliver(std::move(e)); }});
  }
};

/// What a request-answering fake (LLM, HTTP client, patient HTTP) was asked.
template <class Call, class Reply> struct call_script {
  std::vector<pending_call<Call, Reply>> pending; ///< unanswered, oldest first
  std::size_t total = 0;                          ///< calls received so far

  /// Takes the oldest unanswered call.
  std::optional<pending_call<Call, Reply>> take() {
    if (pending.empty())
      return std::nullopt;
    auto out = std::move(pending.front());
    pending.erase(pending.begin());
    return out;
  }
};

using llm_script = call_script<actors::llm_call, std::string>;
using http_script = call_script<actors::http_call, actors::http_reply>;

/// What the fake channel adapter was handed.
struct channel_script {
  std::vector<actors::outbound_send> sends;
};

/// What the fake articles actor answers.
struct articles_script {
  actors::article_set_ptr set;
  std::size_t asked = 0;
};

inline actors::storage_actor::behavior_type fake_storage(actors::storage_actor::pointer,
                                                         storage_script* s) {
  using namespace actors;
  return {
      [=](write_atom, db_job& j) -> caf::result<std::any> {
        s->requests.push_back(j.name);
        return caf::make_error(core::sb_error::unavailable, std::string{"fake storage"});
      },
      [=](read_atom, db_job& j) -> caf::result<std::any> {
        s->requests.push_back(j.name);
        return caf::make_error(core::sb_error::unavailable, std::string{"fake storage"});
      },
      [=](write_atom, db_job& j, batch_callback& cb) {
        s->seen.push_back(j.name);
        s->jobs.push_back({true, std::move(j), std::move(cb)});
      },
      [=](read_atom, db_job& j, batch_callback& cb) {
        s->seen.push_back(j.name);
        s->jobs.push_back({false, std::move(j), std::move(cb)});
      },
      [=](ready_atom) {
        return storage_status{true, true, 1};
      },
      [=](flush_atom) { return true; },
      [=](batch_request& r) {
        s->seen.push_back(r.kind->name);
        s->batches.push_back(std::move(r));
      },
      [=](done_atom, uint64_t, uint32_t, std::vector<db_result>&) {},
      [=](up_atom, uint32_t) {},
      [=](down_atom, uint32_t) {},
      [=](tick_atom) {},
      [=](timeout_atom, uint64_t) {},
  };
}

/// A fake answering `Call` with `Reply` when the test says so. Dynamically typed, so that it also
/// runs the deliveries the test hands it (pending_call::deliver); the actors under test hold it
/// through their typed handle.
template <class Call, class Reply>
caf::behavior fake_caller(caf::event_based_actor* self, call_script<Call, Reply>* s) {
  return {
      [=](Call& c) {
        auto rp = self->make_response_promise<Reply>();
        ++s->total;
        s->pending.push_back({std::move(c), rp, caf::actor_cast<caf::actor>(self)});
        return rp;
      },
      [=](actors::resume_atom, actors::deferred_step& step) { step(); },
  };
}

inline actors::articles_actor::behavior_type fake_articles(actors::articles_actor::pointer,
                                                           articles_script* s) {
  using namespace actors;
  return {
      [=](get_atom, int64_t, const std::string&) {
        ++s->asked;
        return s->set;
      },
      [=](done_atom, const std::string&, article_set_ptr&, caf::error&) {},
  };
}

inline actors::channel_actor::behavior_type fake_channel(actors::channel_actor::pointer,
                                                         channel_script* s) {
  using namespace actors;
  return {
      [=](outbound_send& x) { s->sends.push_back(std::move(x)); },
      [=](retry_atom, outbound_send& x) { s->sends.push_back(std::move(x)); },
      [=](resume_atom, deferred_step& step) { step(); },
      [=](tick_atom) {},
      [=](timeout_atom) {},
  };
}

/// An actor system under CAF's deterministic test scheduler. The actor under test is spawned
/// with the settings in `cfg` and the fakes above as its storage, HTTP client, patient HTTP, LLM,
/// articles and SMS adapter (make_*_deps, after start_fakes).
struct actor_harness {
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  config::settings cfg; ///< adjust before spawning the actor under test
  std::string followup_prompt;
  std::string bot_prompt;
  std::shared_ptr<actors::metrics> stats = std::make_shared<actors::metrics>();
  actors::batch_kinds kinds;
  storage_script db;
  llm_script llm;
  http_script http;
  http_script patient;
  articles_script articles;
  channel_script sms;
  /// The fakes' handles (start_fakes).
  struct {
    actors::storage_actor storage;
    actors::llm_actor llm;
    actors::http_client_actor http;
    actors::patient_http_actor patient;
    actors::articles_actor articles;
    actors::channel_set channels;
  } fake;
  std::vector<caf::actor> spawned; ///< stopped at the end

  actor_harness() {
    sys_cfg.set("scheduler.policy", caf::atom("testing"));
    sys_cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    kinds = actors::make_batch_kinds(core::session_machine{std::chrono::hours{24}},
                                     core::channel_policy{}, cfg.inbox.accept_batch, nullptr);
  }

  /// Spawns the fakes (call after adjusting cfg, before the actor under test).
  void start_fakes() {
    fake.storage = keep(sys->spawn(fake_storage, &db));
    fake.llm = keep(caf::actor_cast<actors::llm_actor>(
        sys->spawn(fake_caller<actors::llm_call, std::string>, &llm)));
    fake.http = keep(caf::actor_cast<actors::http_client_actor>(
        sys->spawn(fake_caller<actors::http_call, actors::http_reply>, &http)));
    fake.patient = keep(caf::actor_cast<actors::patient_http_actor>(
        sys->spawn(fake_caller<actors::http_call, actors::http_reply>, &patient)));
    fake.articles = keep(sys->spawn(fake_articles, &articles));
    fake.channels.sms = keep(sys->spawn(fake_channel, &sms));
    fake.channels.sms_provider = cfg.sms.provider;
    run();
  }

  actors::router_deps make_router_deps() const {
    actors::router_deps r;
    r.inbox = cfg.inbox;
    r.idle_passivate = cfg.actors.idle_passivate;
    r.stats = stats;
    return r;
  }

  /// A session router's deps: `cfg`, the fakes, the default session machine and channel policy.
  std::shared_ptr<const actors::session_deps> make_session_deps() const {
    auto d = std::make_shared<actors::session_deps>();
    d->routing = make_router_deps();
    d->session = cfg.session;
    d->llm_settings = cfg.llm;
    d->whatsapp = cfg.whatsapp;
    d->followup_prompt = followup_prompt;
    d->storage = fake.storage;
    d->accept = kinds.accept;
    d->replies = kinds.replies;
    d->llm = fake.llm;
    d->http = fake.http;
    d->channels = fake.channels;
    return d;
  }

  std::shared_ptr<const actors::conversation_deps> make_conversation_deps() const {
    auto d = std::make_shared<actors::conversation_deps>();
    d->routing = make_router_deps();
    d->chatwoot = cfg.chatwoot;
    d->llm_settings = cfg.llm;
    d->bot_prompt = bot_prompt;
    d->storage = fake.storage;
    d->events = kinds.chatwoot;
    d->patient = fake.patient;
    d->articles = fake.articles;
    d->llm = fake.llm;
    d->channels = fake.channels;
    return d;
  }

  /// A channel adapter's deps over the provider registered as `provider`, with the fake HTTP
  /// client and storage.
  actors::channel_deps make_channel_deps(const std::string& provider) const {
    actors::channel_deps d;
    d.provider = providers::make_provider(provider, cfg);
    d.retry = cfg.retry;
    d.circuit = cfg.circuit;
    d.storage = fake.storage;
    d.attempts = kinds.attempts;
    d.sent = kinds.sent;
    d.http = fake.http;
    d.stats = stats;
    return d;
  }

  template <class Handle> Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  ~actor_harness() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
    // Promises and callbacks hold references to actors: drop them before the system goes.
    db = {};
    llm = {};
    http = {};
    patient = {};
    spawned.clear();
    fake = {};
    run();
  }

  /// Runs every message that is due.
  void run() { sched->run(); }

  /// Timers the actors have set and the test clock has not fired (delayed messages and request
  /// timeouts alike).
  std::size_t pending_timers() const { return sched->clock().schedule().size(); }

  /// Moves the test clock forward and runs what came due.
  void advance(std::chrono::milliseconds d) {
    sched->advance_time(d);
    run();
  }

  /// The sum of the samples of metric `name` whose labels include `labels` (0 when none).
  double metric(std::string_view name,
                const std::vector<std::pair<std::string, std::string>>& labels = {}) {
    return metric_value(stats->render(), name, labels).value_or(0);
  }
};

} // namespace switchboard::test
