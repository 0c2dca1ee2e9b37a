// The chat-completion call (providers/openai/client.hpp).

#include <catch2/catch.hpp>

#include "providers/openai/client.hpp"

using namespace switchboard;

TEST_CASE("a completion call posts to /v1/chat/completions with the key and the timeout",
          "[openai]") {
  config::llm_settings cfg;
  cfg.base_url = "http://llm.test:8080";
  cfg.api_key = "sk-test";
  cfg.timeout = std::chrono::milliseconds{7500};
  auto c = providers::llm_completion_call(cfg, R"({"model":"m"})", "corr-2");
  CHECK(c.service == "llm");
  CHECK(c.method == "POST");
  CHECK(c.url == "http://llm.test:8080/v1/chat/completions");
  CHECK(c.headers
        == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer sk-test"},
                                                            {"Content-Type", "application/json"}});
  CHECK(c.body == R"({"model":"m"})");
  CHECK(c.timeout_ms == 7500);
  CHECK(c.correlation_id == "corr-2");
}
