// providers/registry.cpp: the one table naming every provider a channel can send through.

#include <catch2/catch.hpp>

#include "providers/provider.hpp"

using namespace switchboard;
using namespace switchboard::providers;

TEST_CASE("Provider registry: every channel's provider by name, nothing else", "[providers]") {
  config::settings cfg;
  for (std::string name : {"whatsapp", "mtn", "twilio", "telegram", "smtp"}) {
    auto p = make_provider(name, cfg);
    REQUIRE(p);
    CHECK(p->service() == name);
  }
  CHECK(make_provider("whatsapp_cloud", cfg) == nullptr);
  CHECK(make_provider("", cfg) == nullptr);
}
