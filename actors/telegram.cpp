#include <map>

#include "actors/common.hpp"
#include "providers/telegram/codec.hpp"
#include "providers/telegram/send.hpp"
#include "storage/chatwoot.hpp"
#include "storage/inbox.hpp"

namespace switchboard::actors {

using nlohmann::json;

/// What a Telegram message asks of us.
struct telegram_action {
  enum kind_t { start, reply, not_a_provider, replies_to_nothing } kind = not_a_provider;
  int64_t account_id = 0;
  int64_t conversation_id = 0;
};

/// Decides what an update asks: /start, a reply to one of our notifications from the provider it
/// was sent to, or something we cannot use.
static telegram_action classify(soci::session& sql, const core::telegram_inbound& ev) {
  telegram_action a;
  if (ev.is_start) {
    a.kind = telegram_action::start;
    return a;
  }
  auto provider = storage::provider_for_telegram_chat(sql, ev.chat_id);
  if (!provider) {
    a.kind = telegram_action::not_a_provider;
    return a;
  }
  if (ev.reply_to_message_id != 0) {
    auto n = storage::notification_for_telegram(sql, std::to_string(ev.chat_id),
                                                std::to_string(ev.reply_to_message_id));
    if (n && n->provider_id == provider->provider_id) {
      // The provider answered the hand-off (the console's provider_replied): recorded here, in
      // the take's transaction; the conversation actor then posts the reply into Chatwoot.
      storage::mark_notification_replied(sql, n->id);
      a.kind = telegram_action::reply;
      a.account_id = n->account_id;
      a.conversation_id = n->conversation_id;
      return a;
    }
  }
  a.kind = telegram_action::replies_to_nothing;
  return a;
}

/// The Telegram updates the bridge took from the inbox, each with what it asks.
struct telegram_taken {
  std::vector<std::pair<core::telegram_inbound, telegram_action>> updates;
  caf::error error;
};

using telegram_updates = std::vector<std::pair<core::telegram_inbound, telegram_action>>;

batch_kind_ptr make_telegram_kind(std::shared_ptr<cluster_view> cluster) {
  // 1 round trip to take the updates of up to 256 chats, then 1-2 lookups per update (and 1 update
  // marking a hand-off's notification replied).
  return make_take_kind(
      "telegram_updates", "telegram", core::decode_telegram_inbound,
      [](soci::session& sql, core::telegram_inbound& ev) {
        auto action = classify(sql, ev);
        return std::make_pair(std::move(ev), action);
      },
      256, std::move(cluster));
}

namespace {

struct bridge_state {
  static inline const char* name = "telegram_bridge";
  telegram_bridge_deps deps;
};

using bridge_ptr = telegram_bridge_actor::stateful_pointer<bridge_state>;

/// Answers in the chat (best effort, retried on transient failures).
void say(bridge_ptr self, int64_t chat_id, int64_t reply_to, const std::string& text) {
  auto& cfg = self->state.deps.telegram;
  auto body = providers::telegram_send_message_body(chat_id, text, reply_to);
  if (!body)
    return;
  self->request(self->state.deps.patient, std::chrono::minutes{10},
                providers::telegram_send_message_call(cfg, std::move(*body)))
      .then([](http_reply&) {},
            [](caf::error& e) {
              core::log(core::log_level::warn, "Telegram answer not sent",
                        {{"error", core::reason_of(e)}});
            });
}

/// Acts on one update: answers in the chat, or posts a provider's reply into Chatwoot.
void on_update(bridge_ptr self, const core::telegram_inbound& ev, const telegram_action& a) {
  switch (a.kind) {
  case telegram_action::start:
    say(self, ev.chat_id, 0,
        "Hello! This chat's id is <code>" + std::to_string(ev.chat_id)
            + "</code>. Put it in your Switchboard notification config (telegram_chat_id) "
              "to get hand-off notifications here.");
    return;
  case telegram_action::not_a_provider:
    say(self, ev.chat_id, ev.message_id,
        "This chat is not linked to a Switchboard provider, so nothing was posted. Send "
        "/start to see its chat id.");
    return;
  case telegram_action::replies_to_nothing:
    say(self, ev.chat_id, ev.message_id,
        "Nothing was posted: to answer a customer, reply to one of my hand-off "
        "notifications.");
    return;
  case telegram_action::reply: {
    provider_reply r;
    r.account_id = a.account_id;
    r.conversation_id = a.conversation_id;
    r.text = ev.text;
    r.from_name = ev.from_name;
    r.chat_id = ev.chat_id;
    r.message_id = ev.message_id;
    r.correlation_id = ev.correlation_id;
    auto chat = ev.chat_id;
    auto msg = ev.message_id;
    auto answer = [self, chat, msg](bool ok) {
      say(self, chat, msg,
          ok ? "✓ Sent to the customer."
             : "✗ Your reply could not be posted; please answer in Chatwoot.");
    };
    // No timeout: the post is retried up to its horizon, and a conversation actor that stops
    // without answering breaks the promise (the error branch).
    self->request(self->state.deps.conversations, caf::infinite, std::move(r))
        .then(answer, [answer](caf::error&) { answer(false); });
    return;
  }
  }
}

telegram_bridge_actor::behavior_type bridge_fn(bridge_ptr self, telegram_bridge_deps deps) {
  self->state.deps = std::move(deps);
  return {
      [=](wake_atom, const std::string& chat) {
        telegram_bridge_actor me{self};
        submit_batch(self->state.deps.storage, self->state.deps.updates, chat, [me](db_result& r) {
          auto out = std::make_shared<telegram_taken>();
          if (r.error)
            out->error = std::move(r.error);
          else
            out->updates = std::move(*std::any_cast<telegram_updates>(&r.value));
          caf::anon_send(me, accepted_atom::value, std::move(out));
        });
      },
      [=](accepted_atom, telegram_taken_ptr& t) {
        if (t->error)
          core::log(core::log_level::warn, "Telegram updates not taken yet",
                    {{"error", core::reason_of(t->error)}});
        for (auto& [ev, action] : t->updates)
          on_update(self, ev, action);
      },
      [=](resume_atom, deferred_step& step) { step(); },
  };
}

} // namespace

telegram_bridge_actor spawn_telegram_bridge(caf::actor_system& sys, telegram_bridge_deps deps) {
  return sys.spawn(bridge_fn, std::move(deps));
}

} // namespace switchboard::actors
