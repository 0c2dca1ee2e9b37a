#include "core/json_fields.hpp"
#include <algorithm>
#include <set>
#include <unordered_map>

#include "actors/common.hpp"
#include "actors/entity.hpp"
#include "actors/router.hpp"
#include "actors/session_tools.hpp"
#include "core/crypto.hpp"
#include "core/llm.hpp"
#include "core/llm_trace.hpp"
#include "core/omni/responder.hpp"
#include "core/omni/tools.hpp"
#include "core/phone.hpp"
#include "core/rate_limit.hpp"
#include "providers/openai/codec.hpp"
#include "providers/whatsapp/codec.hpp"
#include "storage/db.hpp"
#include "storage/sets.hpp"

namespace switchboard::actors {

using core::sb_error;
using nlohmann::json;
using std::chrono::system_clock;

/// The answer of one accept: what storage::accept_messages found, or why it failed.
struct accept_outcome {
  storage::accepted_messages accepted;
  caf::error error;
};

namespace {

/// How many times a burst is answered anew because messages arrived during the generation
/// before the answer goes out anyway (the newer messages then get their own answer).
constexpr int max_regenerations = 2;

/// How many earlier messages of the session the LLM sees.
constexpr int history_messages = 12;

/// How many messages of one burst the LLM sees at most (the newest): a burst that waited for
/// the reply limit may hold hundreds; the answer still covers every one of them.
constexpr std::size_t max_burst_prompt = 40;

/// Inbound messages being answered together: one answer, one LLM call (plus tool rounds).
struct burst_state {
  std::vector<storage::delivery_row> rows; ///< accepted and unanswered, oldest first
  storage::profile_row profile;            ///< as of the latest accept
  core::session_record session;
  enum class phase { gathering, generating } stage = phase::gathering;
  uint32_t timer = 0;      ///< the answer timer that counts (older ones are ignored)
  std::size_t covered = 0; ///< rows the generation in flight answers
  bool stale = false;      ///< messages arrived during the generation
  int regenerations = 0;
  bool deferred = false; ///< the reply bucket held the answer back: it covers all that waited
  /// Woken while deferred: the new messages wait in the inbox (stored, durable) and are taken
  /// by one accept when the token comes, so a flooding user costs one accept per answer, not
  /// one per wake-up, and its held rows are not kept in memory.
  bool held_in_inbox = false;
  bool answer_after_accept = false; ///< the token came: answer once that accept is done
  std::string typing_for;           ///< wamid last marked read with the typing indicator
  /// The LLM rounds and tool calls of the answer in progress, stored with the reply.
  std::vector<storage::llm_step> steps;
};

/// One LLM conversation in progress (a burst being answered).
struct conversation {
  std::vector<core::llm_message> messages;
  int round = 0;
  std::string correlation_id;
};

struct session_state {
  static inline const char* name = "session";
  std::string key; ///< router key: the phone number (E.164)
  std::shared_ptr<const session_deps> deps;
  session_router_actor router;
  entity_work work;
  bool accepting = false;  ///< an accept of pending inbox messages is in flight
  bool wake_again = false; ///< woken while accepting: accept again after it
  uint8_t failures = 0;    ///< accepts failed in a row for a reason of their own
  uint32_t timers = 0;
  /// The user's answers (LLM calls and the replies they send): session.reply_burst in a row,
  /// then session.reply_rate_per_min. Made at the first answer and forgotten once full again
  /// (a full bucket is a new one): an idle session keeps 8 bytes, not a bucket's 40.
  std::unique_ptr<core::token_bucket> replies;
  std::unique_ptr<burst_state> burst; ///< only while a burst is being answered
};

using session_ptr = session_actor::stateful_pointer<session_state>;

void log_flow(session_ptr self, const char* msg, const std::string& correlation_id,
              std::initializer_list<core::log_field> extra = {}) {
  if (!core::log_enabled(core::log_level::info))
    return;
  auto phone = core::mask_phone(self->state.key); // outlives the views in `fields`
  std::vector<core::log_field> fields{{"phone", phone}, {"correlation_id", correlation_id}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  core::log(core::log_level::info, msg, fields);
}

// -- answering a burst ---------------------------------------------------------------------------

void generate(session_ptr self);
void arm_answer(session_ptr self, std::chrono::milliseconds delay);
void maybe_park(session_ptr self);
void start_accept(session_ptr self);

/// Takes a token of the user's reply bucket for one more LLM call (or answer) when there is one.
bool take_reply_token(session_ptr self) {
  auto& st = self->state;
  if (!st.replies) {
    const auto& cfg = st.deps->session;
    st.replies = std::make_unique<core::token_bucket>(
        core::bucket_settings{static_cast<double>(cfg.reply_burst),
                              cfg.reply_burst > 0 ? cfg.reply_rate_per_min / 60.0 : 0.0});
  }
  return st.replies->try_take(self->clock().now());
}

/// The burst is answered (or dropped): forget the rows the answer covered; newer ones form the
/// next burst.
void burst_done(session_ptr self) {
  auto& b = self->state.burst;
  if (!b)
    return;
  b->rows.erase(b->rows.begin(),
                b->rows.begin()
                    + static_cast<std::ptrdiff_t>(std::min(b->covered, b->rows.size())));
  b->covered = 0;
  b->regenerations = 0;
  b->stale = false;
  b->steps.clear();
  if (b->rows.empty()) {
    b.reset();
    auto& replies = self->state.replies;
    if (replies && replies->full(self->clock().now()))
      replies.reset();
    release(self);
    return;
  }
  b->stage = burst_state::phase::gathering;
  // They waited during the generation already: answer them after a short gathering window.
  arm_answer(self, std::min(self->state.deps->session.coalesce, std::chrono::milliseconds{200}));
}

/// Queues the reply to the covered rows (if this actor still holds their claims) and hands it
/// to the adapter of the channel the user last wrote from.
void send_reply(session_ptr self, std::string text, std::string type) {
  auto& b = *self->state.burst;
  // A regeneration is another LLM call: it needs a token; without one the answer goes out and
  // the newer messages wait for their own.
  if (b.stale && b.regenerations < max_regenerations && take_reply_token(self)) {
    // Messages arrived while the LLM was answering: answer all of them instead.
    ++b.regenerations;
    log_flow(self, "new messages during the answer; answering them together",
             b.rows.back().correlation_id);
    generate(self);
    return;
  }
  const auto& d = *self->state.deps;
  storage::reply_request req;
  for (std::size_t i = 0; i < b.covered; ++i)
    req.inbound.push_back({b.rows[i].id, b.rows[i].claim_token});
  req.channel = b.rows[b.covered - 1].channel;
  req.text = std::move(text);
  req.message_type = std::move(type);
  req.now = system_clock::now();
  req.steps = b.steps; // written by the statement that links the burst to its reply
  req.entity = self->state.key;
  auto correlation_id = b.rows[b.covered - 1].correlation_id;
  db_batch<std::optional<storage::delivery_row>>(
      self, d.storage, d.replies, std::move(req),
      [self, correlation_id](std::optional<storage::delivery_row>& row) {
        if (!row)
          log_flow(self, "reply dropped: another claimant answered", correlation_id);
        else {
          log_flow(self, "reply queued", correlation_id, {{"channel", row->channel}});
          dispatch_send(self->state.deps->channels, *row);
        }
        burst_done(self);
      },
      [self, correlation_id](caf::error& e) {
        // The inbound rows stay unanswered; the sweeper replays them when their claims expire.
        core::log(core::log_level::warn, "reply not queued",
                  {{"correlation_id", correlation_id}, {"error", core::reason_of(e)}});
        burst_done(self);
      });
}

/// The covered messages as one text (the built-in responder answers all of them).
std::string covered_text(const burst_state& b) {
  std::string out;
  for (std::size_t i = 0; i < b.covered; ++i) {
    if (b.rows[i].message_type != "text")
      continue;
    if (!out.empty())
      out += '\n';
    out += b.rows[i].body;
  }
  return out;
}

void fallback(session_ptr self, const char* why) {
  auto& b = *self->state.burst;
  log_flow(self, "built-in responder answers", b.rows[b.covered - 1].correlation_id,
           {{"why", why}});
  self->state.deps->routing.stats->count("fallback_replies", why);
  send_reply(self, core::fallback_reply(b.session.context, covered_text(b)), "reply");
}

void llm_round(session_ptr self, std::shared_ptr<conversation> conv);

int64_t elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                               - t0)
      .count();
}

/// Notes an LLM round or tool call of the answer in progress (stored with its reply).
void note_step(session_ptr self, const char* kind, system_clock::time_point at,
               const json& detail) {
  if (auto& b = self->state.burst)
    b->steps.push_back({kind, at, detail.dump()});
}

/// Runs the tool calls of one LLM answer one after the other, then asks the LLM again.
void run_tool_calls(session_ptr self, std::shared_ptr<conversation> conv,
                    std::vector<core::llm_tool_call> calls, std::size_t i) {
  if (i == calls.size()) {
    ++conv->round;
    llm_round(self, conv);
    return;
  }
  auto& call = calls[i];
  auto args = core::tool_call_arguments(call);
  auto next = [self, conv, calls, i](const json& result) {
    conv->messages.push_back(core::tool_result(calls[i].id, result.dump()));
    run_tool_calls(self, conv, calls, i + 1);
  };
  if (!args) {
    note_step(self, "tool_call", system_clock::now(),
              core::tool_call_detail(call, false, 0, core::to_string(core::code_of(args.error()))));
    next(json{{"error", core::reason_of(args.error())}});
    return;
  }
  auto a = *args;
  if (!a.contains("phone_number"))
    a["phone_number"] = self->state.key;
  if (a["phone_number"] != self->state.key) {
    note_step(self, "tool_call", system_clock::now(),
              core::tool_call_detail(call, false, 0, "invalid_argument"));
    next(json{{"error", "this conversation may only act on its own phone number"}});
    return;
  }
  self->state.deps->routing.stats->count("tool_calls", call.name);
  auto started = system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  execute_tool(self, call.name, a, conv->correlation_id,
               [self, next, call, started, t0](core::expected<json> r) {
                 note_step(self, "tool_call", started,
                           core::tool_call_detail(call, static_cast<bool>(r), elapsed_ms(t0),
                                                  r ? std::string{}
                                                    : core::to_string(core::code_of(r.error()))));
                 next(r ? *r : json{{"error", core::reason_of(r.error())}});
               });
}

void llm_round(session_ptr self, std::shared_ptr<conversation> conv) {
  const auto& d = *self->state.deps;
  core::llm_request req;
  req.model = d.llm_settings.model;
  req.messages = conv->messages;
  req.temperature = 0.2;
  bool allow_tools = conv->round < d.llm_settings.max_tool_rounds;
  llm_call call{allow_tools ? providers::encode_llm_request(req, core::tool_definitions())
                            : providers::encode_llm_request(req),
                conv->correlation_id};
  auto deadline = d.llm_settings.timeout + std::chrono::seconds{2};
  auto started = system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  auto model = req.model;
  auto round = conv->round + 1;
  self->request(d.llm, deadline, std::move(call))
      .then(
          [self, conv, allow_tools, started, t0, model, round](std::string& body) {
            auto res = providers::parse_llm_response(body);
            if (!res) {
              note_step(self, "llm_round", started,
                        core::llm_round_failed_detail(round, model, elapsed_ms(t0), "malformed"));
              fallback(self, "malformed LLM answer");
              return;
            }
            note_step(self, "llm_round", started,
                      core::llm_round_detail(round, model, elapsed_ms(t0), *res));
            if (!res->tool_calls.empty() && allow_tools) {
              conv->messages.push_back(core::assistant_tool_calls(res->tool_calls, res->content));
              run_tool_calls(self, conv, res->tool_calls, 0);
              return;
            }
            if (!res->content || res->content->empty()) {
              fallback(self, "empty LLM answer");
              return;
            }
            send_reply(self, *res->content, "reply");
          },
          [self, started, t0, model, round](caf::error& e) {
            note_step(self, "llm_round", started,
                      core::llm_round_failed_detail(round, model, elapsed_ms(t0),
                                                    core::to_string(core::code_of(e))));
            fallback(self, core::code_of(e) == sb_error::timeout ? "LLM timeout" : "LLM error");
          });
}

/// The LLM's view of an inbound message.
std::string user_text(const storage::delivery_row& row) {
  return row.message_type == "text" ? row.body : "[the customer sent a " + row.message_type + "]";
}

/// Before the LLM answers on WhatsApp: marks the newest WhatsApp text of the burst read with the
/// typing indicator (which marks the earlier ones read too). Best effort: one try, the answer
/// does not wait for it, and it is no delivery (counted in switchboard_typing_indicators_total).
void show_typing(session_ptr self) {
  auto& b = *self->state.burst;
  const auto& d = *self->state.deps;
  const auto& w = d.whatsapp;
  if (!w.enabled || !w.typing_indicator || b.covered == 0
      || b.rows[b.covered - 1].channel != "whatsapp")
    return;
  const storage::delivery_row* target = nullptr;
  for (std::size_t i = b.covered; i-- > 0 && target == nullptr;) {
    const auto& r = b.rows[i];
    if (r.channel == "whatsapp" && r.message_type == "text" && !r.external_id.empty())
      target = &r;
  }
  if (target == nullptr || target->external_id == b.typing_for)
    return; // a regeneration keeps the indicator it showed
  b.typing_for = target->external_id;
  http_call call;
  call.service = "whatsapp";
  call.url = w.base_url + "/" + w.api_version + "/" + w.phone_number_id + "/messages";
  call.headers
      = {{"Authorization", "Bearer " + w.access_token}, {"Content-Type", "application/json"}};
  call.body = providers::build_whatsapp_typing_indicator(target->external_id).dump();
  call.timeout_ms = 5000; // Meta shows it for 25 s at most: later is useless
  call.correlation_id = target->correlation_id;
  auto correlation_id = target->correlation_id;
  self->request(d.http, std::chrono::seconds{7}, std::move(call))
      .then(
          [self, correlation_id](http_reply& r) {
            bool ok = r.status >= 200 && r.status < 300;
            self->state.deps->routing.stats->count("typing_indicators", ok ? "sent" : "refused");
            if (!ok)
              core::log(core::log_level::warn, "typing indicator refused",
                        {{"correlation_id", correlation_id},
                         {"status", r.status},
                         {"error", r.body.substr(0, 300)}});
          },
          [self, correlation_id](caf::error& e) {
            self->state.deps->routing.stats->count("typing_indicators", "failed");
            core::log(core::log_level::warn, "typing indicator not sent",
                      {{"correlation_id", correlation_id}, {"error", core::reason_of(e)}});
          });
}

/// Answers the rows gathered so far: the LLM sees the session, the earlier messages of the
/// session (1 read) and every message of the burst.
void generate(session_ptr self) {
  auto& b = *self->state.burst;
  const auto& d = *self->state.deps;
  b.stage = burst_state::phase::generating;
  b.covered = b.rows.size();
  b.stale = false;
  bool any_text = false;
  for (auto& r : b.rows)
    any_text = any_text || r.message_type == "text";
  if (!any_text) {
    send_reply(self, core::unsupported_type_notice(b.rows.back().message_type, b.session.context),
               "notice");
    return;
  }
  if (!d.llm) {
    fallback(self, "no LLM configured");
    return;
  }
  show_typing(self);
  auto session_id = b.session.id;
  db_read<std::vector<storage::delivery_row>>(
      self, d.storage, "history",
      [session_id](soci::session& sql) {
        return storage::session_history(sql, session_id, history_messages + 8);
      },
      [self](std::vector<storage::delivery_row>& history) {
        auto& b = *self->state.burst;
        const auto& d = *self->state.deps;
        auto conv = std::make_shared<conversation>();
        conv->correlation_id = b.rows[b.covered - 1].correlation_id;
        std::string system = d.followup_prompt;
        // The tools take this key as "phone_number"; a WhatsApp user known by username has none.
        if (core::parse_whatsapp_user_key(self->state.key))
          system += "\n\nCustomer: a WhatsApp user whose phone number is withheld (leave "
                    "phone_number out of tool calls: they act on this customer).";
        else
          system += "\n\nCustomer phone number: " + self->state.key;
        system += "\nChannel of this conversation: " + b.rows[b.covered - 1].channel;
        system += "\nSession:\n" + storage::session_json(b.session, b.profile).dump(2);
        std::size_t first = b.covered > max_burst_prompt ? b.covered - max_burst_prompt : 0;
        if (first > 0)
          system += "\nThe customer sent " + std::to_string(first)
                    + " more messages just before the ones below (left out here).";
        conv->messages.push_back(core::system_message(system));
        std::set<int64_t> own;
        for (std::size_t i = 0; i < b.covered; ++i)
          own.insert(b.rows[i].id);
        std::size_t skip = 0, earlier = 0;
        for (auto& h : history)
          earlier += own.count(h.id) ? 0 : 1;
        if (earlier > static_cast<std::size_t>(history_messages))
          skip = earlier - history_messages;
        for (auto& h : history) {
          if (own.count(h.id))
            continue;
          if (skip > 0) {
            --skip;
            continue;
          }
          if (h.direction == "inbound")
            conv->messages.push_back(core::user_message(h.body));
          else {
            core::llm_message m;
            m.role = "assistant";
            m.content = h.body;
            conv->messages.push_back(std::move(m));
          }
        }
        for (std::size_t i = first; i < b.covered; ++i)
          conv->messages.push_back(core::user_message(user_text(b.rows[i])));
        llm_round(self, conv);
      },
      [self](caf::error&) { fallback(self, "history unavailable"); });
}

/// A token came for an answer the reply limit held back: one answer covers all that waited.
void answer_held(session_ptr self) {
  auto& b = *self->state.burst;
  b.deferred = false;
  self->state.deps->routing.stats->reply_coalesced("session", b.rows.size());
  log_flow(self, "answering the messages held back by the reply limit",
           b.rows.back().correlation_id, {{"messages", b.rows.size()}});
  generate(self);
}

/// The gathering window closed: answers when the user's reply bucket has a token, else waits for
/// one, still gathering: what arrives meanwhile waits in the inbox (stored, not taken) and joins
/// this answer, so a flooding user gets session.reply_rate_per_min answers at most.
void answer_when_allowed(session_ptr self) {
  auto& st = self->state;
  auto& b = *st.burst;
  if (b.answer_after_accept)
    return; // the accept that precedes this answer is in flight
  if (take_reply_token(self)) {
    if (!b.held_in_inbox)
      return b.deferred ? answer_held(self) : generate(self);
    // Take what waited in the inbox first; on_accepted answers all of it.
    b.held_in_inbox = false;
    b.answer_after_accept = true;
    if (st.accepting)
      st.wake_again = true;
    else
      start_accept(self);
    return;
  }
  if (!b.deferred) {
    b.deferred = true;
    st.deps->routing.stats->reply_deferred("session");
    log_flow(self, "reply limit reached; the answer waits and covers what arrives meanwhile",
             b.rows.back().correlation_id);
  }
  arm_answer(self,
             st.replies ? st.replies->wait(self->clock().now()) : std::chrono::milliseconds{0});
}

/// While the burst only waits (its gathering window, a reply token) and nothing else runs, the
/// router stops counting this session against inbox.min_active (router.hpp).
void maybe_park(session_ptr self) {
  auto& st = self->state;
  if (st.burst && st.burst->stage == burst_state::phase::gathering && !st.accepting
      && !st.burst->answer_after_accept)
    park(self); // the one hold left is the burst's
}

void arm_answer(session_ptr self, std::chrono::milliseconds delay) {
  auto& b = *self->state.burst;
  auto timer = b.timer = ++self->state.timers;
  // The timer comes back as a deferred step: one handler less per actor.
  self->delayed_send(self, delay, resume_atom::value, deferred_step{[self, timer] {
                       auto& b = self->state.burst;
                       if (b && b->timer == timer && b->stage == burst_state::phase::gathering)
                         answer_when_allowed(self);
                     }});
  maybe_park(self);
}

/// New accepted messages join the burst; the first one starts the coalescing window.
void add_to_burst(session_ptr self, storage::accepted_messages& a) {
  auto& st = self->state;
  if (a.inbound.empty())
    return;
  bool fresh = !st.burst;
  if (fresh) {
    st.burst = std::make_unique<burst_state>();
    hold(self);
  }
  auto& b = *st.burst;
  b.profile = std::move(a.profile);
  b.session = std::move(a.session);
  auto before = b.rows.size();
  for (auto& row : a.inbound) {
    // A row replayed while it waits here (its claim lease passed) is the same message with a
    // new claim: it keeps its place.
    auto same = std::find_if(b.rows.begin(), b.rows.end(),
                             [&](const storage::delivery_row& r) { return r.id == row.id; });
    if (same != b.rows.end()) {
      same->claim_token = row.claim_token;
      continue;
    }
    log_flow(self, "inbound message accepted", row.correlation_id,
             {{"channel", row.channel}, {"body", core::mask_text(row.body)}});
    b.rows.push_back(std::move(row));
  }
  if (fresh) {
    // The window counts from the first message's arrival: messages that waited in the inbox
    // (processing yielded to a flood of webhooks) are answered at once.
    auto window = st.deps->session.coalesce;
    if (a.first_received_ms > 0) {
      auto age
          = std::chrono::milliseconds{storage::to_ms(system_clock::now()) - a.first_received_ms};
      window = std::max(std::chrono::milliseconds{0}, window - age);
    }
    arm_answer(self, window);
  } else if (b.stage == burst_state::phase::generating && b.rows.size() > before) {
    b.stale = true;
  }
}

// -- the inbox -----------------------------------------------------------------------------------

/// Takes this user's pending inbox messages (batched with other sessions' by the storage actor).
void start_accept(session_ptr self) {
  auto& st = self->state;
  st.accepting = true;
  hold(self);
  storage::accept_request req{st.key, core::random_hex(8)};
  session_actor me{self};
  submit_batch(st.deps->storage, st.deps->accept, std::move(req), [me](db_result& r) {
    auto out = std::make_shared<accept_outcome>();
    if (r.error)
      out->error = std::move(r.error);
    else
      out->accepted = std::move(*std::any_cast<storage::accepted_messages>(&r.value));
    caf::anon_send(me, accepted_atom::value, std::move(out));
  });
}

void on_wake(session_ptr self) {
  auto& st = self->state;
  if (st.burst && st.burst->deferred && !st.burst->answer_after_accept
      && st.burst->stage == burst_state::phase::gathering) {
    st.burst->held_in_inbox = true; // accepted with the answer the token allows
    maybe_park(self);               // still waiting for the token
    return;
  }
  if (st.accepting)
    st.wake_again = true;
  else
    start_accept(self);
}

void on_accepted(session_ptr self, accept_outcome& out) {
  auto& st = self->state;
  st.accepting = false;
  if (out.error) {
    // The rows stay pending; the poller wakes this session again. A row that fails on its own
    // (not the database being away) is set aside after five tries, so it blocks nobody.
    auto reason = core::reason_of(out.error);
    core::log(core::log_level::warn, "inbox messages not accepted yet",
              {{"phone", core::mask_phone(st.key)}, {"error", reason}});
    auto code = core::code_of(out.error);
    if (code != sb_error::unavailable && code != sb_error::timeout && ++st.failures >= 5) {
      st.failures = 0;
      auto key = st.key;
      hold(self);
      db_write<std::string>(
          self, st.deps->storage, "dead_letter",
          [key, reason](soci::session& sql) {
            return storage::dead_letter_oldest(sql, "message", key, reason);
          },
          [self, reason](std::string& dedupe_key) {
            if (!dedupe_key.empty()) {
              self->state.deps->routing.stats->count("inbox_dead_letters", "message");
              core::log(core::log_level::error, "inbox message set aside: it cannot be accepted",
                        {{"phone", core::mask_phone(self->state.key)},
                         {"dedupe_key", dedupe_key},
                         {"error", reason}});
            }
            release(self);
          },
          [self](caf::error&) { release(self); });
    }
  } else {
    st.failures = 0;
    auto& a = out.accepted;
    auto& stats = *st.deps->routing.stats;
    if (a.session_created)
      stats.session_event("opened");
    if (a.session_expired)
      stats.session_event("expired");
    for (int i = 0; i < a.duplicates; ++i)
      stats.dedupe_hit("delivery_log");
    // A take is capped per user (inbox.accept_batch): a backlog (messages held by the reply
    // limit, or stored while processing yielded) comes in several bounded accepts, one after
    // the other, before the answer that covers it all.
    if (a.more)
      st.wake_again = true;
    add_to_burst(self, a);
  }
  if (st.wake_again) {
    st.wake_again = false;
    start_accept(self);
  } else if (st.burst && st.burst->answer_after_accept) {
    // The token was taken for the held messages: answer all that waited (on a failed accept,
    // what was taken before; the rest stays pending for the next answer).
    st.burst->answer_after_accept = false;
    answer_held(self);
  }
  release(self);
  maybe_park(self);
}

void on_replay(session_ptr self, int64_t inbound_id, std::string token) {
  const auto& d = *self->state.deps;
  hold(self);
  db_write<std::optional<storage::replay_burst>>(
      self, d.storage, "replay",
      [inbound_id, token](soci::session& sql) {
        return storage::load_for_replay(sql, inbound_id, token);
      },
      [self](std::optional<storage::replay_burst>& r) {
        if (r) {
          log_flow(self, "answering a message left unanswered", r->inbound[0].correlation_id);
          storage::accepted_messages a;
          a.profile = std::move(r->profile);
          a.session = std::move(r->session);
          a.inbound = std::move(r->inbound);
          add_to_burst(self, a);
        }
        release(self);
      },
      [self](caf::error&) { release(self); });
}

void on_tool(session_ptr self, tool_request req, edge_callback cb) {
  json args = core::parse_untrusted_json(req.arguments);
  if (!args.is_object()) {
    cb(json_reply(400, {{"error", "malformed"}, {"reason", "arguments must be a JSON object"}}));
    finish(self);
    return;
  }
  execute_tool(self, req.name, args, req.correlation_id, [self, cb](core::expected<json> r) {
    if (r)
      cb(json_reply(200, {{"result", *r}}));
    else
      cb(error_reply(r.error()));
    finish(self);
  });
}

session_actor::behavior_type session_fn(session_ptr self, std::string phone,
                                        std::shared_ptr<const session_deps> deps,
                                        session_router_actor router) {
  auto& st = self->state;
  st.key = std::move(phone);
  st.deps = std::move(deps);
  st.router = std::move(router);
  return {
      [=](wake_atom) {
        from_router(self);
        on_wake(self);
      },
      [=](accepted_atom, accept_outcome_ptr& out) { on_accepted(self, *out); },
      [=](tool_request& req, edge_callback& cb) {
        from_router(self);
        enqueue(self, [=] { on_tool(self, req, cb); });
      },
      [=](replay_atom, const std::string&, int64_t id, std::string& token) {
        from_router(self);
        on_replay(self, id, token);
      },
      [=](stop_atom) { stop_when_idle(self); },
      [=](resume_atom, deferred_step& step) { step(); },
  };
}

// -- the router ----------------------------------------------------------------------------------

using router_ptr
    = session_router_actor::stateful_pointer<keyed_router_state<session_actor, session_deps>>;

session_actor& entity(router_ptr self, const std::string& phone) {
  return route_to(self, phone, [self](const std::string& key) {
    return self->spawn<caf::monitored>(session_fn, key, self->state.deps,
                                       session_router_actor{self});
  });
}

session_router_actor::behavior_type router_fn(router_ptr self,
                                              std::shared_ptr<const session_deps> deps) {
  self->state.deps = std::move(deps);
  self->state.kind = "session";
  watch_entities(self);
  return {
      [=](wake_atom, const std::string& phone) {
        if (owned_here(self, phone) && admit_wake(self, phone))
          self->send(entity(self, phone), wake_atom::value);
      },
      [=](tool_request& req, edge_callback& cb) {
        self->send(entity(self, req.phone), std::move(req), std::move(cb));
      },
      [=](replay_atom, std::string& phone, int64_t id, std::string& token) {
        // Another node owns the user: its claim lapses and a later sweep replays it there.
        if (owned_here(self, phone))
          self->send(entity(self, phone), replay_atom::value, phone, id, std::move(token));
      },
      [=](lost_atom, const std::vector<int32_t>& shards) { stop_lost(self, shards); },
      [=](idle_atom, const std::string& phone, uint32_t seen) { mark_idle(self, phone, seen); },
      [=](parked_atom, const std::string& phone, uint32_t seen) { mark_parked(self, phone, seen); },
      [=](sweep_atom) { sweep_idle(self); },
  };
}

} // namespace

session_router_actor spawn_session_router(caf::actor_system& sys,
                                          std::shared_ptr<const session_deps> deps) {
  return sys.spawn(router_fn, std::move(deps));
}

} // namespace switchboard::actors
