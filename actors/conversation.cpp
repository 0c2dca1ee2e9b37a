#include <deque>
#include <map>

#include "actors/common.hpp"
#include "actors/entity.hpp"
#include "actors/router.hpp"
#include "core/bot/bot.hpp"
#include "core/bot/chatwoot.hpp"
#include "core/crypto.hpp"
#include "core/rate_limit.hpp"
#include "providers/chatwoot/client.hpp"
#include "providers/chatwoot/codec.hpp"
#include "providers/openai/codec.hpp"
#include "storage/chatwoot.hpp"
#include "storage/inbox.hpp"

namespace switchboard::actors {

using core::sb_error;
using nlohmann::json;
using std::chrono::system_clock;

/// What a conversation actor's take of its pending inbox events found.
struct chatwoot_taken {
  chatwoot_events events;
  caf::error error;
};

batch_kind_ptr make_chatwoot_kind(std::shared_ptr<cluster_view> cluster) {
  // 1 round trip to take the events of up to 16 conversations, then the accept of each. Each
  // accept locks its conversation's row until the batch commits, and the replies' writes lock
  // the same rows in their own batches: small takes keep those lock sets from forming convoys.
  return make_take_kind(
      "chatwoot_events", "chatwoot", core::decode_chatwoot_inbound,
      [](soci::session& sql, core::chatwoot_inbound& ev) {
        auto accepted = storage::accept_chatwoot_event(sql, ev);
        return std::make_pair(std::move(ev), std::move(accepted));
      },
      16, std::move(cluster));
}

namespace {

struct conversation_state {
  static inline const char* name = "conversation";
  int64_t account_id = 0;
  int64_t conversation_id = 0;
  std::string key;
  std::shared_ptr<const conversation_deps> deps;
  conversation_router_actor router;
  entity_work work;
  bool taking = false;     ///< a take of pending inbox events is in flight
  bool take_again = false; ///< woken while taking
  /// Bot answers of this conversation (chatwoot.reply_burst, reply_rate_per_min): questions
  /// beyond wait in `held` and get one answer together when a token frees up.
  core::token_bucket replies;
  struct question {
    std::string text;
    std::string portal;
    std::string correlation_id;
  };
  std::vector<question> held;    ///< the latest held_questions_answered of them
  std::size_t held_messages = 0; ///< questions held since the last answer
  bool bot_owns = true;          ///< as of the last event: pending and the bot active
};

using conv_ptr = conversation_actor::stateful_pointer<conversation_state>;

void log_conv(conv_ptr self, const char* msg, const std::string& correlation_id,
              std::initializer_list<core::log_field> extra = {}) {
  std::vector<core::log_field> fields{{"conversation", self->state.key},
                                      {"correlation_id", correlation_id}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  core::log(core::log_level::info, msg, fields);
}

core::bot_settings bot_settings_of(const conversation_deps& d) {
  core::bot_settings b;
  b.handoff_phrases = d.chatwoot.handoff_phrases;
  b.confidence_threshold = d.chatwoot.confidence_threshold;
  b.min_score = d.chatwoot.min_score;
  b.top_k = d.chatwoot.top_articles;
  b.system_prompt = d.bot_prompt;
  return b;
}

/// A Chatwoot application API call for this conversation.
http_call chatwoot_call(conv_ptr self, const std::string& suffix, std::string body,
                        const std::string& correlation_id) {
  return providers::chatwoot_conversation_call(self->state.deps->chatwoot, self->state.account_id,
                                               self->state.conversation_id, suffix, std::move(body),
                                               correlation_id);
}

/// Posts to Chatwoot (retried on transient failures); `then(ok, answer body)` runs after.
void post_read(conv_ptr self, http_call call, std::function<void(bool, const std::string&)> then) {
  auto what = call.url.substr(call.url.rfind('/') + 1);
  auto correlation_id = call.correlation_id;
  self->request(self->state.deps->patient, std::chrono::minutes{10}, std::move(call))
      .then(
          [=](http_reply& r) {
            bool ok = r.status >= 200 && r.status < 300;
            if (!ok)
              log_conv(self, "Chatwoot refused a call", correlation_id,
                       {{"call", what}, {"status", r.status}});
            then(ok, r.body);
          },
          [=](caf::error& e) {
            log_conv(self, "Chatwoot unreachable", correlation_id,
                     {{"call", what}, {"error", core::reason_of(e)}});
            then(false, std::string{});
          });
}

/// Posts to Chatwoot (retried on transient failures); `then(ok)` runs after.
void post(conv_ptr self, http_call call, std::function<void(bool)> then) {
  post_read(self, std::move(call), [then](bool ok, const std::string&) { then(ok); });
}

/// The bot_answers row of a question (the question stored as is; the logs never show it).
storage::bot_answer_record answer_record(conv_ptr self, const std::string& question,
                                         const std::vector<core::answer_source>& sources,
                                         std::optional<double> confidence,
                                         const std::string& correlation_id) {
  storage::bot_answer_record a;
  a.account_id = self->state.account_id;
  a.conversation_id = self->state.conversation_id;
  a.correlation_id = correlation_id;
  a.question = question;
  a.sources = sources;
  a.confidence = confidence;
  return a;
}

/// Records a hand-off (so the webhooks our own toggle causes are no new hand-off) and hands the
/// provider's notification to its channel adapter.
void record_handoff(conv_ptr self, std::string reason, bool already_open,
                    const std::string& correlation_id, std::function<void()> then,
                    std::optional<storage::bot_answer_record> answer = std::nullopt) {
  const auto& d = *self->state.deps;
  storage::handoff_input in;
  in.account_id = self->state.account_id;
  in.conversation_id = self->state.conversation_id;
  in.reason = std::move(reason);
  in.already_open = already_open;
  in.conversation_url = providers::chatwoot_conversation_url(d.chatwoot.base_url, in.account_id,
                                                             in.conversation_id);
  in.correlation_id = correlation_id;
  in.token = core::random_hex(8);
  in.sms_max_segments = d.chatwoot.handoff_sms_max_segments;
  in.now = system_clock::now();
  in.answer = std::move(answer);
  db_write<storage::handoff_result>(
      self, d.storage, "handoff",
      [in](soci::session& sql) { return storage::record_handoff(sql, in); },
      [self, correlation_id, then](storage::handoff_result& r) {
        auto& d = *self->state.deps;
        d.routing.stats->count("handoffs",
                               r.conversation.escalation_reason.empty() ? "unknown" : "recorded");
        if (r.no_config)
          log_conv(self, "hand-off: the provider has no notification config; nobody notified",
                   correlation_id);
        else if (r.notification)
          dispatch_notification(d.channels, *r.notification);
        then();
      },
      [self, correlation_id, then](caf::error& e) {
        log_conv(self, "hand-off not recorded", correlation_id, {{"error", core::reason_of(e)}});
        then();
      });
}

/// Hands the conversation to a human: recorded first, then status open and a private note.
void escalate(conv_ptr self, core::escalation_reason reason, std::string customer_text,
              std::vector<core::answer_source> closest, std::optional<double> confidence,
              std::string correlation_id) {
  self->state.deps->routing.stats->count("escalations", core::to_string(reason));
  log_conv(self, "escalating to a human", correlation_id, {{"reason", core::to_string(reason)}});
  // The question's bot_answers row rides in the hand-off's transaction: no round trip more.
  auto record = answer_record(self, customer_text, closest, confidence, correlation_id);
  record.escalated = true;
  record.reason = core::to_string(reason);
  record_handoff(
      self, core::escalation_sentence(reason), false, correlation_id,
      [=] {
        auto toggle = providers::chatwoot_toggle_status_body("open");
        post(self, chatwoot_call(self, "/toggle_status", toggle ? *toggle : "{}", correlation_id),
             [=](bool) {
               auto note = core::escalation_note(reason, customer_text, closest, confidence);
               post(self,
                    chatwoot_call(self, "/messages", providers::chatwoot_message_body(note, true),
                                  correlation_id),
                    [self](bool) { finish(self); });
             });
      },
      std::move(record));
}

/// Posts the answer, then records it with Chatwoot's id for the posted message. Round trips:
/// the post, then 1 write (group-committed with other writers by the storage actor): the
/// answer path has no transaction of its own before the post that could carry it, since the
/// posted id is only known after.
void reply(conv_ptr self, const std::string& question, const core::bot_answer& answer,
           const std::string& correlation_id) {
  self->state.deps->routing.stats->count("bot_answers",
                                         answer.sources.empty() ? "no_sources" : "with_sources");
  log_conv(self, "answering from the Help Center", correlation_id,
           {{"sources", answer.sources.size()}});
  auto record = answer_record(self, question, answer.sources, answer.confidence, correlation_id);
  post_read(self,
            chatwoot_call(self, "/messages",
                          providers::chatwoot_message_body(core::render_reply(answer)),
                          correlation_id),
            [self, record, correlation_id](bool ok, const std::string& body) mutable {
              if (ok)
                record.posted_id = providers::chatwoot_posted_message_id(body);
              db_write<int>(
                  self, self->state.deps->storage, "bot_answer",
                  [record](soci::session& sql) {
                    storage::record_bot_answer(sql, record);
                    return 0;
                  },
                  [self](int) { finish(self); },
                  [self, correlation_id](caf::error& e) {
                    log_conv(self, "bot answer not recorded", correlation_id,
                             {{"error", core::reason_of(e)}});
                    finish(self);
                  });
            });
}

/// Decides between the answer and a hand-off.
void conclude(conv_ptr self, std::string text, std::vector<core::search_hit> hits,
              std::optional<core::bot_answer> answer, std::string correlation_id) {
  auto settings = bot_settings_of(*self->state.deps);
  auto reason = core::decide(text, hits, answer, settings);
  if (reason == core::escalation_reason::none && answer) {
    reply(self, text, *answer, correlation_id);
    return;
  }
  std::vector<core::answer_source> closest
      = answer ? answer->sources : std::vector<core::answer_source>{};
  std::optional<double> confidence;
  if (answer)
    confidence = answer->confidence;
  escalate(self,
           reason == core::escalation_reason::none ? core::escalation_reason::low_confidence
                                                   : reason,
           text, closest, confidence, correlation_id);
}

/// Answers a customer's question from the provider's Help Center.
void answer(conv_ptr self, std::string text, std::string portal, std::string correlation_id) {
  auto& d = *self->state.deps;
  auto settings = bot_settings_of(d);
  if (core::asks_for_human(text, settings.handoff_phrases)) {
    escalate(self, core::escalation_reason::asked_for_human, text, {}, std::nullopt,
             correlation_id);
    return;
  }
  self->request(d.articles, std::chrono::minutes{10}, get_atom::value, self->state.account_id,
                portal)
      .then(
          [=](article_set_ptr& set) {
            auto& d = *self->state.deps;
            auto hits = core::relevant_hits(set->index.query(text, settings.top_k), settings);
            if (hits.empty()) {
              conclude(self, text, hits, std::nullopt, correlation_id);
              return;
            }
            auto extractive = core::extractive_answer(text, set->articles[hits.front().doc],
                                                      hits.front(), settings);
            if (!d.llm) {
              conclude(self, text, hits, extractive, correlation_id);
              return;
            }
            std::vector<core::help_article> top;
            for (auto& h : hits)
              top.push_back(set->articles[h.doc]);
            auto req = core::grounded_answer_request(d.llm_settings.model, text, top, settings);
            llm_call call{providers::encode_llm_request(req), correlation_id};
            self->request(d.llm, d.llm_settings.timeout + std::chrono::seconds{2}, std::move(call))
                .then(
                    [=](std::string& body) {
                      auto res = providers::parse_llm_response(body);
                      core::expected<core::bot_answer> grounded
                          = res && res->content
                                ? core::parse_grounded_answer(*res->content, top)
                                : core::expected<core::bot_answer>{caf::make_error(
                                    sb_error::malformed, std::string{"no content"})};
                      if (!grounded) {
                        log_conv(self, "LLM answer unusable; answering extractively",
                                 correlation_id, {{"error", core::reason_of(grounded.error())}});
                        conclude(self, text, hits, extractive, correlation_id);
                        return;
                      }
                      conclude(self, text, hits, *grounded, correlation_id);
                    },
                    [=](caf::error& e) {
                      log_conv(self, "LLM failed; answering extractively", correlation_id,
                               {{"error", core::reason_of(e)}});
                      conclude(self, text, hits, extractive, correlation_id);
                    });
          },
          [=](caf::error& e) {
            // Not "no article matched": the articles were never read.
            auto refused = core::code_of(e) == sb_error::provider_rejected;
            log_conv(self,
                     refused ? "Help Center unreadable (Chatwoot refused the read); handing off"
                             : "Help Center unavailable; handing off",
                     correlation_id, {{"error", core::reason_of(e)}});
            escalate(self,
                     refused ? core::escalation_reason::help_center_unreadable
                             : core::escalation_reason::help_center_unavailable,
                     text, {}, std::nullopt, correlation_id);
          });
}

void answer_held(conv_ptr self);

/// Calls answer_held after `delay` (through the queue: it answers like any other item).
void arm_held(conv_ptr self, std::chrono::milliseconds delay) {
  self->delayed_send(self, delay, resume_atom::value,
                     deferred_step{[self] { enqueue(self, [self] { answer_held(self); }); }});
}

/// The questions held back are answered together, no longer held (the entity may rest).
std::vector<conversation_state::question> take_held(conv_ptr self) {
  auto out = std::move(self->state.held);
  self->state.held.clear();
  self->state.held_messages = 0;
  if (!out.empty())
    release(self);
  return out;
}

/// At most this many held questions go into the one answer (the latest; what a flood adds past
/// them is answered by that answer too, without growing the prompt).
constexpr std::size_t held_questions_answered = 8;

/// A token is back: one answer for every question that waited.
void answer_held(conv_ptr self) {
  auto& st = self->state;
  if (st.held.empty()) { // a hand-off took them
    finish(self);
    return;
  }
  if (!st.bot_owns) {
    log_conv(self, "held questions dropped: a human has the conversation now",
             st.held.back().correlation_id, {{"messages", st.held.size()}});
    take_held(self);
    finish(self);
    return;
  }
  auto now = self->clock().now();
  if (!st.replies.try_take(now)) {
    arm_held(self, st.replies.wait(now));
    finish(self);
    return;
  }
  auto messages = st.held_messages;
  auto held = take_held(self);
  st.deps->routing.stats->reply_coalesced("conversation", messages);
  log_conv(self, "answering the questions held back by the reply limit", held.back().correlation_id,
           {{"messages", messages}});
  std::string text;
  for (auto& q : held)
    text += (text.empty() ? "" : "\n") + q.text;
  answer(self, std::move(text), held.back().portal, held.back().correlation_id);
}

/// A customer question for the bot. Answers cost an LLM call and a Chatwoot post each, so they
/// go through the conversation's reply bucket: past it, questions wait (the conversation
/// stays live) and get one answer together. Asking for a human never waits.
void ask(conv_ptr self, std::string text, std::string portal, std::string correlation_id) {
  auto& st = self->state;
  if (core::asks_for_human(text, st.deps->chatwoot.handoff_phrases)) {
    take_held(self); // the human reads the conversation, held questions included
    answer(self, std::move(text), std::move(portal), std::move(correlation_id));
    return;
  }
  auto now = self->clock().now();
  if (st.held.empty() && st.replies.try_take(now)) {
    answer(self, std::move(text), std::move(portal), std::move(correlation_id));
    return;
  }
  if (st.held.empty()) {
    hold(self);
    st.deps->routing.stats->reply_deferred("conversation");
    log_conv(self, "reply limit reached; the answer waits and covers what arrives meanwhile",
             correlation_id);
    arm_held(self, st.replies.wait(now));
  }
  st.held.push_back({std::move(text), std::move(portal), std::move(correlation_id)});
  ++st.held_messages;
  if (st.held.size() > held_questions_answered) // only the latest are answered: keep no more
    st.held.erase(st.held.begin());
  finish(self);
}

/// Acts on one Chatwoot event the inbox accept recorded: a hand-off to announce, a question
/// to answer, or nothing.
void on_event(conv_ptr self, const core::chatwoot_inbound& ev, storage::chatwoot_accepted& r) {
  if (r.resumed)
    log_conv(self, "conversation back to pending: the bot answers again", ev.correlation_id);
  if (r.became_open) {
    // A human took the conversation (an agent or an automation): notify the provider once.
    record_handoff(self, "The conversation was opened for a human agent.", true, ev.correlation_id,
                   [self] { finish(self); });
    return;
  }
  bool bot_owns = r.conversation.status == "pending" && r.conversation.bot_state == "active";
  self->state.bot_owns = bot_owns;
  if (!ev.bot_should_answer || !bot_owns) {
    finish(self);
    return;
  }
  if (!r.provider) {
    log_conv(self, "no provider config for this Chatwoot account; the bot stays silent",
             ev.correlation_id);
    finish(self);
    return;
  }
  ask(self, ev.content, r.provider->portal_slug, ev.correlation_id);
}

/// Takes the conversation's pending inbox events (batched with other conversations').
void start_take(conv_ptr self) {
  auto& st = self->state;
  st.taking = true;
  hold(self);
  conversation_actor me{self};
  submit_batch(st.deps->storage, st.deps->events, st.key, [me](db_result& r) {
    auto out = std::make_shared<chatwoot_taken>();
    if (r.error)
      out->error = std::move(r.error);
    else
      out->events = std::move(*std::any_cast<chatwoot_events>(&r.value));
    caf::anon_send(me, accepted_atom::value, std::move(out));
  });
}

void on_taken(conv_ptr self, chatwoot_taken& t) {
  auto& st = self->state;
  st.taking = false;
  if (t.error)
    core::log(core::log_level::warn, "Chatwoot events not taken yet",
              {{"conversation", st.key}, {"error", core::reason_of(t.error)}});
  for (auto& item : t.events) {
    auto ev = std::make_shared<core::chatwoot_inbound>(std::move(item.first));
    auto acc = std::make_shared<storage::chatwoot_accepted>(std::move(item.second));
    enqueue(self, [self, ev, acc] { on_event(self, *ev, *acc); });
  }
  if (st.take_again) {
    st.take_again = false;
    start_take(self);
  }
  release(self);
}

void on_provider_reply(conv_ptr self, provider_reply r, caf::typed_response_promise<bool> rp) {
  // The provider answers as an agent: an outgoing, public message.
  post(self,
       chatwoot_call(self, "/messages", providers::chatwoot_message_body(r.text), r.correlation_id),
       [self, rp, r](bool ok) mutable {
         self->state.deps->routing.stats->count("provider_replies", ok ? "posted" : "failed");
         log_conv(self, ok ? "provider reply posted" : "provider reply not posted",
                  r.correlation_id);
         rp.deliver(ok);
         finish(self);
       });
}

conversation_actor::behavior_type conversation_fn(conv_ptr self, std::string key,
                                                  std::shared_ptr<const conversation_deps> deps,
                                                  conversation_router_actor router) {
  auto& st = self->state;
  st.key = key;
  auto colon = key.find(':');
  st.account_id = std::stoll(key.substr(0, colon));
  st.conversation_id = std::stoll(key.substr(colon + 1));
  st.deps = std::move(deps);
  st.router = std::move(router);
  const auto& cw = st.deps->chatwoot;
  st.replies = core::token_bucket{{static_cast<double>(cw.reply_burst),
                                   cw.reply_burst > 0 ? cw.reply_rate_per_min / 60.0 : 0.0}};
  return {
      [=](wake_atom) {
        from_router(self);
        if (self->state.taking)
          self->state.take_again = true;
        else
          start_take(self);
      },
      [=](accepted_atom, chatwoot_taken_ptr& t) { on_taken(self, *t); },
      [=](provider_reply& r) -> caf::typed_response_promise<bool> {
        from_router(self);
        auto rp = self->make_response_promise<bool>();
        enqueue(self, [=] { on_provider_reply(self, r, rp); });
        return rp;
      },
      [=](stop_atom) { stop_when_idle(self); },
      [=](resume_atom, deferred_step& step) { step(); },
      [=](retry_atom, deferred_step& step) { step(); },
  };
}

using router_ptr = conversation_router_actor::stateful_pointer<
    keyed_router_state<conversation_actor, conversation_deps>>;

std::string key_of(int64_t account, int64_t conversation) {
  return std::to_string(account) + ":" + std::to_string(conversation);
}

conversation_actor& entity(router_ptr self, const std::string& key) {
  return route_to(self, key, [self](const std::string& k) {
    return self->spawn<caf::monitored>(conversation_fn, k, self->state.deps,
                                       conversation_router_actor{self});
  });
}

conversation_router_actor::behavior_type router_fn(router_ptr self,
                                                   std::shared_ptr<const conversation_deps> deps) {
  self->state.deps = std::move(deps);
  self->state.kind = "conversation";
  watch_entities(self);
  return {
      [=](wake_atom, const std::string& key) {
        if (owned_here(self, key) && admit_wake(self, key))
          self->send(entity(self, key), wake_atom::value);
      },
      [=](lost_atom, const std::vector<int32_t>& shards) { stop_lost(self, shards); },
      [=](provider_reply& r) {
        return self->delegate(entity(self, key_of(r.account_id, r.conversation_id)), std::move(r));
      },
      [=](idle_atom, const std::string& key, uint32_t seen) { mark_idle(self, key, seen); },
      [=](sweep_atom) { sweep_idle(self); },
  };
}

} // namespace

conversation_router_actor spawn_conversation_router(caf::actor_system& sys,
                                                    std::shared_ptr<const conversation_deps> deps) {
  return sys.spawn(router_fn, std::move(deps));
}

} // namespace switchboard::actors
