#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/bot/bot.hpp"
#include "core/text/text.hpp"
#include "providers/chatwoot/codec.hpp"
#include "providers/openai/codec.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;
using json = nlohmann::json;

namespace {

/// The fixture help center with public links, indexed like the bot does.
struct knowledge_base {
  std::vector<help_article> articles;
  search_index index;

  knowledge_base() {
    auto body = switchboard::test::read_file(
        std::string{SB_SOURCE_DIR} + "/tests/fixtures/articles/help_center_articles.json");
    auto parsed = parse_chatwoot_articles(body);
    REQUIRE(parsed);
    articles = std::move(*parsed);
    for (auto& a : articles)
      a.url = chatwoot_article_url("https://help.example.com", "acme", a.slug);
    index = help_center_index(articles);
  }

  const help_article& by_title(std::string_view title) const {
    for (const auto& a : articles)
      if (a.title == title)
        return a;
    FAIL("no article " << title);
    return articles.front();
  }

  /// What the bot does without an LLM: search, keep relevant hits, answer from the best one.
  std::pair<escalation_reason, std::optional<bot_answer>> handle(std::string_view question,
                                                                 const bot_settings& s = {}) const {
    auto hits = relevant_hits(index.query(question, 10), s);
    std::optional<bot_answer> answer;
    if (!hits.empty())
      answer = extractive_answer(question, articles[hits.front().doc], hits.front(), s);
    return {decide(question, hits, answer, s), answer};
  }
};

bot_answer parse_ok(std::string_view content, const std::vector<help_article>& articles) {
  auto r = parse_grounded_answer(content, articles);
  if (!r)
    FAIL(reason_of(r.error()));
  return *r;
}

std::string parse_reason(std::string_view content, const std::vector<help_article>& articles) {
  auto r = parse_grounded_answer(content, articles);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::malformed);
  return reason_of(r.error());
}

} // namespace

TEST_CASE("asks_for_human matches whole words, any case or accent", "[bot]") {
  const auto phrases = default_handoff_phrases();
  for (auto text : {"HUMAN please", "humán", "I want a human!", "Can I talk to an agent?",
                    "agents, anyone?", "I need a REAL PERSON", "Let me speak to someone.",
                    "representative", "Représentative svp", "operator?!", "live agent now",
                    "human-like? no: humanoid"}) { // "human-like" has the word "human"
    INFO(text);
    CHECK(asks_for_human(text, phrases));
  }
  for (auto text :
       {"humanity is great", "my agency sent me", "personal data", "speak to me",
        "operational issue", "humanoid robots", "someone charged my card twice", "", "   "}) {
    INFO(text);
    CHECK_FALSE(asks_for_human(text, phrases));
  }
  CHECK_FALSE(asks_for_human("human", {}));
  CHECK_FALSE(asks_for_human("human", {"", "  "}));
  CHECK(asks_for_human("Ich möchte einen Mitarbeiter", {"mitarbeiter"}));
  CHECK_FALSE(asks_for_human("speak to the someone", {"speak to someone"})); // contiguous only
  // Inflections only, not a stemmer: Snowball gives these the stems of "human", "person",
  // "operator".
  CHECK(asks_for_human("Speak to SOMEONE", {"speak to someone"}));
  CHECK(asks_for_human("real persons", {"real person"}));
  CHECK(asks_for_human("talking to someone", {"talk to someone"}));
  CHECK(asks_for_human("operating it", {"operate"}));
  CHECK(asks_for_human("the humans", {"human"}));
  CHECK_FALSE(asks_for_human("humanities", {"human"}));
  CHECK_FALSE(asks_for_human("operators", {"operate"}));
}

TEST_CASE("escalation reasons have names and sentences", "[bot]") {
  CHECK(to_string(escalation_reason::none) == "none");
  CHECK(to_string(escalation_reason::asked_for_human) == "asked_for_human");
  CHECK(to_string(escalation_reason::low_confidence) == "low_confidence");
  CHECK(to_string(escalation_reason::no_match) == "no_match");
  CHECK(escalation_sentence(escalation_reason::asked_for_human)
        == "The customer asked to talk to a human.");
  CHECK(escalation_sentence(escalation_reason::no_match)
        == "No help-center article matched the customer's question.");
  CHECK(escalation_sentence(escalation_reason::low_confidence)
        == "The bot was not confident enough in its answer to send it.");
}

TEST_CASE("a Help Center that cannot be read is named as such, not as no match", "[bot]") {
  CHECK(to_string(escalation_reason::help_center_unreadable) == "help_center_unreadable");
  CHECK(to_string(escalation_reason::help_center_unavailable) == "help_center_unavailable");
  auto note = escalation_note(escalation_reason::help_center_unreadable, "Where is my refund?", {},
                              std::nullopt);
  CHECK(note.rfind("Bot handoff: The bot could not read the Help Center", 0) == 0);
  CHECK(note.find("matched") == std::string::npos);
  CHECK(escalation_sentence(escalation_reason::help_center_unavailable)
            .find("could not load the "
                  "Help Center")
        != std::string::npos);
}

TEST_CASE("relevant_hits applies min_score and top_k", "[bot]") {
  bot_settings s;
  s.min_score = 1.0;
  s.top_k = 2;
  std::vector<search_hit> hits = {{4, 0.9, 0.5}, {1, 3.0, 0.9}, {2, 1.0, 0.6}, {3, 2.0, 0.7}};
  auto kept = relevant_hits(hits, s);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].doc == 1);
  CHECK(kept[1].doc == 3);
  s.top_k = 10;
  CHECK(relevant_hits(hits, s).size() == 3); // 1.0 is kept: min_score is inclusive
  CHECK(relevant_hits({}, s).empty());
}

TEST_CASE("decide checks handoff, then matches, then confidence", "[bot]") {
  bot_settings s;
  std::vector<search_hit> hits = {{0, 2.0, 0.8}};
  bot_answer good{"Refunds take 5 days.", {}, 0.8};
  bot_answer weak{"Maybe.", {}, 0.54};
  CHECK(decide("refund?", hits, good, s) == escalation_reason::none);
  CHECK(decide("refund? human please", hits, good, s) == escalation_reason::asked_for_human);
  CHECK(decide("refund?", {}, good, s) == escalation_reason::no_match);
  CHECK(decide("refund?", {{0, 0.49, 0.9}}, good, s) == escalation_reason::no_match);
  CHECK(decide("refund?", hits, weak, s) == escalation_reason::low_confidence);
  CHECK(decide("refund?", hits, std::nullopt, s) == escalation_reason::low_confidence);
  CHECK(decide("refund?", hits, bot_answer{"  ", {}, 0.9}, s) == escalation_reason::low_confidence);
  bot_answer at_threshold{"ok", {}, 0.55};
  CHECK(decide("refund?", hits, at_threshold, s) == escalation_reason::none);
  s.confidence_threshold = 0.9;
  CHECK(decide("refund?", hits, good, s) == escalation_reason::low_confidence);
}

TEST_CASE("extractive answers pick the sentences sharing most question terms", "[bot]") {
  knowledge_base kb;
  bot_settings s;
  SECTION("refund: the first three refund sentences, markup removed, high confidence") {
    auto [reason, answer] = kb.handle("How do I get a refund?");
    REQUIRE(answer);
    CHECK(reason == escalation_reason::none);
    CHECK(answer->answer
          == "You can ask for a refund within 30 days of delivery. Refunds are paid back to the "
             "original payment method. To request a refund, open My orders, choose the order and "
             "click Request refund.");
    REQUIRE(answer->sources.size() == 1);
    CHECK(answer->sources[0].article_id == 101);
    CHECK(answer->sources[0].title == "Refund policy");
    CHECK(answer->sources[0].url == "https://help.example.com/hc/acme/articles/101-refund-policy");
    CHECK(answer->confidence > s.confidence_threshold);
    CHECK(answer->confidence < 1.0);
  }
  SECTION("password: only the sentence with both terms") {
    auto [reason, answer] = kb.handle("I forgot my password");
    REQUIRE(answer);
    CHECK(reason == escalation_reason::none);
    CHECK(answer->answer
          == "If you forgot your password, click Forgot password? on the sign-in page and enter "
             "your email address.");
  }
  SECTION("accented question, link text kept and target dropped") {
    auto [reason, answer] = kb.handle("Annuler ma réservation? cancel reservation");
    REQUIRE(answer);
    CHECK(answer->sources[0].title == "Changing or cancelling a reservation");
    auto tracking = extractive_answer("carrier website tracking number",
                                      kb.by_title("Shipping times and tracking"), {1, 2.0, 0.9}, s);
    CHECK_THAT(tracking.answer,
               Catch::Contains("on the carrier's website to see where your parcel is."));
    CHECK_THAT(tracking.answer, !Catch::Contains("https://"));
    CHECK_THAT(tracking.answer, !Catch::Contains("#"));
  }
  SECTION("confidence is the hit's relevance") {
    auto a = extractive_answer("refund", kb.by_title("Refund policy"), {0, 1.7, 0.42}, s);
    CHECK(a.confidence == Approx(0.42));
    CHECK(extractive_answer("refund", kb.by_title("Refund policy"), {0, 1.7, 1.5}, s).confidence
          == 1.0);
  }
  SECTION("an uncovered term lowers confidence below the threshold") {
    auto full = kb.handle("refund policy");
    auto partial = kb.handle("refund policy for shoes");
    REQUIRE(full.second);
    REQUIRE(partial.second);
    CHECK(full.first == escalation_reason::none);
    CHECK(partial.second->confidence < full.second->confidence);
    CHECK(partial.first == escalation_reason::low_confidence);
  }
  SECTION("bounded length, cut at a word boundary") {
    s.max_answer_chars = 60;
    auto a = extractive_answer("refund", kb.by_title("Refund policy"), {0, 1.7, 0.9}, s);
    CHECK(a.answer.size() <= 60);
    CHECK(a.answer == "You can ask for a refund within 30 days of delivery.");
    s.max_answer_chars = 40;
    a = extractive_answer("refund", kb.by_title("Refund policy"), {0, 1.7, 0.9}, s);
    CHECK(a.answer.size() <= 40);
    CHECK(a.answer == "You can ask for a refund within 30\xE2\x80\xA6");
    CHECK(is_well_formed_utf8(a.answer));
  }
  SECTION("no overlap: the opening sentences; no content: the description") {
    s.max_answer_sentences = 1;
    auto a = extractive_answer("zebra", kb.by_title("Gift cards"), {0, 1.0, 0.5}, s);
    CHECK(a.answer == "Gift cards are valid for 2 years and can be redeemed at checkout.");
    help_article empty{1, "Empty", "Only a description.", "", "empty", "", "en"};
    CHECK(extractive_answer("zebra", empty, {0, 1.0, 0.5}, s).answer == "Only a description.");
  }
}

TEST_CASE("the bot's decisions on the fixture help center", "[bot]") {
  knowledge_base kb;
  CHECK(kb.handle("Can I speak to a human about my refund?").first
        == escalation_reason::asked_for_human);
  CHECK(kb.handle("Do you sell bicycles?").first == escalation_reason::no_match);
  CHECK(kb.handle("xylophone").first == escalation_reason::no_match);
  CHECK(kb.handle("").first == escalation_reason::no_match);
  CHECK(kb.handle("can I cancel my reservation").first == escalation_reason::none);
  CHECK(kb.handle("my order is late").first == escalation_reason::low_confidence);
}

TEST_CASE("the index holds an article's plain text, headings included", "[bot][search]") {
  help_article a{1, "Billing", "Invoices and cards.", "", "1-billing", "", "en"};
  a.content = "# Terms &amp; conditions\n\nSee <b>our</b> [policy](https://x.example/zebra) "
              "&#8217;s\n\n- item one\n- item two";
  CHECK(article_search_text(a)
        == "Invoices and cards.\nTerms & conditions\nSee our policy \xE2\x80\x99s\nitem one\nitem "
           "two");
  auto index = help_center_index({a});
  CHECK(index.finalized());
  CHECK(index.query("conditions", 1).size() == 1); // heading text is searchable
  CHECK(index.query("invoices", 1).size() == 1);   // and the description
  for (auto markup : {"amp", "8217", "zebra", "https", "b"}) {
    INFO(markup);
    CHECK(index.query(markup, 1).empty()); // entities, link targets and tags are not terms
  }
  // A heading is searchable but never quoted as an answer sentence.
  auto answer = extractive_answer("terms conditions policy", a, {0, 1.0, 0.9}, {});
  CHECK(answer.answer == "See our policy \xE2\x80\x99s");
}

TEST_CASE("a portal's language is its articles' most common locale", "[bot]") {
  auto article = [](std::string locale) {
    help_article a;
    a.locale = std::move(locale);
    return a;
  };
  CHECK(help_center_language({}) == "english");
  CHECK(help_center_language({article("fr"), article("fr_CA"), article("en")}) == "fr");
  CHECK(help_center_language({article("pt_BR"), article("en")}) == "pt");
  CHECK(help_center_language({article(""), article("xx"), article("fr")}) == "english");
}

TEST_CASE("a French portal's search finds articles by inflected French words", "[bot][search]") {
  std::vector<help_article> articles(3);
  articles[0] = {1,          "Voyager avec un cheval",
                 "",         "Le transport d'un cheval coûte 50 euros par trajet.",
                 "1-cheval", "",
                 "fr"};
  articles[1]
      = {2,           "Annuler une réservation",
         "",          "Vous pouvez annuler votre réservation jusqu'à 48 heures avant le départ.",
         "2-annuler", "",
         "fr"};
  articles[2] = {
      3, "Cartes cadeaux", "", "Les cartes cadeaux sont valables deux ans.", "3-cartes", "", "fr"};
  auto index = help_center_index(articles);
  auto best = [&](std::string_view q) {
    auto hits = index.query(q, 3);
    return hits.empty() ? int64_t{0} : articles[hits.front().doc].id;
  };
  CHECK(best("Combien pour transporter mes chevaux ?") == 1); // chevaux -> cheval
  CHECK(best("réservations annulées") == 2);                  // annulées, annuler -> annul
  CHECK(best("reservations annulees") == 2);                  // typed without accents
  CHECK(best("carte cadeau") == 3);
  // The same articles stemmed as English miss the plural: the portal's language matters.
  search_index english;
  for (auto& a : articles)
    english.add(a.title, article_search_text(a));
  CHECK(english.query("chevaux", 3).empty());
  CHECK_FALSE(index.query("chevaux", 3).empty());
  // And the bot answers from it, matching sentences with Snowball French too. (The stopwords are
  // English only: "des" would count as an unmatched term and lower the confidence.)
  bot_settings s;
  auto hits = relevant_hits(index.query("transport chevaux", 3), s);
  REQUIRE_FALSE(hits.empty());
  auto answer = extractive_answer("transport chevaux", articles[hits.front().doc], hits.front(), s);
  CHECK(answer.answer == "Le transport d'un cheval coûte 50 euros par trajet.");
  CHECK(decide("transport chevaux", hits, answer, s) == escalation_reason::none);
}

TEST_CASE("reply text lists the sources", "[bot]") {
  bot_answer a{
      "Refunds are paid within 5 business days.",
      {{101, "Refund policy", "https://help.example.com/hc/acme/articles/101-refund-policy"},
       {105, "Payment methods", ""}},
      0.8};
  CHECK(render_reply(a)
        == "Refunds are paid within 5 business days.\n\nSources:\n"
           "- Refund policy: https://help.example.com/hc/acme/articles/101-refund-policy\n"
           "- Payment methods");
  CHECK(render_reply(bot_answer{"  Just this.\n", {}, 0.9}) == "Just this.");
}

TEST_CASE("private note for escalations", "[bot]") {
  auto note = escalation_note(
      escalation_reason::low_confidence, "  is the refund paid to my card?\n",
      {{101, "Refund policy", "https://help.example.com/hc/acme/articles/101-refund-policy"}},
      0.4449);
  CHECK(note
        == "Bot handoff: The bot was not confident enough in its answer to send it.\n"
           "Customer wrote: \"is the refund paid to my card?\"\n"
           "Bot confidence: 0.44\n"
           "Closest articles:\n"
           "- Refund policy: https://help.example.com/hc/acme/articles/101-refund-policy");
  auto human = escalation_note(escalation_reason::asked_for_human, "HUMAN please", {});
  CHECK(human
        == "Bot handoff: The customer asked to talk to a human.\nCustomer wrote: \"HUMAN please\"");
  auto long_text
      = escalation_note(escalation_reason::no_match, std::string(400, 'x') + " tail", {});
  CHECK(long_text.size() < 400);
}

TEST_CASE("grounded answer request", "[bot]") {
  knowledge_base kb;
  bot_settings s;
  std::vector<help_article> top = {kb.by_title("Refund policy"), kb.by_title("Payment methods")};
  auto req = grounded_answer_request("gpt-4o-mini", "How long do refunds take?", top, s);
  CHECK(req.model == "gpt-4o-mini");
  CHECK(req.json_object);
  CHECK(req.temperature == 0.2);
  REQUIRE(req.messages.size() == 2);
  CHECK(req.messages[0].role == "system");
  CHECK(req.messages[1].role == "user");
  CHECK(req.messages[1].content == "How long do refunds take?");
  const auto& prompt = *req.messages[0].content;
  CHECK_THAT(prompt, Catch::Contains("using only the help-center articles"));
  CHECK_THAT(prompt, Catch::Contains("\"answer\"") && Catch::Contains("\"sources\"")
                         && Catch::Contains("\"confidence\""));
  for (const auto& a : top) {
    CHECK_THAT(prompt, Catch::Contains("[article id=" + std::to_string(a.id) + "]"));
    CHECK_THAT(prompt, Catch::Contains("Title: " + a.title));
    CHECK_THAT(prompt, Catch::Contains("Link: " + a.url));
    CHECK_THAT(prompt, Catch::Contains(a.content));
  }
  CHECK_THAT(prompt, !Catch::Contains("Gift cards")); // only the given articles
  auto body = json::parse(encode_llm_request(req));
  CHECK(body["response_format"] == json{{"type", "json_object"}});

  SECTION("content is cut per article without splitting UTF-8") {
    s.max_article_chars = 20;
    help_article a{7, "Größe", "", "Größentabelle für Schuhe und Hemden", "x", "", "de"};
    auto cut = grounded_answer_request("m", "q", {a}, s);
    const auto& p = *cut.messages[0].content;
    CHECK_THAT(p, Catch::Contains("Größentabelle für [...]"));
    CHECK(is_well_formed_utf8(p));
  }
  SECTION("instructions from a prompt file replace the built-in ones") {
    s.system_prompt = "Answer like a pirate.\n";
    auto custom = grounded_answer_request("m", "q", top, s);
    const auto& p = *custom.messages[0].content;
    CHECK_THAT(p, Catch::StartsWith("Answer like a pirate.\n\nArticles:\n"));
    CHECK_THAT(p, Catch::Contains("[article id=101]"));
  }
}

TEST_CASE("parsing the model's grounded answer", "[bot]") {
  knowledge_base kb;
  std::vector<help_article> top = {kb.by_title("Refund policy"), kb.by_title("Payment methods")};
  SECTION("ids, numeric strings and titles map to the given articles") {
    auto a = parse_ok(
        R"({"answer": "Within 5 business days.", "sources": [101, "105", "refund POLICY", 101], "confidence": 0.82})",
        top);
    CHECK(a.answer == "Within 5 business days.");
    CHECK(a.confidence == Approx(0.82));
    REQUIRE(a.sources.size() == 2);
    CHECK(a.sources[0].article_id == 101);
    CHECK(a.sources[0].url == "https://help.example.com/hc/acme/articles/101-refund-policy");
    CHECK(a.sources[1].article_id == 105);
    CHECK(a.sources[1].title == "Payment methods");
  }
  SECTION("unknown sources are dropped") {
    auto a = parse_ok(
        R"({"answer": "x", "sources": [999, "Shipping times and tracking", 101, null, {"id": 105}], "confidence": 0.7})",
        top);
    REQUIRE(a.sources.size() == 2); // 104 is a real article, but it was not given to the model
    CHECK(a.sources[0].article_id == 101);
    CHECK(a.sources[1].article_id == 105);
  }
  SECTION("an answer citing none of the articles is not grounded") {
    CHECK(parse_ok(R"({"answer": "x", "sources": [999], "confidence": 0.95})", top).confidence
          == 0.0);
    CHECK(parse_ok(R"({"answer": "x", "confidence": 0.95})", top).confidence == 0.0);
  }
  SECTION("confidence is clamped") {
    CHECK(parse_ok(R"({"answer": "x", "sources": [101], "confidence": 1.7})", top).confidence
          == 1.0);
    CHECK(parse_ok(R"({"answer": "x", "sources": [101], "confidence": -0.2})", top).confidence
          == 0.0);
    CHECK(parse_ok(R"({"answer": "x", "sources": [101], "confidence": 1})", top).confidence == 1.0);
  }
  SECTION("a ```json fence is tolerated") {
    auto a = parse_ok(
        "```json\n{\"answer\": \" fenced \", \"sources\": [101], \"confidence\": 0.6}\n```", top);
    CHECK(a.answer == "fenced");
    CHECK(a.confidence == Approx(0.6));
  }
  SECTION("errors so the caller falls back to the extractive answer") {
    CHECK(parse_reason("Sure! Refunds take 5 days.", top) == "content: not JSON");
    CHECK(parse_reason("", top) == "content: not JSON");
    CHECK(parse_reason("[1, 2]", top) == "content: expected a JSON object");
    CHECK(parse_reason(R"({"sources": [101], "confidence": 0.9})", top)
          == "answer: missing or empty");
    CHECK(parse_reason(R"({"answer": "  ", "sources": [101], "confidence": 0.9})", top)
          == "answer: missing or empty");
    CHECK(parse_reason(R"({"answer": 5, "confidence": 0.9})", top) == "answer: missing or empty");
    CHECK(parse_reason(R"({"answer": "x", "sources": [101]})", top)
          == "confidence: expected a number between 0 and 1");
    CHECK(parse_reason(R"({"answer": "x", "sources": [101], "confidence": "high"})", top)
          == "confidence: expected a number between 0 and 1");
    CHECK(parse_reason("{\"answer\": \"\xFF\", \"confidence\": 0.9}", top) == "content: not JSON");
  }
}
