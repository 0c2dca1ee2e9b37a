#include <catch2/catch.hpp>

#include "core/omni/format.hpp"
#include "core/text/sms.hpp"

using namespace switchboard::core;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

call_summary sample() {
  call_summary s;
  s.call_id = "call-1";
  s.summary = "Your router was reset and the connection is stable again.";
  s.outcome = "resolved";
  s.language = "en";
  s.customer_name = "Alice";
  s.action_items = {"Restart the router if the light turns red", "Call us back if speed drops"};
  return s;
}

} // namespace

TEST_CASE("WhatsApp summary layout", "[format]") {
  auto text = format_whatsapp_summary(sample());
  CHECK(text
        == "\xF0\x9F\x93\x9E *Call summary*\n"
           "Hi Alice,\n"
           "\n"
           "Your router was reset and the connection is stable again.\n"
           "\n"
           "*Next steps*\n"
           "\xE2\x80\xA2 Restart the router if the light turns red\n"
           "\xE2\x80\xA2 Call us back if speed drops\n"
           "\n"
           "\xE2\x9C\x85 *Outcome:* resolved");
}

TEST_CASE("WhatsApp summary derives key points when there are no action items", "[format]") {
  auto s = sample();
  s.action_items.clear();
  s.summary = "- Router reset\n* Speed test passed\n\n2. Ticket closed";
  CHECK(format_whatsapp_summary(s)
        == "\xF0\x9F\x93\x9E *Call summary*\n"
           "Hi Alice,\n"
           "\n"
           "*Key points*\n"
           "\xE2\x80\xA2 Router reset\n"
           "\xE2\x80\xA2 Speed test passed\n"
           "\xE2\x80\xA2 Ticket closed\n"
           "\n"
           "\xE2\x9C\x85 *Outcome:* resolved");

  // A single paragraph is split into sentences.
  s.summary = "We reset the router. The speed test passed!   Anything else? No.";
  auto text = format_whatsapp_summary(s);
  CHECK(text.find("\xE2\x80\xA2 We reset the router.\n") != std::string::npos);
  CHECK(text.find("\xE2\x80\xA2 The speed test passed!\n") != std::string::npos);
  CHECK(text.find("\xE2\x80\xA2 Anything else?\n") != std::string::npos);
  CHECK(text.find("\xE2\x80\xA2 No.\n") != std::string::npos);
}

TEST_CASE("summary_key_points", "[format]") {
  CHECK(summary_key_points("").empty());
  CHECK(summary_key_points("   \n \n").empty());
  CHECK(summary_key_points("One sentence without a stop")
        == std::vector<std::string>{"One sentence without a stop"});
  CHECK(summary_key_points("Version 2.5 is out. Update now.")
        == std::vector<std::string>{"Version 2.5 is out.", "Update now."});
  CHECK(summary_key_points("\xE2\x80\xA2 a\n\xE2\x80\xA2 b") == std::vector<std::string>{"a", "b"});
  CHECK(summary_key_points("10) ten\n-no space stays")
        == std::vector<std::string>{"ten", "-no space stays"});
}

TEST_CASE("WhatsApp summary: French labels and empty fields", "[format]") {
  auto s = sample();
  s.language = "fr-RW";
  auto text = format_whatsapp_summary(s);
  CHECK(text.find("*R\xC3\xA9sum\xC3\xA9 de l'appel*") != std::string::npos);
  CHECK(text.find("Bonjour Alice,") != std::string::npos);
  CHECK(text.find("*Prochaines \xC3\xA9tapes*") != std::string::npos);
  CHECK(ends_with(text, "*R\xC3\xA9sultat:* resolved"));

  call_summary empty;
  CHECK(format_whatsapp_summary(empty) == "\xF0\x9F\x93\x9E *Call summary*");
}

TEST_CASE("WhatsApp summary stays within 4096 code points and keeps the outcome", "[format]") {
  auto s = sample();
  s.action_items.clear();
  s.summary.clear();
  for (int i = 0; i < 800; ++i)
    s.summary += "Point number " + std::to_string(i) + " \xF0\x9F\x98\x80 is important.\n";
  auto text = format_whatsapp_summary(s);
  CHECK(is_valid_utf8(text));
  CHECK(count_code_points(text) <= whatsapp_text_limit);
  CHECK(count_code_points(text) > whatsapp_text_limit - 40); // used the space it had
  CHECK(ends_with(text, "*Outcome:* resolved"));
  CHECK(text.find("\xE2\x80\xA6\n") != std::string::npos); // the body shows it was cut

  // Every length around the limit, with multi-byte characters at the cut.
  for (std::size_t n = 4000; n < 4200; n += 3) {
    call_summary t;
    t.summary = std::string(n, 'x');
    for (std::size_t k = 0; k < n; k += 50)
      t.summary.replace(k, 1, "\xC3\xA9");
    t.outcome = "done";
    auto out = format_whatsapp_summary(t);
    INFO(n);
    CHECK(is_valid_utf8(out));
    CHECK(count_code_points(out) <= whatsapp_text_limit);
    CHECK(ends_with(out, "*Outcome:* done"));
  }
  // Invalid UTF-8 input still produces valid text.
  call_summary bad;
  bad.summary = "ok \xFF\xFE broken";
  CHECK(is_valid_utf8(format_whatsapp_summary(bad)));
}

TEST_CASE("SMS summary is plain, GSM-7 where possible and at most 3 segments", "[format]") {
  auto text = format_sms_summary(sample());
  CHECK(text
        == "Call summary - Alice\n"
           "Outcome: resolved\n"
           "Your router was reset and the connection is stable again.\n"
           "Next steps: Restart the router if the light turns red; Call us back if speed drops");
  CHECK(analyze_sms(text).encoding == sms_encoding::gsm7);

  auto s = sample();
  s.summary = "**Router** reset \xE2\x80\x94 it\xE2\x80\x99s \xE2\x80\x9C"
              "fine\xE2\x80\x9D now";
  s.action_items = {"- `restart` if needed"};
  text = format_sms_summary(s);
  CHECK(text.find('*') == std::string::npos);
  CHECK(text.find('`') == std::string::npos);
  CHECK(text.find("Router reset - it's \"fine\" now.") != std::string::npos);
  CHECK(analyze_sms(text).encoding == sms_encoding::gsm7);

  // A long summary is cut to three segments; the outcome, placed first, survives.
  s = sample();
  s.summary.clear();
  for (int i = 0; i < 100; ++i)
    s.summary += "Sentence " + std::to_string(i) + " of the summary. ";
  text = format_sms_summary(s);
  auto info = analyze_sms(text);
  CHECK(info.segments <= sms_summary_segments);
  CHECK(info.segments == sms_summary_segments);
  CHECK(text.find("Outcome: resolved") != std::string::npos);
  CHECK(ends_with(text, "..."));

  // Emoji force UCS-2; the cut then uses the one-character ellipsis.
  s.summary = std::string("\xF0\x9F\x98\x80 ") + s.summary;
  text = format_sms_summary(s);
  CHECK(analyze_sms(text).encoding == sms_encoding::ucs2);
  CHECK(analyze_sms(text).segments <= sms_summary_segments);
  CHECK(ends_with(text, "\xE2\x80\xA6"));
}

TEST_CASE("Generic reply formatting", "[format]") {
  CHECK(format_whatsapp_text("  hello *world*  \n") == "hello *world*");
  std::string emoji;
  for (int i = 0; i < 5000; ++i)
    emoji += "\xF0\x9F\x98\x80";
  auto wa = format_whatsapp_text(emoji);
  CHECK(count_code_points(wa) == whatsapp_text_limit);
  CHECK(ends_with(wa, "\xE2\x80\xA6"));
  CHECK(format_whatsapp_text("") == "");
  CHECK(is_valid_utf8(format_whatsapp_text("a\xC3")));

  CHECK(format_sms_text("**Bold** and `code` and _italic_ keep snake_case_name", 1)
        == "Bold and code and italic keep snake_case_name");
  CHECK(format_sms_text("\xE2\x80\x9Cquoted\xE2\x80\x9D", 1) == "\"quoted\"");
  auto sms = format_sms_text(std::string(1000, 'a'), 2);
  CHECK(analyze_sms(sms).segments == 2);
  CHECK(format_sms_text("hi", 0) == "");
}

TEST_CASE("truncate_text", "[format]") {
  CHECK(truncate_text("hello", 5) == "hello");
  CHECK(truncate_text("hello world", 8) == "hello\xE2\x80\xA6");
  CHECK(truncate_text("helloworld", 5) == "hell\xE2\x80\xA6");
  CHECK(truncate_text("hello", 0) == "");
  CHECK(truncate_text("hello", 1) == "\xE2\x80\xA6");
  CHECK(truncate_text("a, b, c, d", 5) == "a, b\xE2\x80\xA6");
  for (std::size_t max = 0; max < 40; ++max) {
    auto out = truncate_text(
        "\xF0\x9F\x98\x80 \xC3\xA9t\xC3\xA9 \xE2\x82\xAC word \xF0\x9F\x87\xAE\xF0\x9F\x87\xB9 end",
        max);
    INFO(max);
    CHECK(is_valid_utf8(out));
    CHECK(count_code_points(out) <= max);
  }
}

namespace {

/// What Meta checks of a template parameter (error 132018): no newline or tab, at most 4
/// consecutive spaces.
bool meta_accepts_parameter(const std::string& p) {
  if (p.find_first_of("\n\t\r") != std::string::npos)
    return false;
  return p.find("     ") == std::string::npos;
}

} // namespace

TEST_CASE("template parameter: the rich WhatsApp summary becomes one plain line", "[format]") {
  auto rich = format_whatsapp_summary(sample());
  auto p = format_template_parameter(rich);
  CHECK(p
        == "Call summary. Hi Alice, Your router was reset and the connection is stable again. "
           "Next steps: Restart the router if the light turns red; Call us back if speed drops. "
           "Outcome: resolved");
  CHECK(meta_accepts_parameter(p));
  CHECK(p.find('*') == std::string::npos);

  // Key points (no action items): a heading and its bullets.
  auto s = sample();
  s.action_items.clear();
  s.summary = "- Router reset\n- Line tested\n- Speed is fine";
  CHECK(format_template_parameter(format_whatsapp_summary(s))
        == "Call summary. Hi Alice, Key points: Router reset; Line tested; Speed is fine. "
           "Outcome: resolved");
  CHECK(format_template_parameter(format_whatsapp_summary(s)).find("\xE2\x80\xA2")
        == std::string::npos); // no "•" bullets left
}

TEST_CASE("template parameter: whitespace, emoji bullets and markdown", "[format]") {
  CHECK(format_template_parameter("a\tb     c\r\nd") == "a b c. d");
  CHECK(format_template_parameter("  lots\xC2\xA0\xC2\xA0of \xE2\x80\x83 spaces  ")
        == "lots of spaces");
  // Emoji used as bullets (and emoji-only lines) go; emoji inside the text stay.
  CHECK(format_template_parameter("\xF0\x9F\x91\x89 Pay the bill\n\xE2\x9C\x85\xEF\xB8\x8F Done "
                                  "\xF0\x9F\x98\x80\n\xF0\x9F\x8E\x89")
        == "Pay the bill. Done \xF0\x9F\x98\x80");
  CHECK(format_template_parameter("Steps\n1. Call\n2) Pay\n\xE2\x96\xAA\xEF\xB8\x8F Wait")
        == "Steps: Call; Pay; Wait");
  CHECK(format_template_parameter("*Bold* _italic_ `code` snake_case")
        == "Bold italic code snake_case");
  CHECK(format_template_parameter("Line one.\n\n\nLine two!\u2028Line three")
        == "Line one. Line two! Line three");
  CHECK(format_template_parameter("") == "");
  CHECK(format_template_parameter(" \n\t ") == "");
  // Already one line: unchanged (the plan can apply it twice).
  std::string flat = "Call summary. Hi Alice, all good.";
  CHECK(format_template_parameter(flat) == flat);
  CHECK(format_template_parameter(format_template_parameter(format_whatsapp_summary(sample())))
        == format_template_parameter(format_whatsapp_summary(sample())));
}

TEST_CASE("template parameter: within the cap, cut after a sentence or a word", "[format]") {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "Sentence number " + std::to_string(i) + " of the summary.\n";
  auto p = format_template_parameter(text);
  CHECK(count_code_points(p) <= whatsapp_template_parameter_limit);
  CHECK(count_code_points(p) > whatsapp_template_parameter_limit - 40);
  CHECK(meta_accepts_parameter(p));
  CHECK(ends_with(p, "summary. \xE2\x80\xA6")); // after a whole sentence

  // No sentence end in reach: cut between words.
  std::string words;
  for (int i = 0; i < 100; ++i)
    words += "word" + std::to_string(i) + " ";
  p = format_template_parameter(words, 60);
  CHECK(count_code_points(p) <= 60);
  CHECK(ends_with(p, "\xE2\x80\xA6"));
  auto kept = p.substr(0, p.size() - 3);
  CHECK(words.compare(0, kept.size(), kept) == 0);
  CHECK(words[kept.size()] == ' '); // a whole word

  // Multi-byte text is counted in code points and stays valid UTF-8.
  std::string french;
  for (int i = 0; i < 300; ++i)
    french += "R\xC3\xA9sum\xC3\xA9 \xC3\xA9t\xC3\xA9. ";
  p = format_template_parameter(french, 100);
  CHECK(is_valid_utf8(p));
  CHECK(count_code_points(p) <= 100);
  CHECK(format_template_parameter("abcdef", 2).size() > 0);
  CHECK(count_code_points(format_template_parameter("abcdef", 2)) <= 2);
}

TEST_CASE("SMS summary honours the segment cap it is given", "[format]") {
  auto s = sample();
  s.summary.clear();
  for (int i = 0; i < 100; ++i)
    s.summary += "Sentence " + std::to_string(i) + " of the summary. ";
  for (std::size_t cap : {1, 2, 5, 10}) {
    auto text = format_sms_summary(s, cap);
    INFO("cap " << cap << ": " << text);
    auto info = analyze_sms(text);
    CHECK(info.segments == cap); // long text uses every segment allowed, no more
    CHECK(text.find("Outcome: resolved") != std::string::npos);
  }
  // A short summary is not padded or cut.
  CHECK(format_sms_summary(sample(), 2) == format_sms_summary(sample(), 5));
  CHECK(analyze_sms(format_sms_summary(sample(), 5)).segments == 2);
  CHECK(analyze_sms(format_sms_summary(sample(), 1)).segments == 1);
}
