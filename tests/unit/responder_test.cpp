#include <catch2/catch.hpp>

#include "core/omni/responder.hpp"

using namespace switchboard::core;

TEST_CASE("the fallback responder acknowledges and restates open items", "[responder]") {
  nlohmann::json ctx = {{"last_call",
                         {{"summary", "Quoted 200k."},
                          {"action_items", {"Confirm the 200k quote by Friday", "Send ID copy"}}}}};
  auto r = fallback_reply(ctx, "is it still ok?");
  CHECK(r.rfind("Thank you for your message", 0) == 0);
  CHECK(r.find("Open items: Confirm the 200k quote by Friday; Send ID copy.") != std::string::npos);
}

TEST_CASE("the fallback responder uses the outcome, then the summary, then nothing",
          "[responder]") {
  CHECK(fallback_reply({{"last_call", {{"outcome", "callback scheduled"}}}}, "x")
            .find("Open items: callback scheduled.")
        != std::string::npos);
  auto from_summary
      = fallback_reply({{"last_call", {{"summary", "Price is 250k. Delivery Monday."}}}}, "x");
  CHECK(from_summary.find("Price is 250k") != std::string::npos);
  auto bare = fallback_reply(nlohmann::json::object(), "hello");
  CHECK(bare.find("Open items") == std::string::npos);
  CHECK(bare.find("get back to you") != std::string::npos);
}

TEST_CASE("French context gives French answers", "[responder]") {
  nlohmann::json ctx = {{"last_call", {{"language", "fr-FR"}, {"outcome", "devis envoyé"}}}};
  CHECK(fallback_reply(ctx, "ok").rfind("Merci", 0) == 0);
  CHECK(unsupported_type_notice("image", ctx).rfind("Nous ne pouvons", 0) == 0);
  CHECK(unsupported_type_notice("image", nlohmann::json::object()).rfind("We can only", 0) == 0);
}
