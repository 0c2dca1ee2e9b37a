#include <deque>
#include <unordered_map>

#include "actors/common.hpp"
#include "actors/entity.hpp"
#include "actors/router.hpp"
#include "core/crypto.hpp"
#include "core/openai.hpp"
#include "core/phone.hpp"
#include "core/responder.hpp"
#include "core/tools.hpp"
#include "storage/db.hpp"

namespace switchboard::actors {

using core::sb_error;
using nlohmann::json;
using std::chrono::system_clock;

outbound_send make_send(const storage::delivery_row& row) {
  outbound_send s;
  s.delivery_id = row.id;
  s.claim_token = row.claim_token;
  s.channel = row.channel;
  s.provider = row.provider;
  s.recipient = row.recipient;
  s.body = row.body;
  if (row.payload.is_object() && row.payload.contains("template")) {
    s.template_name = row.payload.value("template", std::string{});
    s.template_language = row.payload.value("language", std::string{"en"});
  }
  s.correlation_id = row.correlation_id;
  return s;
}

void dispatch_send(const services& svc, const storage::delivery_row& row) {
  if (row.status != "queued")
    return;
  auto& adapter = adapter_for(svc, row.channel);
  if (!adapter) {
    core::log(core::log_level::warn, "no adapter for channel; the send stays queued",
              {{"channel", row.channel}, {"correlation_id", row.correlation_id}});
    return;
  }
  caf::anon_send(adapter, make_send(row));
}

namespace {

// -- the session actor ---------------------------------------------------------------------------

/// One LLM conversation in progress (an inbound message being answered).
struct conversation {
  storage::accepted_inbound in;
  std::string token;
  std::vector<core::llm_message> messages;
  int round = 0;
};

struct session_state {
  static inline const char* name = "session";
  std::string phone;
  std::string key; ///< router key: the phone number
  std::string masked;
  services_ptr svc;
  session_router_actor router;
  entity_work work;
};

using session_ptr = session_actor::stateful_pointer<session_state>;

void log_flow(session_ptr self, const char* msg, const std::string& correlation_id,
              std::initializer_list<core::log_field> extra = {}) {
  if (!core::log_enabled(core::log_level::info))
    return;
  std::vector<core::log_field> fields{{"phone", self->state.masked},
                                      {"correlation_id", correlation_id}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  core::log(core::log_level::info, msg, fields);
}

// -- tools ---------------------------------------------------------------------------------------

using tool_done = std::function<void(core::expected<json>)>;

/// Executes one tool for this session's phone number (the API and the LLM share it).
void execute_tool(session_ptr self, const std::string& name, json args,
                  const std::string& correlation_id, tool_done done) {
  const auto& svc = *self->state.svc;
  if (auto valid = core::validate_tool_arguments(name, args); !valid) {
    done(valid.error());
    return;
  }
  auto phone = args.at("phone_number").get<std::string>();
  auto now = system_clock::now();
  auto machine = svc.machine;
  auto fail = [done](caf::error& e) { done(e); };
  auto session_tool = [&](std::function<void(core::session_record&)> mutate) {
    db_write<json>(
        self, svc, "tool:" + name,
        [machine, phone, now, mutate](soci::session& sql) {
          return storage::tool_session(sql, machine, phone, now, mutate);
        },
        [done, stats = svc.stats](json& j) {
          if (j.value("status", std::string{}) == "closed")
            stats->session_event("closed");
          done(j);
        },
        fail);
  };
  if (name == "session_get_or_create") {
    session_tool([](core::session_record&) {});
  } else if (name == "session_update_status") {
    auto status = core::parse_session_status(args.at("status").get<std::string>());
    auto next = *status;
    session_tool([machine, next](core::session_record& s) {
      auto r = machine.set_status(s, next);
      if (!r)
        throw storage::domain_error(core::code_of(r.error()), core::reason_of(r.error()));
    });
  } else if (name == "session_add_context") {
    auto patch = args.at("context");
    session_tool([machine, patch](core::session_record& s) {
      auto r = machine.merge_context(s, patch);
      if (!r)
        throw storage::domain_error(core::code_of(r.error()), core::reason_of(r.error()));
    });
  } else if (name == "session_get_context") {
    db_read<json>(
        self, svc, "tool:" + name,
        [phone, now](soci::session& sql) { return storage::tool_get_context(sql, phone, now); },
        [done](json& j) { done(j); }, fail);
  } else if (name == "messaging_send_whatsapp" || name == "messaging_send_sms"
             || name == "messaging_send_dual_channel") {
    std::vector<std::string> channels;
    if (name != "messaging_send_sms")
      channels.push_back("whatsapp");
    if (name != "messaging_send_whatsapp")
      channels.push_back("sms");
    auto text = args.at("message").get<std::string>();
    auto sms_text = args.value("sms_message", std::string{});
    auto policy = svc.policy;
    auto token = core::random_hex(8);
    auto svcp = self->state.svc;
    db_write<std::vector<storage::delivery_row>>(
        self, svc, "tool:" + name,
        [=](soci::session& sql) {
          return storage::tool_send(sql, machine, policy, phone, channels, text, sms_text,
                                    correlation_id, token, now);
        },
        [done, svcp](std::vector<storage::delivery_row>& rows) {
          json out = json::array();
          for (auto& r : rows) {
            dispatch_send(*svcp, r);
            json item{{"delivery_id", r.id}, {"channel", r.channel}, {"status", r.status}};
            if (r.status == "skipped")
              item["reason"] = r.last_error;
            out.push_back(std::move(item));
          }
          done(json{{"deliveries", out}});
        },
        fail);
  } else {
    done(caf::make_error(sb_error::not_found, "unknown tool '" + name + "'"));
  }
}

// -- replies -------------------------------------------------------------------------------------

/// Queues the reply (if this actor still holds the inbound row's claim) and hands it to the
/// adapter of the channel the user wrote from.
void send_reply(session_ptr self, std::shared_ptr<conversation> conv, std::string text,
                std::string type) {
  const auto& svc = *self->state.svc;
  auto policy = svc.policy;
  auto inbound_id = conv->in.inbound.id;
  auto token = conv->token;
  auto now = system_clock::now();
  auto correlation_id = conv->in.inbound.correlation_id;
  db_write<std::optional<storage::delivery_row>>(
      self, svc, "queue_reply",
      [=](soci::session& sql) {
        return storage::queue_reply(sql, policy, inbound_id, token, text, type, now);
      },
      [self, correlation_id](std::optional<storage::delivery_row>& row) {
        if (!row)
          log_flow(self, "reply dropped: another claimant answered", correlation_id);
        else {
          log_flow(self, "reply queued", correlation_id, {{"channel", row->channel}});
          dispatch_send(*self->state.svc, *row);
        }
        finish(self);
      },
      [self, correlation_id](caf::error& e) {
        // The inbound row stays unanswered; the sweeper replays it when its claim expires.
        core::log(core::log_level::warn, "reply not queued",
                  {{"correlation_id", correlation_id}, {"error", core::reason_of(e)}});
        finish(self);
      });
}

void fallback(session_ptr self, std::shared_ptr<conversation> conv, const char* why) {
  log_flow(self, "built-in responder answers", conv->in.inbound.correlation_id, {{"why", why}});
  self->state.svc->stats->count("fallback_replies", why);
  send_reply(self, conv, core::fallback_reply(conv->in.session.context, conv->in.inbound.body),
             "reply");
}

void llm_round(session_ptr self, std::shared_ptr<conversation> conv);

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
    next(json{{"error", core::reason_of(args.error())}});
    return;
  }
  auto a = *args;
  if (!a.contains("phone_number"))
    a["phone_number"] = self->state.phone;
  if (a["phone_number"] != self->state.phone) {
    next(json{{"error", "this conversation may only act on its own phone number"}});
    return;
  }
  self->state.svc->stats->count("tool_calls", call.name);
  execute_tool(self, call.name, a, conv->in.inbound.correlation_id, [next](core::expected<json> r) {
    next(r ? *r : json{{"error", core::reason_of(r.error())}});
  });
}

void llm_round(session_ptr self, std::shared_ptr<conversation> conv) {
  const auto& svc = *self->state.svc;
  core::llm_request req;
  req.model = svc.cfg.llm.model;
  req.messages = conv->messages;
  req.temperature = 0.2;
  bool allow_tools = conv->round < svc.cfg.llm.max_tool_rounds;
  llm_call call{allow_tools ? core::encode_llm_request(req, core::tool_definitions())
                            : core::encode_llm_request(req),
                conv->in.inbound.correlation_id};
  auto deadline = svc.cfg.llm.timeout + std::chrono::seconds{2};
  self->request(svc.llm, deadline, std::move(call))
      .then(
          [self, conv, allow_tools](std::string& body) {
            auto res = core::parse_llm_response(body);
            if (!res) {
              fallback(self, conv, "malformed LLM answer");
              return;
            }
            if (!res->tool_calls.empty() && allow_tools) {
              conv->messages.push_back(core::assistant_tool_calls(res->tool_calls, res->content));
              run_tool_calls(self, conv, res->tool_calls, 0);
              return;
            }
            if (!res->content || res->content->empty()) {
              fallback(self, conv, "empty LLM answer");
              return;
            }
            send_reply(self, conv, *res->content, "reply");
          },
          [self, conv](caf::error& e) {
            fallback(self, conv,
                     core::code_of(e) == sb_error::timeout ? "LLM timeout" : "LLM error");
          });
}

/// Produces the answer to an accepted inbound message.
void answer(session_ptr self, std::shared_ptr<conversation> conv) {
  const auto& svc = *self->state.svc;
  auto& in = conv->in;
  if (in.inbound.message_type != "text") {
    send_reply(self, conv,
               core::unsupported_type_notice(in.inbound.message_type, in.session.context),
               "notice");
    return;
  }
  if (!svc.llm) {
    fallback(self, conv, "no LLM configured");
    return;
  }
  std::string system = svc.followup_prompt;
  system += "\n\nCustomer phone number: " + self->state.phone;
  system += "\nChannel of this conversation: " + in.inbound.channel;
  system += "\nSession:\n" + storage::session_json(in.session, in.profile).dump(2);
  conv->messages.push_back(core::system_message(system));
  for (auto& h : in.history) {
    if (h.id == in.inbound.id)
      continue;
    if (h.direction == "inbound")
      conv->messages.push_back(core::user_message(h.body));
    else {
      core::llm_message m;
      m.role = "assistant";
      m.content = h.body;
      conv->messages.push_back(std::move(m));
    }
  }
  conv->messages.push_back(core::user_message(in.inbound.body));
  llm_round(self, conv);
}

// -- event handlers ------------------------------------------------------------------------------

void on_call_ended(session_ptr self, call_ended_event ev, edge_callback cb) {
  const auto& svc = *self->state.svc;
  storage::call_ended_input in;
  in.summary.call_id = ev.call_id;
  in.summary.summary = ev.summary;
  in.summary.outcome = ev.outcome;
  in.summary.language = ev.language;
  in.summary.customer_name = ev.customer_name;
  in.summary.action_items = ev.action_items;
  in.phone = ev.phone;
  in.transcript = ev.transcript;
  if (ev.has_whatsapp >= 0)
    in.has_whatsapp = ev.has_whatsapp == 1;
  if (ev.allows_sms >= 0)
    in.allows_sms = ev.allows_sms == 1;
  in.correlation_id = ev.correlation_id;
  in.token = core::random_hex(8);
  in.now = system_clock::now();
  auto machine = svc.machine;
  auto policy = svc.policy;
  db_write<storage::accepted_call>(
      self, svc, "call_ended",
      [machine, policy, in](soci::session& sql) {
        return storage::accept_call_ended(sql, machine, policy, in);
      },
      [self, cb, ev](storage::accepted_call& r) {
        auto& svc = *self->state.svc;
        cb(json_reply(202, r.result));
        if (r.duplicate) {
          svc.stats->dedupe_hit("voice");
          log_flow(self, "call-ended webhook repeated; nothing sent again", ev.correlation_id);
        } else {
          if (r.session_created)
            svc.stats->session_event("opened");
          if (r.session_expired)
            svc.stats->session_event("expired");
          log_flow(self, "call ended; summaries queued", ev.correlation_id,
                   {{"sends", std::to_string(r.sends.size())}});
          for (auto& row : r.skipped) {
            svc.stats->count("skipped_sends", row.channel);
            log_flow(self, "summary skipped", ev.correlation_id,
                     {{"channel", row.channel}, {"reason", row.last_error}});
          }
          for (auto& row : r.sends)
            dispatch_send(svc, row);
        }
        finish(self);
      },
      [self, cb](caf::error& e) {
        cb(error_reply(e));
        finish(self);
      });
}

void on_inbound(session_ptr self, inbound_event ev, edge_callback cb) {
  const auto& svc = *self->state.svc;
  storage::inbound_input in;
  in.channel = ev.channel;
  in.provider = ev.provider;
  in.external_id = ev.external_id;
  in.from = ev.from;
  in.type = ev.type;
  in.text = ev.text;
  in.profile_name = ev.profile_name;
  in.correlation_id = ev.correlation_id;
  in.token = core::random_hex(8);
  in.now = system_clock::now();
  auto machine = svc.machine;
  auto policy = svc.policy;
  db_write<storage::accepted_inbound>(
      self, svc, "inbound",
      [machine, policy, in](soci::session& sql) {
        return storage::accept_inbound(sql, machine, policy, in);
      },
      [self, cb, ev, token = in.token](storage::accepted_inbound& r) {
        auto& svc = *self->state.svc;
        if (r.duplicate) {
          svc.stats->dedupe_hit(ev.provider);
          cb(json_reply(200, {{"status", "duplicate"}}));
          finish(self);
          return;
        }
        if (r.session_created)
          svc.stats->session_event("opened");
        if (r.session_expired)
          svc.stats->session_event("expired");
        cb(json_reply(200, {{"status", "accepted"},
                            {"session_id", r.session.id},
                            {"correlation_id", ev.correlation_id}}));
        log_flow(self, "inbound message accepted", ev.correlation_id,
                 {{"channel", ev.channel}, {"body", core::mask_text(ev.text)}});
        auto conv = std::make_shared<conversation>();
        conv->in = std::move(r);
        conv->token = token;
        answer(self, conv);
      },
      [self, cb](caf::error& e) {
        cb(error_reply(e));
        finish(self);
      });
}

void on_replay(session_ptr self, int64_t inbound_id, std::string token) {
  const auto& svc = *self->state.svc;
  db_write<std::optional<storage::accepted_inbound>>(
      self, svc, "replay",
      [inbound_id, token](soci::session& sql) {
        return storage::load_for_replay(sql, inbound_id, token, 12);
      },
      [self, token](std::optional<storage::accepted_inbound>& r) {
        if (!r) {
          finish(self);
          return;
        }
        log_flow(self, "answering a message left unanswered", r->inbound.correlation_id);
        auto conv = std::make_shared<conversation>();
        conv->in = std::move(*r);
        conv->token = token;
        answer(self, conv);
      },
      [self](caf::error&) { finish(self); });
}

void on_tool(session_ptr self, tool_request req, edge_callback cb) {
  json args = json::parse(req.arguments, nullptr, false);
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

session_actor::behavior_type session_fn(session_ptr self, std::string phone, services_ptr svc,
                                        session_router_actor router) {
  auto& st = self->state;
  st.phone = std::move(phone);
  st.key = st.phone;
  st.masked = core::mask_phone(st.phone);
  st.svc = std::move(svc);
  st.router = std::move(router);
  start_idle_checks(self);
  return {
      [=](call_ended_event& ev, edge_callback& cb) {
        enqueue(self, [=] { on_call_ended(self, ev, cb); });
      },
      [=](inbound_event& ev, edge_callback& cb) {
        enqueue(self, [=] { on_inbound(self, ev, cb); });
      },
      [=](tool_request& req, edge_callback& cb) { enqueue(self, [=] { on_tool(self, req, cb); }); },
      [=](replay_atom, const std::string&, int64_t id, std::string& token) {
        enqueue(self, [=] { on_replay(self, id, token); });
      },
      [=](stop_atom) { stop_when_idle(self); },
      [=](tick_atom) { idle_tick(self); },
  };
}

// -- the router ----------------------------------------------------------------------------------

using router_ptr = session_router_actor::stateful_pointer<keyed_router_state<session_actor>>;

session_actor& entity(router_ptr self, const std::string& phone) {
  return route_to(self, phone, [self](const std::string& key) {
    return self->spawn<caf::monitored>(session_fn, key, self->state.svc,
                                       session_router_actor{self});
  });
}

session_router_actor::behavior_type router_fn(router_ptr self, services_ptr svc) {
  self->state.svc = std::move(svc);
  self->state.kind = "session";
  watch_entities(self);
  return {
      [=](call_ended_event& ev, edge_callback& cb) {
        self->send(entity(self, ev.phone), std::move(ev), std::move(cb));
      },
      [=](inbound_event& ev, edge_callback& cb) {
        self->send(entity(self, ev.from), std::move(ev), std::move(cb));
      },
      [=](tool_request& req, edge_callback& cb) {
        self->send(entity(self, req.phone), std::move(req), std::move(cb));
      },
      [=](replay_atom, std::string& phone, int64_t id, std::string& token) {
        self->send(entity(self, phone), replay_atom::value, phone, id, std::move(token));
      },
      [=](idle_atom, const std::string& phone) { passivate(self, phone); },
      [=](count_atom) { return static_cast<uint64_t>(self->state.entities.size()); },
  };
}

} // namespace

session_router_actor spawn_session_router(caf::actor_system& sys, services_ptr svc) {
  return sys.spawn(router_fn, std::move(svc));
}

} // namespace switchboard::actors
