#include <algorithm>
#include <chrono>

#include "actors/common.hpp"
#include "core/bot/bot.hpp"
#include "storage/db.hpp"

namespace switchboard::actors {

using core::sb_error;
using nlohmann::json;

namespace {

/// How long a search waits for the Help Center (a first load fetches every page).
constexpr std::chrono::seconds search_timeout{25};

json conversation_json(const storage::conversation_state& st) {
  const auto& c = st.conversation;
  json j{{"account_id", c.account_id},
         {"conversation_id", c.conversation_id},
         {"status", c.status},
         {"bot_state", c.bot_state},
         {"escalation_reason", c.escalation_reason.empty() ? json{} : json(c.escalation_reason)},
         {"handoff_count", c.handoff_seq},
         {"last_customer_message", c.last_customer_message},
         {"contact_name", c.contact_name},
         {"updated_at", st.updated_at},
         {"notification", nullptr}};
  if (!st.notification_channel.empty())
    j["notification"] = {{"channel", st.notification_channel}, {"status", st.notification_status}};
  return j;
}

json hits_json(const article_set& set, const std::string& query, std::size_t limit) {
  json out = json::array();
  core::bot_settings s;
  for (const auto& h : set.index.query(query, limit)) {
    const auto& a = set.articles[h.doc];
    out.push_back({{"article_id", a.id},
                   {"title", a.title},
                   {"url", a.url},
                   {"relevance", h.relevance},
                   {"excerpt", core::extractive_answer(query, a, h, s).answer}});
  }
  return out;
}

/// One read-only tool call: a short-lived actor that reads, answers `done` once and quits.
caf::behavior read_only_tool(caf::event_based_actor* self, read_only_tool_deps deps,
                             std::string name, json args, edge_callback done) {
  auto fail = [self, done](const caf::error& e) {
    done(error_reply(e));
    self->quit();
  };
  auto account = args.at("account_id").get<int64_t>();
  if (name == "conversation_get_state") {
    auto conv = args.at("conversation_id").get<int64_t>();
    db_read<json>(
        self, deps.storage, "tool_conversation_get_state",
        [account, conv](soci::session& sql) {
          auto st = storage::find_conversation(sql, account, conv);
          if (!st)
            throw storage::domain_error(sb_error::not_found,
                                        "the bot has not seen conversation " + std::to_string(conv)
                                            + " of account " + std::to_string(account));
          return conversation_json(*st);
        },
        [self, done](json& j) {
          done(json_reply(200, {{"result", j}}));
          self->quit();
        },
        fail);
  } else if (name == "help_center_search") {
    auto query = args.at("query").get<std::string>();
    auto limit = static_cast<std::size_t>(args.value("limit", int64_t{3}));
    db_read<std::optional<storage::provider_route>>(
        self, deps.storage, "tool_help_center_route",
        [account](soci::session& sql) { return storage::provider_for_account(sql, account); },
        [self, deps, account, query, limit, done, fail](std::optional<storage::provider_route>& r) {
          if (!r || r->portal_slug.empty()) {
            fail(caf::make_error(sb_error::not_found,
                                 "no provider with a Help Center portal owns Chatwoot account "
                                     + std::to_string(account)));
            return;
          }
          json portal{{"account_id", account}, {"portal", r->portal_slug}};
          self->request(deps.articles, search_timeout, get_atom::value, account, r->portal_slug)
              .then(
                  [self, query, limit, portal, done](article_set_ptr& set) mutable {
                    portal["articles"] = hits_json(*set, query, limit);
                    done(json_reply(200, {{"result", portal}}));
                    self->quit();
                  },
                  [fail](caf::error& e) { fail(e); });
        },
        fail);
  } else {
    fail(caf::make_error(sb_error::not_found, "unknown tool '" + name + "'"));
  }
  return {[](resume_atom, deferred_step& step) { step(); }};
}

} // namespace

void run_read_only_tool(caf::actor_system& sys, read_only_tool_deps deps, std::string name,
                        json args, edge_callback done) {
  sys.spawn(read_only_tool, std::move(deps), std::move(name), std::move(args), std::move(done));
}

} // namespace switchboard::actors
