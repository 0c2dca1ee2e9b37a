#include <catch2/catch.hpp>

#include "sim/answer.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard;
using json = nlohmann::ordered_json;

namespace {

/// The published articles of the fixture Help Center, as the simulated LLM reads them.
std::vector<sim::article_text> help_center() {
  auto corpus = json::parse(test::read_file(
      std::string{SB_SOURCE_DIR} + "/tests/fixtures/articles/help_center_articles.json"));
  std::vector<sim::article_text> out;
  for (auto& a : corpus["payload"])
    if (a["status"] == "published" || a["status"] == 1)
      out.push_back({a["id"], a["title"].get<std::string>(), a["content"].get<std::string>()});
  return out;
}

struct picked {
  std::string answer;
  json sources;
  double confidence;
};

picked ask(const std::string& question, const std::vector<sim::article_text>& articles) {
  auto j = sim::pick_grounded_answer(question, articles);
  return {j["answer"].get<std::string>(), j["sources"], j["confidence"].get<double>()};
}

} // namespace

TEST_CASE("the simulated LLM answers with the sentence that answers the question", "[sim][bot]") {
  auto articles = help_center();
  REQUIRE(articles.size() == 10);
  struct example {
    const char* question;
    int article;
    const char* must_contain;
  };
  for (auto& e : std::vector<example>{
           // The demo's question: the processing time, not "Shipping costs are not refunded
           // unless the item arrived damaged." (which shares more of its words).
           {"How long does a refund take to arrive?", 101, "processed within 5 business days"},
           {"How long does a refund take?", 101, "processed within 5 business days"},
           {"How do I request a refund?", 101, "open My orders"},
           {"How long does standard shipping take?", 102, "3 to 5 business days"},
           {"How long is the password reset link valid?", 104, "valid for 1 hour"},
           {"When is your support team available?", 106, "Monday to Friday, 9 am to 6 pm"},
           {"How long does international delivery take?", 107, "5 to 10 business days"},
           {"Can I pay with PayPal?", 105, "PayPal"},
       }) {
    INFO(e.question);
    auto p = ask(e.question, articles);
    INFO(p.answer);
    CHECK(p.sources == json::array({e.article}));
    CHECK(p.answer.find(e.must_contain) != std::string::npos);
    CHECK(p.answer.find('*') == std::string::npos); // Markdown emphasis dropped
    CHECK(p.confidence >= 0.7);
    CHECK(p.confidence <= 0.95);
  }
  auto refund = ask("How long does a refund take to arrive?", articles);
  CHECK(refund.answer.find("Shipping costs") == std::string::npos);
}

TEST_CASE("the simulated LLM prefers the article whose title matches, and says when nothing does",
          "[sim][bot]") {
  std::vector<sim::article_text> articles{
      {json(1), "Shipping times",
       "Refunds for lost parcels are paid once the carrier confirms "
       "the loss. Parcels take 3 days."},
      {json(2), "Refund policy", "Refunds are paid within 5 days."},
  };
  auto p = ask("How long do refunds take?", articles);
  CHECK(p.sources == json::array({2}));
  CHECK(p.answer == "Refunds are paid within 5 days.");
  // The article as the server's prompt gives it: a link line before the content.
  articles[1].text = "Link: https://help.example/hc/help/articles/refund-policy-days\n"
                     "# Refund policy\n\nRefunds are paid within 5 days.";
  CHECK(ask("How many days until a refund?", articles).answer == "Refunds are paid within 5 days.");
  auto none = ask("Do you sell purple giraffes on Mars?", help_center());
  CHECK(none.confidence < 0.55);
  CHECK(none.answer.find("could not find") != std::string::npos);
  CHECK(sim::sentences("One. Two!\n\nThree") == std::vector<std::string>{"One.", "Two!", "Three"});
}
