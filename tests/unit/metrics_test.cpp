#include "actors/metrics.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using switchboard::actors::metrics;

namespace {

/// The value of the first sample line starting with `series` (name and labels), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

} // namespace

TEST_CASE("/metrics: every family has HELP text, and the build and process are described",
          "[metrics]") {
  metrics m;
  m.set_build("1.2.3", "abc1234");
  m.count("tool_calls", "session_update_context");
  m.count("some_new_event", "x");
  auto text = m.render();
  INFO(text.substr(0, 4000));

  std::map<std::string, std::string> help;
  std::set<std::string> types;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      help[rest.substr(0, sp)] = sp == std::string::npos ? "" : rest.substr(sp + 1);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      types.insert(rest.substr(0, rest.find(' ')));
    }
  }
  REQUIRE(types.size() > 20);
  for (const auto& family : types) {
    INFO(family);
    CHECK(help.count(family) == 1);
    CHECK(help[family].size() >= 10); // a sentence, not the bare name
    CHECK(help[family] != family);
  }

  CHECK(sample(text, R"(switchboard_build_info{commit="abc1234",version="1.2.3"})") == 1);
  CHECK(text.find(R"(commit="unknown")") == std::string::npos);
  CHECK(sample(text, "process_cpu_seconds_total") >= 0);
  CHECK(sample(text, "process_resident_memory_bytes") > 1e6);
  CHECK(sample(text, "process_open_fds") >= 3);
  CHECK(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
  CHECK(sample(text, "process_threads") >= 1);
  CHECK(sample(text, "process_start_time_seconds") > 1.7e9); // after 2023

  // Counters are there at 0 before their first event, under a label that says what it holds.
  CHECK(sample(text, R"(switchboard_typing_indicators_total{result="sent"})") == 0);
  CHECK(sample(text, R"(switchboard_whatsapp_user_backoffs_total{origin="send"})") == 0);
  CHECK(sample(text, R"(switchboard_bot_answers_total{result="no_sources"})") == 0);
  CHECK(sample(text, R"(switchboard_inbox_dead_letters_total{entity="message"})") == 0);
  CHECK(sample(text, R"(switchboard_tool_calls_total{tool="session_update_context"})") == 1);
  // A counter nobody declared still works, under the generic label.
  CHECK(sample(text, R"(switchboard_some_new_event_total{kind="x"})") == 1);
}

TEST_CASE("the shipped alert rules and dashboard use only metrics the server exports",
          "[metrics]") {
  // One event through every recording call, so every family has a series to render.
  metrics m;
  m.http_request("sms_mtn", "POST", 200, 0.001);
  m.auth_failure("sms_mtn");
  m.storage_batch(4, 0.002, true);
  m.storage_workers_up(2);
  m.live_actors("session", 1);
  m.provider_call("whatsapp", "ok", 0.05);
  m.http_bulkhead("whatsapp", 256, 1, 0);
  m.provider_retry("whatsapp");
  m.message_sent("sms", "mtn", true);
  m.cost("sms", "gsm7", "segments", 1);
  m.circuit_state("whatsapp", 0);
  m.circuit_opened("whatsapp");
  m.circuit_deferred("whatsapp");
  m.outbox_queued("whatsapp", 1, 1);
  m.dedupe_hit("sms_mtn");
  m.table_bytes("inbox", 8192);
  m.rows_purged("inbox", 1);
  m.session_event("opened");
  m.reply_deferred("session");
  m.reply_coalesced("session", 2);
  m.api_rate_limited("tools_call");
  m.count("escalations", "asked");
  m.count("fallback_replies", "llm_down");
  m.count("skipped_sends", "whatsapp");
  auto text = m.render();
  std::set<std::string> families;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("# TYPE ", 0) == 0)
      families.insert(line.substr(7, line.find(' ', 7) - 7));
  std::regex name_re{R"(\b((switchboard|process)_[a-z_]+)\b)"};
  for (const char* file : {"deploy/prometheus/alerts.yml", "deploy/grafana/switchboard.json"}) {
    std::ifstream f{std::string{SB_SOURCE_DIR} + "/" + file};
    REQUIRE(f);
    std::string body{std::istreambuf_iterator<char>{f}, {}};
    std::size_t used = 0;
    for (std::sregex_iterator it{body.begin(), body.end(), name_re}, end; it != end; ++it) {
      auto name = (*it)[1].str();
      if (name == "switchboard" || name.rfind("switchboard_admin", 0) == 0)
        continue;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        std::string sfx{suffix};
        if (!families.count(name) && name.size() > sfx.size()
            && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0)
          name = name.substr(0, name.size() - sfx.size());
      }
      INFO(file << ": " << name);
      CHECK(families.count(name) == 1);
      ++used;
    }
    CHECK(used >= 10);
  }
}
