// The simulated Chatwoot application API (/api/v1/accounts/{id}/...): agent-bot and user
// tokens, conversations, messages, help-centre articles, and the signed webhooks of
// /_sim/chatwoot/.

#include "sim/provider.hpp"

#include <algorithm>
#include <cctype>

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "providers/chatwoot/signature.hpp"

namespace switchboard::sim {

namespace {

constexpr const char* chatwoot_webhook_path = "/webhooks/chatwoot";

json chatwoot_agent_bot() {
  return {{"id", 1}, {"name", "Switchboard Bot"}, {"avatar_url", ""}, {"type", "agent_bot"}};
}

json& chatwoot_conversation(provider_state& st, int64_t account, int64_t id) {
  auto key = std::to_string(account) + "/" + std::to_string(id);
  auto it = st.chatwoot_conversations.find(key);
  if (it == st.chatwoot_conversations.end())
    it = st.chatwoot_conversations
             .emplace(key, json{{"account_id", account},
                                {"id", id},
                                {"inbox_id", 1},
                                {"status", "open"},
                                {"messages", json::array()}})
             .first;
  return it->second;
}

/// Chatwoot's BOT_ACCESSIBLE_ENDPOINTS (app/controllers/concerns/access_token_auth_helper.rb):
/// conversations create, update, toggle_status, toggle_priority, custom_attributes; messages
/// create; assignments create. An agent-bot token calling anything else gets 401.
bool chatwoot_bot_accessible(const std::vector<std::string>& seg, const std::string& method) {
  // api / v1 / accounts / {account_id} / conversations [/ {id} [/ action]]
  if (seg.size() < 5 || seg[4] != "conversations")
    return false;
  if (seg.size() == 5)
    return method == "POST";
  if (seg.size() == 6)
    return method == "PATCH" || method == "PUT";
  static const std::set<std::string> actions{"messages", "assignments", "toggle_status",
                                             "toggle_priority", "custom_attributes"};
  return seg.size() == 7 && method == "POST" && actions.count(seg[6]) > 0;
}

/// Whose token a request presents: a user's, an agent bot's, or none the simulator knows. An
/// unconfigured token accepts any value (the user's first: an unconfigured simulator is open).
enum class chatwoot_owner { none, user, bot };

chatwoot_owner chatwoot_token_owner(const credentials& creds, std::string_view token) {
  if (token.empty())
    return chatwoot_owner::none;
  auto is = [&](const std::string& configured) {
    return !configured.empty() && core::constant_time_equal(configured, token);
  };
  if (is(creds.chatwoot_user_token))
    return chatwoot_owner::user;
  if (is(creds.chatwoot_bot_token))
    return chatwoot_owner::bot;
  if (creds.chatwoot_user_token.empty())
    return chatwoot_owner::user;
  if (creds.chatwoot_bot_token.empty())
    return chatwoot_owner::bot;
  return chatwoot_owner::none;
}

json chatwoot_contact(const json& p, int64_t account) {
  auto phone = text_of(p, "phone_number");
  auto email = text_of(p, "email");
  return {{"account", {{"id", account}, {"name", "Sim Account"}}},
          {"additional_attributes", json::object()},
          {"avatar", ""},
          {"custom_attributes", json::object()},
          {"email", email.empty() ? json(nullptr) : json(email)},
          {"id", p.value("contact_id", 1)},
          {"identifier", nullptr},
          {"name", p.value("sender_name", std::string{"Sim Customer"})},
          {"phone_number", phone.empty() ? json(nullptr) : json(phone)},
          {"thumbnail", ""},
          {"blocked", false},
          {"type", "contact"}};
}

/// Conversation webhook data in Chatwoot v4's shape (Conversations::EventDataPresenter).
json chatwoot_conversation_data(const json& p, int64_t account, int64_t conv_id,
                                const std::string& status, const json& messages) {
  auto inbox = p.value("inbox_id", 1);
  auto now = now_unix();
  auto iso = now_iso8601();
  return {{"additional_attributes", json::object()},
          {"can_reply", true},
          {"channel", p.value("channel", std::string{"Channel::Api"})},
          {"contact_inbox",
           {{"id", p.value("contact_id", 1)},
            {"contact_id", p.value("contact_id", 1)},
            {"inbox_id", inbox},
            {"source_id", p.value("source_id", std::string{"sim-" + std::to_string(conv_id)})},
            {"created_at", iso},
            {"updated_at", iso},
            {"hmac_verified", false},
            {"pubsub_token", core::random_hex(12)}}},
          {"id", conv_id},
          {"inbox_id", inbox},
          {"messages", messages},
          {"labels", json::array()},
          {"meta",
           {{"sender", chatwoot_contact(p, account)},
            {"assignee", nullptr},
            {"team", nullptr},
            {"hmac_verified", false}}},
          {"status", status},
          {"custom_attributes", json::object()},
          {"snoozed_until", nullptr},
          {"unread_count", 1},
          {"first_reply_created_at", nullptr},
          {"priority", nullptr},
          {"waiting_since", now},
          {"agent_last_seen_at", 0},
          {"contact_last_seen_at", 0},
          {"last_activity_at", now},
          {"timestamp", now},
          {"created_at", now},
          {"updated_at", static_cast<double>(now)}};
}

/// A webhook body built from a few parameters, in Chatwoot v4's shape.
std::optional<json> chatwoot_event_payload(sim_core& sim, const json& p, std::string& error) {
  auto event = p.value("event", std::string{"message_created"});
  auto account = p.value("account_id", int64_t{1});
  auto conv_id = p.value("conversation_id", int64_t{1});
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto& conv = chatwoot_conversation(sim.state, account, conv_id);
  if (p.contains("inbox_id"))
    conv["inbox_id"] = p["inbox_id"];
  auto previous = conv["status"].get<std::string>();
  if (p.contains("status"))
    conv["status"] = text_of(p, "status");
  auto status = conv["status"].get<std::string>();
  if (event == "message_created" || event == "message_updated") {
    auto type = p.value("message_type", std::string{"incoming"});
    auto id = p.value("message_id", sim.state.chatwoot_next_message_id++);
    auto content = p.value("content", std::string{"Hello"});
    auto now = now_unix();
    bool incoming = type == "incoming";
    json sender = incoming ? chatwoot_contact(p, account)
                           : json{{"id", 1},
                                  {"name", "Sim Agent"},
                                  {"email", "agent@example.com"},
                                  {"type", "user"}};
    json push = {{"id", id},
                 {"content", content},
                 {"account_id", account},
                 {"inbox_id", conv["inbox_id"]},
                 {"conversation_id", conv_id},
                 {"message_type", incoming             ? 0
                                  : type == "outgoing" ? 1
                                                       : 2},
                 {"created_at", now},
                 {"updated_at", now_iso8601()},
                 {"private", p.value("private", false)},
                 {"status", "sent"},
                 {"source_id", nullptr},
                 {"content_type", "text"},
                 {"content_attributes", json::object()},
                 {"sender_type", incoming ? "Contact" : "User"},
                 {"sender_id", incoming ? p.value("contact_id", 1) : 1},
                 {"external_source_ids", json::object()},
                 {"additional_attributes", json::object()},
                 {"processed_message_content", content},
                 {"sentiment", json::object()}};
    conv["messages"].push_back(push);
    return json{{"account", {{"id", account}, {"name", "Sim Account"}}},
                {"additional_attributes", json::object()},
                {"content_attributes", p.value("content_attributes", json::object())},
                {"content_type", "text"},
                {"content", content},
                {"conversation",
                 chatwoot_conversation_data(p, account, conv_id, status, json::array({push}))},
                {"created_at", now_iso8601()},
                {"id", id},
                {"inbox", {{"id", conv["inbox_id"]}, {"name", "Sim Inbox"}}},
                {"message_type", type},
                {"private", p.value("private", false)},
                {"sender", std::move(sender)},
                {"source_id", nullptr},
                {"event", event}};
  }
  if (event == "conversation_created" || event == "conversation_updated"
      || event == "conversation_status_changed" || event == "conversation_opened"
      || event == "conversation_resolved") {
    auto data = chatwoot_conversation_data(p, account, conv_id, status, json::array());
    data["event"] = event;
    if (event != "conversation_created")
      data["changed_attributes"]
          = json::array({{{"status",
                           {{"current_value", status},
                            {"previous_value", p.value("previous_status", previous)}}}}});
    return data;
  }
  error = "cannot build event '" + event + "'; give the body";
  return std::nullopt;
}

void control_chatwoot_articles(sim_core& sim, const json& body, http::responder& respond) {
  auto portal = body.value("portal", std::string{"help"});
  if (!body.contains("articles") || !body["articles"].is_array())
    return bad_request(respond, "\"articles\" must be an array");
  std::lock_guard<std::mutex> guard{sim.mtx};
  auto& st = sim.state;
  auto& list = st.chatwoot_articles[portal];
  if (body.value("replace", true))
    list.clear();
  json ids = json::array();
  for (auto& a : body["articles"]) {
    if (!a.is_object())
      return bad_request(respond, "each article must be an object");
    auto title = text_of(a, "title");
    auto content = text_of(a, "content");
    auto id = a.contains("id") ? a["id"].get<int64_t>() : st.chatwoot_next_article_id++;
    st.chatwoot_next_article_id = std::max(st.chatwoot_next_article_id, id + 1);
    std::string slug = text_of(a, "slug");
    if (slug.empty()) {
      slug = std::to_string(id) + "-";
      for (char c : lower(title))
        slug += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
    }
    auto description = a.contains("description")
                           ? text_of(a, "description")
                           : content.substr(0, std::min<std::size_t>(content.size(), 120));
    json art = {{"id", id},
                {"slug", slug},
                {"title", title},
                {"content", content},
                {"description", description},
                {"status", a.value("status", std::string{"published"})},
                {"position", a.value("position", static_cast<int64_t>(list.size() + 1))},
                {"account_id", 1},
                {"updated_at", now_unix()},
                {"meta", a.value("meta", json::object())},
                {"locale", a.value("locale", std::string{"en"})},
                {"category",
                 {{"id", a.value("category_id", 1)},
                  {"name", a.value("category", std::string{"General"})},
                  {"slug", "general"},
                  {"locale", a.value("locale", std::string{"en"})}}},
                {"portal", {{"id", 1}, {"slug", portal}, {"name", portal}}},
                {"views", 0},
                {"author", {{"id", 1}, {"name", "Sim Agent"}, {"available_name", "Sim Agent"}}},
                {"associated_articles", json::array()}};
    ids.push_back(id);
    list.push_back(std::move(art));
  }
  respond(
      json_response(200, {{"portal", portal}, {"ids", std::move(ids)}, {"count", list.size()}}));
}

void control_chatwoot_webhook(sim_core& sim, const json& body, http::responder& respond) {
  const auto& creds = sim.opts().creds;
  std::string raw;
  if (body.contains("body")) {
    raw = body["body"].is_string() ? body["body"].get<std::string>() : to_text(body["body"]);
  } else {
    std::string error;
    auto payload = chatwoot_event_payload(sim, body, error);
    if (!payload)
      return bad_request(respond, error);
    raw = to_text(*payload);
  }
  outbound o;
  o.service = "chatwoot";
  o.kind = body.value("event", std::string{"webhook"});
  o.url = target_url(sim, body, chatwoot_webhook_path);
  o.body = raw;
  o.timeout = timeout_of(body);
  o.headers.emplace_back("Content-Type", "application/json");
  auto secret = secret_of(body, creds.chatwoot_webhook_secret);
  if (!secret.empty() && body.value("sign", true)) {
    auto ts = body.contains("timestamp") ? text_of(body, "timestamp") : std::to_string(now_unix());
    o.headers.emplace_back("X-Chatwoot-Timestamp", ts);
    o.headers.emplace_back("X-Chatwoot-Signature", providers::chatwoot_signature(secret, ts, raw));
    o.headers.emplace_back("X-Chatwoot-Delivery", uuid4());
  }
  deliver_and_answer(sim, {std::move(o)}, body, respond);
}

} // namespace

handled chatwoot_call(sim_core& sim, const http::request& req) {
  handled h;
  auto token = req.headers.get("api_access_token");
  if (token.empty())
    token = req.headers.get("api-access-token");
  auto owner = chatwoot_token_owner(sim.opts().creds, token);
  if (owner == chatwoot_owner::none) {
    h.res = reply(401, {{"error", "Invalid Access Token"}});
    return h;
  }
  auto seg = split_path(req.path);
  if (owner == chatwoot_owner::bot && !chatwoot_bot_accessible(seg, req.method)) {
    h.res = reply(401, {{"error", "Access to this endpoint is not authorized for bots"}});
    return h;
  }
  auto fail = [&](int status, std::string error) {
    h.res = reply(status, {{"error", std::move(error)}});
    return h;
  };
  auto not_found = [&] { return fail(404, "Resource could not be found"); };
  // api / v1 / accounts / {account_id} / ...
  if (seg.size() < 5 || !all_digits(seg[3]) || seg[3].size() > 15)
    return not_found();
  auto account = std::stoll(seg[3]);
  if (seg.size() == 7 && seg[4] == "conversations" && all_digits(seg[5]) && seg[5].size() < 16) {
    auto conv_id = std::stoll(seg[5]);
    auto body = parse_json(req.body);
    if (seg[6] == "messages" && req.method == "POST") {
      if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
        return fail(422, "content can't be blank");
      auto type = body.value("message_type", std::string{"outgoing"});
      if (type != "outgoing" && type != "incoming")
        return fail(422, "'" + type + "' is not a valid message_type");
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& conv = chatwoot_conversation(sim.state, account, conv_id);
      json msg = {{"id", sim.state.chatwoot_next_message_id++},
                  {"content", body["content"]},
                  {"inbox_id", conv["inbox_id"]},
                  {"conversation_id", conv_id},
                  {"message_type", type == "outgoing" ? 1 : 0},
                  {"content_type", body.value("content_type", std::string{"text"})},
                  {"status", "sent"},
                  {"content_attributes", body.value("content_attributes", json::object())},
                  {"created_at", now_unix()},
                  {"private", body.value("private", false)},
                  {"source_id", nullptr},
                  {"sender", chatwoot_agent_bot()}};
      conv["messages"].push_back(msg);
      h.res = reply(200, msg);
      return h;
    }
    if (seg[6] == "messages" && req.method == "GET") {
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& conv = chatwoot_conversation(sim.state, account, conv_id);
      h.res = reply(
          200, {{"meta", {{"labels", json::array()}, {"additional_attributes", json::object()}}},
                {"payload", conv["messages"]}});
      return h;
    }
    if (seg[6] == "toggle_status" && req.method == "POST") {
      static const std::set<std::string> statuses{"open", "resolved", "pending", "snoozed"};
      std::lock_guard<std::mutex> guard{sim.mtx};
      auto& conv = chatwoot_conversation(sim.state, account, conv_id);
      auto current = conv["status"].get<std::string>();
      std::string next;
      if (body.is_object() && body.contains("status"))
        next = text_of(body, "status");
      else
        next = current == "open" ? "resolved" : "open";
      if (!statuses.count(next))
        return fail(422, "'" + next + "' is not a valid status");
      conv["status"] = next;
      h.res = reply(
          200, {{"meta", json::object()},
                {"payload",
                 {{"success", true}, {"current_status", next}, {"conversation_id", conv_id}}}});
      return h;
    }
    return not_found();
  }
  if (seg.size() == 7 && seg[4] == "portals" && seg[6] == "articles" && req.method == "GET") {
    auto q = core::parse_form(req.query);
    auto query = lower(core::form_value(q, "query"));
    auto status = std::string{core::form_value(q, "status")};
    auto locale = std::string{core::form_value(q, "locale")};
    auto page_text = std::string{core::form_value(q, "page")};
    int64_t page = all_digits(page_text) && page_text.size() < 9 ? std::stoll(page_text) : 1;
    page = std::max<int64_t>(page, 1);
    std::lock_guard<std::mutex> guard{sim.mtx};
    auto it = sim.state.chatwoot_articles.find(seg[5]);
    if (it == sim.state.chatwoot_articles.end())
      return not_found();
    json payload = json::array();
    std::size_t matched = 0, published = 0, draft = 0, archived = 0;
    for (auto& a : it->second) {
      auto st = a.value("status", std::string{"published"});
      published += st == "published";
      draft += st == "draft";
      archived += st == "archived";
      if (!status.empty() && st != status)
        continue;
      if (!locale.empty() && a.value("locale", std::string{"en"}) != locale)
        continue;
      if (!query.empty() && lower(a.value("title", std::string{})).find(query) == std::string::npos
          && lower(a.value("content", std::string{})).find(query) == std::string::npos)
        continue;
      ++matched;
      if (matched > static_cast<std::size_t>((page - 1) * 25)
          && matched <= static_cast<std::size_t>(page * 25)) {
        auto out = a;
        out["account_id"] = account;
        payload.push_back(std::move(out));
      }
    }
    h.res = reply(200, {{"payload", std::move(payload)},
                        {"meta",
                         {{"current_page", page},
                          {"articles_count", matched},
                          {"all_articles_count", it->second.size()},
                          {"archived_articles_count", archived},
                          {"published_count", published},
                          {"draft_articles_count", draft},
                          {"mine_articles_count", 0}}}});
    return h;
  }
  return not_found();
}

json chatwoot_error_body(int status) {
  return {{"error", status == 429 ? "Too many requests" : "Internal server error"}};
}

std::vector<control_route> chatwoot_control_routes() {
  return {
      {"GET", "/_sim/chatwoot/conversations",
       [](sim_core& sim, const http::request&, http::responder& respond) {
         json out = json::array();
         std::lock_guard<std::mutex> guard{sim.mtx};
         for (auto& [k, c] : sim.state.chatwoot_conversations)
           out.push_back(c);
         respond(json_response(200, {{"conversations", std::move(out)}}));
       }},
      post_json("/_sim/chatwoot/articles", control_chatwoot_articles),
      post_json("/_sim/chatwoot/webhook", control_chatwoot_webhook),
  };
}

} // namespace switchboard::sim
