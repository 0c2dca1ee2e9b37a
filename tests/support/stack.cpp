#include "tests/support/stack.hpp"

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "core/crypto.hpp"
#include "providers/mtn/signature.hpp"
#include "tests/support/fixtures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <soci/soci.h>

namespace switchboard::test {

namespace {

const char* secret_names[] = {
    "SWITCHBOARD_VOICE_TOKEN",
    "SWITCHBOARD_API_TOKEN",
    "SWITCHBOARD_WHATSAPP_ACCESS_TOKEN",
    "SWITCHBOARD_WHATSAPP_APP_SECRET",
    "SWITCHBOARD_WHATSAPP_VERIFY_TOKEN",
    "SWITCHBOARD_SMS_MTN_CLIENT_SECRET",
    "SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET",
    "SWITCHBOARD_SMS_TWILIO_AUTH_TOKEN",
    "SWITCHBOARD_LLM_API_KEY",
    "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET",
    "SWITCHBOARD_CHATWOOT_BOT_TOKEN",
    "SWITCHBOARD_CHATWOOT_USER_TOKEN",
    "SWITCHBOARD_CHATWOOT_WEBHOOK_SECRET",
};

} // namespace

uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return pred();
}

stack::stack(stack_options opts) : opts_(std::move(opts)) {
  for (auto name : secret_names)
    env_[name] = "test-" + core::random_hex(12);
  env_["SWITCHBOARD_TELEGRAM_BOT_TOKEN"] = "123456:" + core::random_hex(12);
  env_["SWITCHBOARD_DATABASE_DSN"] = db_.dsn();
  // The port is chosen up front so that the public URL (which Twilio signatures cover) is known.
  choose_server_port();
  env_["SWITCHBOARD_SMS_PROVIDER"] = opts_.sms_provider;
  // The admin listener on a free port of its own; tests and benches also read /metrics from the
  // public port (tests/e2e/admin_e2etest.cpp checks the defaults), and stop without the grace.
  env_["SWITCHBOARD_ADMIN_PORT"] = "0";
  env_["SWITCHBOARD_ADMIN_TOKEN"] = "admin-" + core::random_hex(12);
  env_["SWITCHBOARD_ADMIN_METRICS_ON_PUBLIC_PORT"] = "true";
  env_["SWITCHBOARD_SERVER_SHUTDOWN_GRACE_MS"] = "0";
  env_["SWITCHBOARD_DATABASE_POOL_SIZE"] = "2";
  env_["SWITCHBOARD_STORAGE_INGEST_WORKERS"] = "1";
  env_["SWITCHBOARD_DATABASE_RECONNECT_BACKOFF_MS"] = "100";
  env_["SWITCHBOARD_RETRY_BASE_MS"] = "50";
  env_["SWITCHBOARD_RETRY_MAX_DELAY_MS"] = "200";
  env_["SWITCHBOARD_RETRY_HORIZON_S"] = "3";
  // Outbox retries and breakers in seconds, not hours (the sweeper hands out due rows every 1 s).
  env_["SWITCHBOARD_RETRY_SCHEDULE_MS"] = "[200, 500, 1000]";
  env_["SWITCHBOARD_CIRCUIT_COOLDOWN_MS"] = "1000";
  env_["SWITCHBOARD_CIRCUIT_MAX_COOLDOWN_MS"] = "2000";
  env_["SWITCHBOARD_LOG_LEVEL"] = "debug";
  if (opts_.with_sim) {
    process_options so;
    so.program = binary_path("sim/switchboard-sim");
    so.args = {"--listen", "127.0.0.1:0", "--smtp-listen", "127.0.0.1:0"};
    for (auto& [k, v] : env_)
      so.env.emplace_back(k, v);
    so.env.emplace_back("SWITCHBOARD_SMS_MTN_CLIENT_ID", "switchboard-demo");
    so.env.emplace_back("SWITCHBOARD_SMS_TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001");
    so.capture_stderr = true;
    sim_ = std::make_unique<child_process>(so);
    sim_port_ = sim_->ready().at("http_port").get<uint16_t>();
    smtp_port_ = sim_->ready().at("smtp_port").get<uint16_t>();
    auto base = "http://127.0.0.1:" + std::to_string(sim_port_);
    for (auto key : {"WHATSAPP", "SMS_MTN", "SMS_TWILIO", "LLM", "TELEGRAM", "CHATWOOT"})
      env_[std::string{"SWITCHBOARD_"} + key + "_BASE_URL"] = base;
    env_["SWITCHBOARD_SMTP_URL"] = "smtp://127.0.0.1:" + std::to_string(smtp_port_);
  } else {
    // Nothing to talk to: the providers point at a closed port.
    for (auto key : {"WHATSAPP", "SMS_MTN", "SMS_TWILIO", "LLM", "TELEGRAM", "CHATWOOT"})
      env_[std::string{"SWITCHBOARD_"} + key + "_BASE_URL"] = "http://127.0.0.1:9";
  }
  for (auto& [k, v] : opts_.env)
    env_[k] = v;
  start_server();
}

stack::~stack() {
  // SB_E2E_LOGS=1 prints what the server and the simulator logged (for debugging a failure).
  if (auto v = std::getenv("SB_E2E_LOGS"); v && std::string{v} == "1") {
    if (server_)
      std::cerr << "---- server log\n" << server_->stderr_output();
    if (sim_)
      std::cerr << "---- simulator log\n" << sim_->stderr_output();
  }
  server_.reset();
  sim_.reset();
}

void stack::choose_server_port() {
  auto port = std::to_string(free_port());
  env_["SWITCHBOARD_SERVER_PORT"] = port;
  env_["SWITCHBOARD_SERVER_PUBLIC_URL"] = "http://127.0.0.1:" + port;
}

void stack::start_server() {
  process_options po;
  po.program = binary_path("app/switchboard");
  po.args = {"serve"};
  po.working_dir = SB_SOURCE_DIR;
  po.capture_stderr = opts_.capture_server_stderr;
  po.ready_timeout = std::chrono::milliseconds{30000};
  // The port was free when chosen, but between then and the server's bind another socket can
  // take it (the simulator's listeners, an outgoing connection's ephemeral port): then the
  // server exits with "Address already in use" and is started again on another free port.
  for (int attempt = 1;; ++attempt) {
    po.env.assign(env_.begin(), env_.end());
    try {
      server_ = std::make_unique<child_process>(po);
      break;
    } catch (const std::runtime_error& e) {
      if (attempt == 3
          || std::string_view{e.what()}.find("Address already in use") == std::string_view::npos)
        throw;
      choose_server_port();
    }
  }
  port_ = server_->ready().at("port").get<uint16_t>();
  admin_port_ = server_->ready().value("admin_port", uint16_t{0});
  if (sim_) {
    auto base = "http://127.0.0.1:" + std::to_string(port_);
    auto res
        = http_post_json(sim_url("/_sim/config"), {{"server_url", base}, {"public_url", base}});
    if (res.status != 200)
      throw std::runtime_error("simulator refused its config: " + res.body);
  }
}

std::unique_ptr<child_process>
stack::start_node(const std::vector<std::pair<std::string, std::string>>& extra) const {
  process_options po;
  po.program = binary_path("app/switchboard");
  po.args = {"serve"};
  po.working_dir = SB_SOURCE_DIR;
  auto env = env_;
  env["SWITCHBOARD_SERVER_PORT"] = "0";
  for (auto& [k, v] : extra)
    env[k] = v;
  for (auto& [k, v] : env)
    po.env.emplace_back(k, v);
  po.capture_stderr = opts_.capture_server_stderr;
  po.ready_timeout = std::chrono::milliseconds{30000};
  return std::make_unique<child_process>(po);
}

int stack::stop_server() {
  return server_->stop();
}

void stack::restart_server() {
  server_.reset();
  start_server();
}

std::string stack::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string stack::admin_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(admin_port_) + path;
}

std::string stack::sim_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(sim_port_) + path;
}

std::string stack::env(const std::string& name) const {
  auto it = env_.find(name);
  return it == env_.end() ? std::string{} : it->second;
}

nlohmann::json stack::sim_requests(const std::string& service, long since) const {
  auto res
      = http_get(sim_url("/_sim/requests?service=" + service + "&since=" + std::to_string(since)));
  if (res.status != 200)
    throw std::runtime_error("simulator did not list requests: " + std::to_string(res.status));
  return res.json();
}

nlohmann::json sim_sent(const stack& s, const std::string& service, const std::string& part) {
  auto out = nlohmann::json::array();
  auto all = s.sim_requests(service); // kept: the loop walks into it
  for (auto& r : all["requests"])
    if (r["path"].get<std::string>().find(part) != std::string::npos)
      out.push_back(r);
  return out;
}

long long count(const stack& s, const std::string& query) {
  auto sql = s.db().connect();
  long long n = -1;
  soci::indicator ind = soci::i_ok;
  *sql << query, soci::into(n, ind);
  return ind == soci::i_null ? -1 : n;
}

void configure_bot_provider(const stack& s, long long account, const std::string& portal,
                            const std::string& via, long long telegram_chat) {
  auto sql = s.db().connect();
  *sql << "INSERT INTO providers (name) VALUES ('Acme Repairs')";
  long long id = 0;
  *sql << "SELECT id FROM providers WHERE name = 'Acme Repairs'", soci::into(id);
  std::string slug = portal, channel = via; // SOCI runs the statement after the full expression
  *sql << "INSERT INTO provider_notification_config (provider_id, chatwoot_account_id, "
          "chatwoot_portal_slug, notify_via, telegram_chat_id, notify_phone, notify_email) "
          "VALUES (:id, :a, :p, :v, :chat, '+250788000999', 'desk@acme.example')",
      soci::use(id), soci::use(account), soci::use(slug), soci::use(channel),
      soci::use(telegram_chat);
}

http_result mtn_inbound(const stack& s, const std::string& id, const std::string& from,
                        const std::string& text) {
  return mtn_inbound(s.port(), s, id, from, text);
}

http_result mtn_inbound(uint16_t port, const stack& s, const std::string& id,
                        const std::string& from, const std::string& text) {
  nlohmann::json body{{"from", from}, {"to", "SWITCHBRD"}, {"message", text}, {"id", id}};
  auto raw = body.dump();
  return http_post("http://127.0.0.1:" + std::to_string(port) + "/webhooks/sms/mtn", raw,
                   "application/json",
                   {{"X-MTN-Signature",
                     providers::mtn_signature(s.env("SWITCHBOARD_SMS_MTN_WEBHOOK_SECRET"), raw)}});
}

nlohmann::json sim_control(const stack& s, const std::string& path, const nlohmann::json& body) {
  auto r = http_post_json(s.sim_url(path), body);
  if (r.status >= 300)
    throw std::runtime_error("simulator control " + path + ": HTTP " + std::to_string(r.status)
                             + " " + r.body);
  return r.json();
}

void load_help_center(const stack& s, const std::string& portal) {
  auto payload = nlohmann::json::parse(read_file(std::string{SB_SOURCE_DIR}
                                                 + "/tests/fixtures/articles/"
                                                   "help_center_articles.json"))["payload"];
  auto articles = nlohmann::json::array();
  for (auto& a : payload) {
    // Chatwoot's enum: draft 0, published 1, archived 2 (the corpus has both forms).
    auto status = a["status"].is_number()
                      ? std::vector<std::string>{"draft", "published", "archived"}.at(
                          a["status"].get<int>())
                      : a["status"].get<std::string>();
    articles.push_back({{"id", a["id"]},
                        {"title", a["title"]},
                        {"content", a["content"]},
                        {"description", a.value("description", "")},
                        {"status", status},
                        {"slug", a.value("slug", "")}});
  }
  auto r = http_post_json(s.sim_url("/_sim/chatwoot/articles"),
                          {{"portal", portal}, {"articles", articles}, {"replace", true}});
  if (r.status >= 300)
    throw std::runtime_error("loading the Help Center into the simulator: HTTP "
                             + std::to_string(r.status) + " " + r.body);
}

} // namespace switchboard::test
