#pragma once

// The actor graph's contracts: every message type and typed actor interface of Switchboard.
// Reading this one file tells the whole message graph; see README "Architecture".

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/events.hpp"
#include "config/settings.hpp"
#include "core/http_call.hpp"
#include "core/omni/outbound.hpp"
#include "core/omni/session.hpp"
#include "providers/send_request.hpp"

namespace soci {
class session;
}

namespace switchboard::providers {
class provider;
}

CAF_BEGIN_TYPE_ID_BLOCK(switchboard, caf::first_custom_type_id)
CAF_ADD_ATOM(switchboard, switchboard::actors, write_atom, "write")
CAF_ADD_ATOM(switchboard, switchboard::actors, read_atom, "read")
CAF_ADD_ATOM(switchboard, switchboard::actors, ready_atom, "ready")
CAF_ADD_ATOM(switchboard, switchboard::actors, flush_atom, "flush")
CAF_ADD_ATOM(switchboard, switchboard::actors, batch_atom, "batch")
CAF_ADD_ATOM(switchboard, switchboard::actors, done_atom, "done")
CAF_ADD_ATOM(switchboard, switchboard::actors, up_atom, "up")
CAF_ADD_ATOM(switchboard, switchboard::actors, down_atom, "down")
CAF_ADD_ATOM(switchboard, switchboard::actors, reconnect_atom, "reconnect")
CAF_ADD_ATOM(switchboard, switchboard::actors, idle_atom, "idle")
CAF_ADD_ATOM(switchboard, switchboard::actors, stop_atom, "stop")
CAF_ADD_ATOM(switchboard, switchboard::actors, tick_atom, "tick")
CAF_ADD_ATOM(switchboard, switchboard::actors, timeout_atom, "timeout")
CAF_ADD_ATOM(switchboard, switchboard::actors, replay_atom, "replay")
CAF_ADD_ATOM(switchboard, switchboard::actors, retry_atom, "retry")
CAF_ADD_ATOM(switchboard, switchboard::actors, sweep_atom, "sweep")
CAF_ADD_ATOM(switchboard, switchboard::actors, outbox_atom, "outbox")
CAF_ADD_ATOM(switchboard, switchboard::actors, get_atom, "get")
CAF_ADD_ATOM(switchboard, switchboard::actors, wake_atom, "wake")
CAF_ADD_ATOM(switchboard, switchboard::actors, accepted_atom, "accepted")
CAF_ADD_ATOM(switchboard, switchboard::actors, inbox_atom, "inbox")
CAF_ADD_ATOM(switchboard, switchboard::actors, resume_atom, "resume")
CAF_ADD_ATOM(switchboard, switchboard::actors, ingest_atom, "ingest")
CAF_ADD_ATOM(switchboard, switchboard::actors, lost_atom, "lost")
CAF_ADD_ATOM(switchboard, switchboard::actors, parked_atom, "parked")
CAF_END_TYPE_ID_BLOCK(switchboard)

namespace switchboard::actors {

/// A deferred step of an actor (a retry after a delay, the continuation of a storage job), run
/// in the actor when its message comes back.
using deferred_step = std::function<void()>;

// -- storage -------------------------------------------------------------------------------------

/// A unit of database work. Writes run inside a group-commit transaction with other writes and
/// may be run a second time (alone) when another job of their batch fails, so they must not have
/// effects outside the database. Throwing (soci_error, storage::domain_error) fails only this job.
struct db_job {
  std::string name; ///< for logs and metrics
  std::function<std::any(soci::session&)> fn;
  /// The job is one statement, atomic by itself: alone in its batch it runs without
  /// BEGIN/COMMIT (1 round trip instead of 3).
  bool single_statement = false;
};

/// Outcome of one job of a batch.
struct db_result {
  std::any value;
  caf::error error;
};

/// A kind of storage work whose requests are batched: the requests of one kind that queue up
/// together run as one job, one set-based statement per step, on one connection (group commit
/// with set-based SQL). `run` answers one result per input, in order; it runs inside a
/// transaction unless `single_statement`. When a batch of several inputs fails (not for a lost
/// connection), each input is run again alone, so one bad input fails only itself.
struct batch_kind {
  std::string name; ///< for logs and metrics
  std::size_t max_items = 256;
  bool single_statement = false;
  std::function<std::vector<db_result>(soci::session&, std::vector<std::any>&)> run;
};

using batch_kind_ptr = std::shared_ptr<const batch_kind>;

/// Receives the result of one batched request, exactly once, on the storage actor's thread
/// (it should only send a message or post to an executor).
using batch_callback = std::function<void(db_result&)>;

/// One request of a batch kind.
struct batch_request {
  batch_kind_ptr kind;
  std::any input;
  batch_callback done;
};

/// What the storage actor knows of the database.
struct storage_status {
  bool connected = false;  ///< at least one worker holds a live connection
  bool migrated = false;   ///< every embedded migration is applied
  uint32_t workers_up = 0; ///< workers with a live connection
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_status& x) {
  return f(caf::meta::type_name("storage_status"), x.connected, x.migrated, x.workers_up);
}

/// The storage front: queues writes into batches (group commit) and hands batches and reads to a
/// pool of detached workers, each owning one SOCI session. Writers are answered after commit.
using storage_actor
    = caf::typed_actor<caf::replies_to<write_atom, db_job>::with<std::any>,
                       caf::replies_to<read_atom, db_job>::with<std::any>,
                       caf::reacts_to<write_atom, db_job, batch_callback>,
                       caf::reacts_to<read_atom, db_job, batch_callback>,
                       caf::replies_to<ready_atom>::with<storage_status>,
                       caf::replies_to<flush_atom>::with<bool>, caf::reacts_to<batch_request>,
                       caf::reacts_to<done_atom, uint64_t, uint32_t, std::vector<db_result>>,
                       caf::reacts_to<up_atom, uint32_t>, caf::reacts_to<down_atom, uint32_t>,
                       caf::reacts_to<tick_atom>, caf::reacts_to<timeout_atom, uint64_t>>;

/// A storage worker: runs batches (write = one transaction) on its own thread and connection.
using storage_worker_actor
    = caf::typed_actor<caf::reacts_to<batch_atom, uint64_t, bool, std::vector<db_job>>,
                       caf::reacts_to<reconnect_atom>, caf::reacts_to<ready_atom>>;

// -- outbound HTTP -------------------------------------------------------------------------------

using core::http_call;
using core::http_reply;
using core::mail_call;

/// Outbound HTTP/SMTP through libcurl multi (socket_action + epoll) on its own thread. Answers
/// with the reply for any HTTP status; a connect failure or timeout is an error
/// (sb_error::provider_transient / sb_error::timeout).
using http_client_actor
    = caf::typed_actor<caf::replies_to<http_call>::with<http_reply>,
                       caf::replies_to<mail_call>::with<http_reply>,
                       caf::reacts_to<done_atom, uint64_t, http_reply, caf::error>>;

// -- omnichannel sessions ------------------------------------------------------------------------

/// One attempt at sending a queued delivery-log row through a channel adapter.
struct outbound_send : providers::send_request {
  std::string claim_token; ///< the row's claim; the attempt is dropped when another holds it
  std::string channel;     ///< whatsapp | sms
  std::string provider;
  int64_t first_attempt_ms = 0; ///< when the first attempt started (retry horizon)
  int32_t attempt = 0;          ///< attempts made by this node so far
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, outbound_send& x) {
  return f(caf::meta::type_name("outbound_send"), x.delivery_id, x.claim_token, x.channel,
           x.provider, x.recipient, x.body, x.template_name, x.template_language, x.correlation_id,
           x.first_attempt_ms, x.attempt);
}

/// What a session actor's accept of its pending inbox messages found (defined with the actor).
struct accept_outcome;
using accept_outcome_ptr = std::shared_ptr<accept_outcome>;

/// A session actor: one per end user (E.164 number). Takes its user's pending inbox messages
/// when woken (set-based, batched with other actors' by the storage actor), answers each burst
/// of them with one LLM call after the coalescing window, and hands sends to channel adapters.
using session_actor
    = caf::typed_actor<caf::reacts_to<wake_atom>, caf::reacts_to<accepted_atom, accept_outcome_ptr>,
                       caf::reacts_to<tool_request, edge_callback>,
                       caf::reacts_to<replay_atom, std::string, int64_t, std::string>,
                       caf::reacts_to<stop_atom>, caf::reacts_to<resume_atom, deferred_step>>;

/// Routes to session actors by phone number, spawning on demand; passivates the ones that told
/// it they are idle once they stayed idle long enough (one sweep timer for all of them).
/// In a cluster it spawns actors only for shards this node owns, and (lost_atom, shards) stops
/// the actors of shards it no longer owns.
using session_router_actor
    = caf::typed_actor<caf::reacts_to<wake_atom, std::string>,
                       caf::reacts_to<tool_request, edge_callback>,
                       caf::reacts_to<replay_atom, std::string, int64_t, std::string>,
                       caf::reacts_to<idle_atom, std::string, uint32_t>,
                       caf::reacts_to<parked_atom, std::string, uint32_t>,
                       caf::reacts_to<sweep_atom>, caf::reacts_to<lost_atom, std::vector<int32_t>>>;

/// A channel adapter (WhatsApp Cloud API, MTN SMS v3 or Twilio): attempts sends with retries and
/// records every outcome in the delivery log.
using channel_actor
    = caf::typed_actor<caf::reacts_to<outbound_send>, caf::reacts_to<retry_atom, outbound_send>,
                       caf::reacts_to<resume_atom, deferred_step>, caf::reacts_to<tick_atom>,
                       caf::reacts_to<timeout_atom>>;

/// Periodic durable work: closing expired sessions, re-claiming stalled sends and replies,
/// waking the entities whose pending inbox rows lost their wake-up, purging old inbox rows.
/// In a cluster, (inbox_atom, shards): a wake-up hint, the owned shards' pending rows polled at
/// once.
using sweeper_actor
    = caf::typed_actor<caf::reacts_to<sweep_atom>, caf::reacts_to<outbox_atom>,
                       caf::reacts_to<inbox_atom>, caf::reacts_to<inbox_atom, std::vector<int32_t>>,
                       caf::reacts_to<resume_atom, deferred_step>>;

/// A chat-completion request for the LLM actor.
struct llm_call {
  std::string body; ///< request JSON (providers::encode_llm_request)
  std::string correlation_id;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, llm_call& x) {
  return f(caf::meta::type_name("llm_call"), x.body, x.correlation_id);
}

/// The LLM actor: OpenAI-compatible chat completions with a deadline; answers the raw response
/// body of a 2xx, or an error (timeout, provider_transient, provider_rejected).
using llm_actor = caf::typed_actor<caf::replies_to<llm_call>::with<std::string>>;

/// The lease actor of a cluster node (actors/cluster.cpp): renews, takes and hands over shard
/// leases every cluster.ttl_ms / 4 on a connection of its own (detached).
using lease_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

/// The wake-up hint listener of a cluster node (actors/cluster.cpp): LISTENs for the inbox rows
/// other nodes stored and hands the owned shards among them to the sweeper (detached).
using hint_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

/// Stateless edge requests that belong to no entity: API jobs, readiness.
using edge_actor
    = caf::typed_actor<caf::reacts_to<db_job, bool, edge_callback>,
                       caf::reacts_to<resume_atom, deferred_step>,
                       caf::reacts_to<ready_atom, std::function<void(storage_status)>>>;

// -- Chatwoot support bot ------------------------------------------------------------------------

/// A provider's answer (from Telegram) to post into a Chatwoot conversation.
struct provider_reply {
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  std::string text;
  std::string from_name;
  int64_t chat_id = 0;
  int64_t message_id = 0;
  std::string correlation_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_reply& x) {
  return f(caf::meta::type_name("provider_reply"), x.account_id, x.conversation_id, x.text,
           x.from_name, x.chat_id, x.message_id, x.correlation_id);
}

/// The Chatwoot events a conversation actor took from the inbox (defined with the actor).
struct chatwoot_taken;
using chatwoot_taken_ptr = std::shared_ptr<chatwoot_taken>;

/// A conversation actor: one per (Chatwoot account, conversation). Takes its pending inbox
/// events when woken; answers from the Help Center, escalates to a human, notifies the
/// provider, posts the provider's replies (answering whether Chatwoot took the post).
using conversation_actor
    = caf::typed_actor<caf::reacts_to<wake_atom>, caf::reacts_to<accepted_atom, chatwoot_taken_ptr>,
                       caf::replies_to<provider_reply>::with<bool>, caf::reacts_to<stop_atom>,
                       caf::reacts_to<retry_atom, deferred_step>,
                       caf::reacts_to<resume_atom, deferred_step>>;

/// Routes to conversation actors ("account:conversation"), passivating idle ones; in a cluster,
/// for owned shards only (as the session router).
using conversation_router_actor
    = caf::typed_actor<caf::reacts_to<wake_atom, std::string>,
                       caf::replies_to<provider_reply>::with<bool>,
                       caf::reacts_to<idle_atom, std::string, uint32_t>, caf::reacts_to<sweep_atom>,
                       caf::reacts_to<lost_atom, std::vector<int32_t>>>;

/// A portal's published articles and their search index, shared read-only.
struct article_set;
using article_set_ptr = std::shared_ptr<const article_set>;

/// Help Center articles per portal, cached with a TTL and served stale while refreshing.
using articles_actor
    = caf::typed_actor<caf::replies_to<get_atom, int64_t, std::string>::with<article_set_ptr>,
                       caf::reacts_to<done_atom, std::string, article_set_ptr, caf::error>>;

/// HTTP calls that are retried on transient failures (network, 5xx, 429 with Retry-After) with
/// backoff up to the retry horizon; answers the final reply or error.
using patient_http_actor = caf::typed_actor<caf::replies_to<http_call>::with<http_reply>,
                                            caf::reacts_to<retry_atom, deferred_step>>;

/// The Telegram updates the bridge took from the inbox (defined with the actor).
struct telegram_taken;
using telegram_taken_ptr = std::shared_ptr<telegram_taken>;

/// The Telegram side of the provider bridge: takes pending updates of a chat when woken and
/// handles /start, replies to notifications, explanations.
using telegram_bridge_actor = caf::typed_actor<caf::reacts_to<wake_atom, std::string>,
                                               caf::reacts_to<accepted_atom, telegram_taken_ptr>,
                                               caf::reacts_to<resume_atom, deferred_step>>;

// -- spawning: what each actor is given ----------------------------------------------------------
//
// Every actor gets the handles it talks to and the settings it reads as spawn arguments (no
// shared "everything" struct): the handles below are the edges of the message graph. The
// storage actor and the HTTP client are spawned from actors/storage.hpp and
// actors/http_client.hpp (they only answer); the runtime (actors/runtime.cpp) wires the rest.

class metrics;      // actors/metrics.hpp
class cluster_view; // actors/cluster.hpp: the shards this node owns (null on a single node)
struct ingest_load; // actors/common.hpp: how busy the acknowledgement path is

/// The channel adapters by channel; a handle is invalid when its channel is off.
struct channel_set {
  channel_actor whatsapp;
  channel_actor sms;
  channel_actor telegram;
  channel_actor email;
  std::string sms_provider = "mtn"; ///< sms.provider, the provider of SMS notifications
  /// The adapter for a channel name (whatsapp, sms, telegram, email); may be invalid.
  const channel_actor& of(const std::string& channel) const;
};

/// The set-based batch kinds of the storage actor (actors/inbox.cpp makes them from the
/// settings); each actor is given the ones it submits to.
struct batch_kinds {
  batch_kind_ptr accept;   ///< storage::accept_request -> storage::accepted_messages
  batch_kind_ptr calls;    ///< storage::call_ended_input -> storage::accepted_call
  batch_kind_ptr statuses; ///< entity (provider:message id) -> statuses after each
  batch_kind_ptr chatwoot; ///< entity (account:conversation) -> chatwoot_events
  batch_kind_ptr telegram; ///< entity (chat id) -> telegram_updates
  batch_kind_ptr replies;  ///< storage::reply_request -> std::optional<delivery_row>
  batch_kind_ptr attempts; ///< storage::attempt_claim -> bool (claim taken)
  batch_kind_ptr sent;     ///< storage::sent_record -> bool (recorded)
};

/// The batch kinds for these rules; in a cluster (`cluster` set) their writes are fenced.
batch_kinds make_batch_kinds(const core::session_machine& machine,
                             const core::channel_policy& policy, std::size_t accept_rows,
                             std::shared_ptr<cluster_view> cluster);

/// Where a woken inbox row goes: messages to their session, Chatwoot events to their
/// conversation, Telegram updates to the bridge; statuses are applied by a batch job directly.
struct inbox_targets {
  session_router_actor sessions;
  conversation_router_actor conversations;
  telegram_bridge_actor telegram;
  storage_actor storage;
  batch_kind_ptr statuses;
  std::shared_ptr<metrics> stats;
};

/// What a keyed router reads: admission (inbox.*), passivation, shard ownership.
struct router_deps {
  config::inbox_settings inbox;
  std::chrono::seconds idle_passivate{60}; ///< actors.idle_passivate
  std::shared_ptr<metrics> stats;
  std::shared_ptr<ingest_load> load; ///< may be null: never busy
  std::shared_ptr<cluster_view> cluster;
};

/// A channel adapter: its provider, the outbox it records in and the HTTP client it sends with.
struct channel_deps {
  std::shared_ptr<providers::provider> provider; ///< providers/registry.cpp
  config::retry_settings retry;
  config::circuit_settings circuit;
  core::channel_policy policy; ///< the WhatsApp fallback and claim leases
  storage_actor storage;
  batch_kind_ptr attempts;
  batch_kind_ptr sent;
  http_client_actor http;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<cluster_view> cluster;
};
channel_actor spawn_channel(caf::actor_system& sys, channel_deps deps);

/// The LLM actor (llm.max_in_flight calls at once, the rest queued).
llm_actor spawn_llm(caf::actor_system& sys, config::llm_settings cfg, http_client_actor http);

/// HTTP with retries (retry.*), for the Chatwoot and Telegram API calls.
patient_http_actor spawn_patient_http(caf::actor_system& sys, config::retry_settings retry,
                                      http_client_actor http, std::shared_ptr<metrics> stats);

/// The Help Center article cache (chatwoot.*).
articles_actor spawn_articles(caf::actor_system& sys, config::chatwoot_settings cfg,
                              patient_http_actor patient);

/// What a session actor (and its router) is given.
struct session_deps {
  router_deps routing;
  config::session_settings session;
  config::llm_settings llm_settings;
  config::whatsapp_settings whatsapp; ///< the typing indicator
  core::session_machine machine{std::chrono::hours{24}};
  core::channel_policy policy;
  std::string followup_prompt;
  storage_actor storage;
  batch_kind_ptr accept;
  batch_kind_ptr replies;
  llm_actor llm; ///< invalid when llm.enabled = false
  http_client_actor http;
  channel_set channels;
};
session_router_actor spawn_session_router(caf::actor_system& sys,
                                          std::shared_ptr<const session_deps> deps);

/// What a conversation actor (and its router) is given.
struct conversation_deps {
  router_deps routing;
  config::chatwoot_settings chatwoot;
  config::llm_settings llm_settings;
  std::string bot_prompt;
  storage_actor storage;
  batch_kind_ptr events; ///< batch_kinds::chatwoot
  patient_http_actor patient;
  articles_actor articles;
  llm_actor llm; ///< invalid when llm.enabled = false
  channel_set channels;
};
conversation_router_actor spawn_conversation_router(caf::actor_system& sys,
                                                    std::shared_ptr<const conversation_deps> deps);

/// What the Telegram bridge is given.
struct telegram_bridge_deps {
  config::telegram_settings telegram;
  storage_actor storage;
  batch_kind_ptr updates; ///< batch_kinds::telegram
  patient_http_actor patient;
  conversation_router_actor conversations;
};
telegram_bridge_actor spawn_telegram_bridge(caf::actor_system& sys, telegram_bridge_deps deps);

/// What the sweeper is given (it starts its timers at once).
struct sweeper_deps {
  config::inbox_settings inbox;
  config::retention_settings retention;
  std::chrono::seconds sweep_interval{60}; ///< session.sweep_interval
  std::chrono::milliseconds claim_lease{60000};
  storage_actor storage;
  channel_set channels;
  inbox_targets targets;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<ingest_load> load;
  std::shared_ptr<cluster_view> cluster;
};
sweeper_actor spawn_sweeper(caf::actor_system& sys, sweeper_deps deps);

/// The lease actor of a cluster node (detached: its own connection to `dsn`).
lease_actor spawn_leases(caf::actor_system& sys, std::string dsn, std::string address,
                         std::shared_ptr<cluster_view> view, inbox_targets targets,
                         std::shared_ptr<metrics> stats);

/// The wake-up hint listener of a cluster node (detached: its own connection to `dsn`).
hint_actor spawn_hints(caf::actor_system& sys, std::string dsn,
                       std::chrono::milliseconds reconnect_backoff,
                       std::shared_ptr<cluster_view> view, sweeper_actor sweeper);

/// The edge actor (API storage jobs give up after `timeout`).
edge_actor spawn_edge(caf::actor_system& sys, storage_actor storage,
                      std::chrono::milliseconds timeout);

/// What a read-only bot tool is run with.
struct read_only_tool_deps {
  storage_actor storage;
  articles_actor articles;
};
/// Runs one of core::read_only_tool_definitions() (arguments already validated) on a short-lived
/// actor; `done` gets 200 {"result": ...} or the error's status and {"error", "reason"}.
void run_read_only_tool(caf::actor_system& sys, read_only_tool_deps deps, std::string name,
                        nlohmann::json args, edge_callback done);

} // namespace switchboard::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::db_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::batch_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::batch_callback)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::core::inbox_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<switchboard::actors::db_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<switchboard::actors::db_result>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::any)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::deferred_step)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::article_set_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::edge_callback)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::accept_outcome_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::chatwoot_taken_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::actors::telegram_taken_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::function<void(switchboard::actors::storage_status)>)
