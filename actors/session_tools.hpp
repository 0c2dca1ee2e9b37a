#pragma once
// The seven session/messaging tools run for one session's phone number, shared by the LLM's
// tool calls and /api/v1/tools (and /mcp). Included only by actors/session.cpp: a template over
// the session actor, whose state has `deps` (session_deps) and `key`.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "actors/common.hpp"
#include "core/crypto.hpp"
#include "core/omni/tools.hpp"
#include "core/phone.hpp"
#include "storage/db.hpp"
#include "storage/flows.hpp"

namespace switchboard::actors {

using tool_done = std::function<void(core::expected<nlohmann::json>)>;

/// Executes one tool for the phone number of the session `self` (the API and the LLM share it):
/// one storage job (a transaction) per call; sends are handed to their adapters after it.
template <class Self>
void execute_tool(Self* self, const std::string& name, nlohmann::json args,
                  const std::string& correlation_id, tool_done done) {
  using nlohmann::json;
  using std::chrono::system_clock;
  const auto& d = *self->state.deps;
  // A WhatsApp user known by a business-scoped user id has no number: this session's own key
  // stands for it (the schema's E.164 pattern is checked on a placeholder).
  auto checked = args;
  if (core::parse_whatsapp_user_key(self->state.key) && args.is_object()
      && args.value("phone_number", std::string{}) == self->state.key)
    checked["phone_number"] = "+10000000000";
  if (auto valid = core::validate_tool_arguments(name, checked); !valid) {
    done(valid.error());
    return;
  }
  auto phone = args.at("phone_number").get<std::string>();
  auto now = system_clock::now();
  auto machine = d.machine;
  auto fail = [done](caf::error& e) { done(e); };
  auto session_tool = [&](std::function<void(core::session_record&)> mutate) {
    db_write<json>(
        self, d.storage, "tool:" + name,
        [machine, phone, now, mutate](soci::session& sql) {
          return storage::tool_session(sql, machine, phone, now, mutate);
        },
        [done, stats = d.routing.stats](json& j) {
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
        self, d.storage, "tool:" + name,
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
    auto policy = d.policy;
    auto token = core::random_hex(8);
    auto deps = self->state.deps;
    db_write<std::vector<storage::delivery_row>>(
        self, d.storage, "tool:" + name,
        [=](soci::session& sql) {
          return storage::tool_send(sql, machine, policy, phone, channels, text, sms_text,
                                    correlation_id, token, now);
        },
        [done, deps](std::vector<storage::delivery_row>& rows) {
          json out = json::array();
          for (auto& r : rows) {
            dispatch_send(deps->channels, r);
            json item{{"delivery_id", r.id}, {"channel", r.channel}, {"status", r.status}};
            if (r.status == "skipped")
              item["reason"] = r.last_error;
            out.push_back(std::move(item));
          }
          done(json{{"deliveries", out}});
        },
        fail);
  } else {
    done(caf::make_error(core::sb_error::not_found, "unknown tool '" + name + "'"));
  }
}

} // namespace switchboard::actors
