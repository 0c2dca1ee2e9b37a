#include <catch2/catch.hpp>

#include <set>

#include "core/text/sms.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using switchboard::test::fixture_json;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// Deterministic pseudo-random generator for the property loops (no wall clock, no seed drift).
struct lcg {
  uint64_t state;
  uint32_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  }
};

/// The fit_sms contract, checked on any input/output pair.
void check_fit(const std::string& input, std::size_t max_segments, const std::string& out) {
  INFO("input: " << input << "\nmax_segments: " << max_segments << "\noutput: " << out);
  REQUIRE(is_valid_utf8(out));
  auto info = analyze_sms(out);
  CHECK(info.segments <= max_segments);
  if (analyze_sms(input).segments <= max_segments) {
    CHECK(out == input);
    return;
  }
  // Truncated: the right ellipsis for the encoding, and the kept text is a prefix of the input.
  if (info.encoding == sms_encoding::gsm7) {
    REQUIRE(ends_with(out, "..."));
    CHECK(starts_with(input, out.substr(0, out.size() - 3)));
  } else {
    REQUIRE(ends_with(out, "\xE2\x80\xA6"));
    CHECK(starts_with(input, out.substr(0, out.size() - 3)));
  }
}

} // namespace

TEST_CASE("SMS segments: every Twilio calculator vector", "[sms]") {
  auto doc = fixture_json("sms/segment_vectors_twilio_message_segment_calculator.json");
  const auto& vectors = doc.at("vectors");
  REQUIRE(vectors.size() == 54);
  int checked_fields = 0;
  for (const auto& v : vectors) {
    auto body = v.at("body").get<std::string>();
    INFO(v.at("group").get<std::string>() << ": " << v.at("description").get<std::string>());
    std::string country;
    if (v.contains("options")) {
      const auto& options = v.at("options");
      REQUIRE(options.value("encoding", "auto") == "auto");
      if (options.value("smartEncoding", false))
        body = smart_encode(body);
      country = options.value("country", "");
    }
    auto info = analyze_sms(body, country);
    for (auto& [key, expected] : v.at("expected").items()) {
      INFO("field " << key);
      if (key == "encoding") {
        CHECK(to_string(info.encoding) == expected.get<std::string>());
      } else if (key == "implied_encoding") {
        CHECK(to_string(info.encoding) == expected.get<std::string>());
      } else if (key == "segments") {
        CHECK(info.segments == expected.get<std::size_t>());
        CHECK(sms_segment_count(body, country) == expected.get<std::size_t>());
        CHECK(split_sms(body, country).size() == expected.get<std::size_t>());
      } else if (key == "messageSizeBits") {
        CHECK(info.message_size_bits == expected.get<std::size_t>());
      } else if (key == "totalSizeBits") {
        CHECK(info.total_size_bits == expected.get<std::size_t>());
      } else if (key == "unicodeScalars") {
        CHECK(info.code_points == expected.get<std::size_t>());
      } else if (key == "every_char_isGSM7") {
        for (auto c : decode_utf8(body))
          CHECK((gsm7_septets(c, country) > 0) == expected.get<bool>());
      } else if (key == "nonGsmCharacters") {
        CHECK(non_gsm_characters(body, country) == expected.get<std::vector<std::string>>());
      } else if (key == "udh_octets_per_segment") {
        CHECK(info.total_size_bits - info.message_size_bits
              == expected.get<std::size_t>() * 8 * info.segments);
      } else if (key == "last_segment_chars") {
        CHECK(count_code_points(split_sms(body, country).back()) == expected.get<std::size_t>());
      } else if (key == "last_char") {
        CHECK(split_sms(body, country).back() == expected.get<std::string>());
      } else if (key == "characters_graphemes") {
        // Grapheme clusters (UAX #29) are not implemented; segmenting does not depend on them.
        continue;
      } else {
        FAIL("fixture field not covered by this test: " << key);
      }
      ++checked_fields;
    }
    // Splitting loses nothing and changes nothing.
    std::string joined;
    for (auto& part : split_sms(body, country))
      joined += part;
    CHECK(joined == body);
  }
  CHECK(checked_fields > 150);
}

TEST_CASE("SMS segments: concatenation never splits an escape pair or surrogate pair", "[sms]") {
  // 152 plain septets then '{' (2 septets): the escape pair must move to segment 2 whole.
  std::string gsm(152, 'a');
  gsm += "{";
  gsm += std::string(10, 'b');
  auto parts = split_sms(gsm);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == std::string(152, 'a'));
  CHECK(starts_with(parts[1], "{"));

  // 66 units then an emoji (2 units) in a concatenated UCS-2 message.
  std::string ucs2;
  for (int i = 0; i < 66; ++i)
    ucs2 += "\xC3\xA1";       // á
  ucs2 += "\xF0\x9F\x98\x80"; // 😀
  ucs2 += "xyz";
  parts = split_sms(ucs2);
  REQUIRE(parts.size() == 2);
  CHECK(count_code_points(parts[0]) == 66);
  CHECK(starts_with(parts[1], "\xF0\x9F\x98\x80"));
}

TEST_CASE("SMS: Malaysian carriers accept only the ASCII part of GSM-7", "[sms]") {
  CHECK(gsm7_septets(0x00E9) == 1); // é
  CHECK(gsm7_septets(0x00E9, "MY") == 0);
  CHECK(gsm7_septets(U'{', "MY") == 2);
  CHECK(gsm7_septets(0x20AC, "MY") == 0); // €
  CHECK(analyze_sms("caf\xC3\xA9", "MY").encoding == sms_encoding::ucs2);
  CHECK(analyze_sms("caf\xC3\xA9").encoding == sms_encoding::gsm7);
  auto out = fit_sms(std::string(200, 'a') + "\xC3\xA9", 1, "MY");
  CHECK(out == std::string(157, 'a') + "...");
}

TEST_CASE("SMS: GSM-7 tables and edge cases", "[sms]") {
  CHECK(gsm7_septets(U'a') == 1);
  CHECK(gsm7_septets(U'@') == 1);
  CHECK(gsm7_septets(U'\n') == 1);
  CHECK(gsm7_septets(0x00C7) == 1); // Ç is in the basic table...
  CHECK(gsm7_septets(0x00E7) == 0); // ...ç is not
  CHECK(gsm7_septets(0x20AC) == 2); // €
  for (char32_t c : std::u32string{U"^{}\\[~]|"})
    CHECK(gsm7_septets(c) == 2);
  CHECK(gsm7_septets(U'`') == 0);
  CHECK(gsm7_septets(U'\t') == 0);
  CHECK(gsm7_septets(0x1F600) == 0);

  auto empty = analyze_sms("");
  CHECK(empty.encoding == sms_encoding::gsm7);
  CHECK(empty.segments == 1);
  CHECK(empty.units == 0);
  CHECK(empty.total_size_bits == 0);

  // Invalid UTF-8 is counted (as U+FFFD, which forces UCS-2) rather than rejected.
  auto bad = analyze_sms("ab\xFF\xC3");
  CHECK(bad.encoding == sms_encoding::ucs2);
  CHECK(bad.code_points == 4);
}

TEST_CASE("UTF-8 helpers reject malformed sequences", "[sms][utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));         // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));     // UTF-16 surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));         // truncated
  CHECK_FALSE(is_valid_utf8("\x80"));             // lone continuation
  CHECK(sanitize_utf8("a\xFF"
                      "b")
        == "a\xEF\xBF\xBD"
           "b");
  CHECK(count_code_points("h\xC3\xA9") == 2);
  CHECK(encode_utf8(decode_utf8("\xF0\x9F\x87\xAE\xF0\x9F\x87\xB9"))
        == "\xF0\x9F\x87\xAE\xF0\x9F\x87\xB9");
}

TEST_CASE("Smart encoding table equals the Twilio fixture", "[sms][smart]") {
  auto doc = fixture_json("sms/twilio_smart_encoding_map.json");
  const auto& map = doc.at("map");
  const auto& table = smart_encoding_table();
  REQUIRE(table.size() == map.size());
  CHECK(std::is_sorted(table.begin(), table.end(),
                       [](auto& a, auto& b) { return a.first < b.first; }));
  std::set<char32_t> keys;
  for (auto& [key, value] : map.items()) {
    auto cps = decode_utf8(key);
    REQUIRE(cps.size() == 1);
    keys.insert(cps[0]);
    auto it = std::find_if(table.begin(), table.end(), [&](auto& e) { return e.first == cps[0]; });
    INFO("U+" << std::hex << static_cast<uint32_t>(cps[0]));
    REQUIRE(it != table.end());
    CHECK(std::string{it->second} == value.get<std::string>());
    // Applying the table to the single character gives the fixture's replacement.
    CHECK(smart_encode(key) == value.get<std::string>());
  }
  CHECK(keys.size() == table.size());
}

TEST_CASE("Smart encoding keeps text GSM-7", "[sms][smart]") {
  // “Hello” — it’s… (curly quotes, em dash, right single quote, ellipsis)
  std::string fancy = "\xE2\x80\x9CHello\xE2\x80\x9D \xE2\x80\x94 it\xE2\x80\x99s\xE2\x80\xA6";
  CHECK(analyze_sms(fancy).encoding == sms_encoding::ucs2);
  auto plain = smart_encode(fancy);
  CHECK(plain == "\"Hello\" - it's...");
  CHECK(analyze_sms(plain).encoding == sms_encoding::gsm7);
  // Characters outside the table are kept, so emoji still force UCS-2.
  CHECK(smart_encode("ok \xF0\x9F\x98\x80") == "ok \xF0\x9F\x98\x80");
  CHECK(smart_encode("") == "");
  CHECK(smart_encode("plain ASCII stays") == "plain ASCII stays");
}

TEST_CASE("fit_sms: fixed cases", "[sms][fit]") {
  CHECK(fit_sms("hello", 1) == "hello");
  CHECK(fit_sms("", 1) == "");
  CHECK(fit_sms("hello", 0) == "");

  // A single long word is cut hard, exactly at the limit: 157 + "..." = 160 septets.
  auto out = fit_sms(std::string(1000, 'a'), 1);
  CHECK(out == std::string(157, 'a') + "...");
  out = fit_sms(std::string(1000, 'a'), 3);
  CHECK(out == std::string(153 * 3 - 3, 'a') + "...");

  // An escape character at the cut point is not split and not counted as one septet.
  out = fit_sms(std::string(156, 'a') + "{" + std::string(20, 'b'), 1);
  CHECK(out == std::string(156, 'a') + "...");
  out = fit_sms(std::string(155, 'a') + "{" + std::string(20, 'b'), 1);
  CHECK(out == std::string(155, 'a') + "{...");

  // UCS-2 uses the one-character ellipsis: 69 + 1 = 70 units.
  std::string accents;
  for (int i = 0; i < 100; ++i)
    accents += "\xC3\xA1";
  out = fit_sms(accents, 1);
  CHECK(count_code_points(out) == 70);
  CHECK(ends_with(out, "\xC3\xA1\xE2\x80\xA6"));

  // An emoji (surrogate pair) at the cut point is dropped whole: 68 + 2 + 1 would be 71 units.
  std::string accents68;
  for (int i = 0; i < 68; ++i)
    accents68 += "\xC3\xA1";
  out = fit_sms(accents68 + "\xF0\x9F\x98\x80" + "yyyy", 1);
  CHECK(out == accents68 + "\xE2\x80\xA6");
  // ...and when the text before the emoji is GSM-7, the cut stays GSM-7 with "...".
  out = fit_sms(std::string(68, 'x') + "\xF0\x9F\x98\x80" + std::string(10, 'y'), 1);
  CHECK(out == std::string(68, 'x') + "...");

  // Word boundary: the cut never leaves half a word.
  std::string words;
  while (words.size() < 200)
    words += "lorem ipsum ";
  out = fit_sms(words, 1);
  CHECK(analyze_sms(out).segments == 1);
  auto kept = out.substr(0, out.size() - 3);
  CHECK(ends_with(out, "..."));
  CHECK(words[kept.size()] == ' ');
  CHECK(kept.size() > 140);
  // Trailing punctuation before the ellipsis is dropped ("abcd..." rather than "abcd,...").
  std::string commas;
  while (commas.size() < 200)
    commas += "abcd, ";
  out = fit_sms(commas, 1);
  CHECK(ends_with(out, "abcd..."));

  // Cutting before the only non-GSM character keeps the result GSM-7 with "...".
  std::string mixed;
  while (mixed.size() < 400)
    mixed += "hello world ";
  mixed += "\xF0\x9F\x98\x80";
  out = fit_sms(mixed, 2);
  CHECK(analyze_sms(out).encoding == sms_encoding::gsm7);
  CHECK(ends_with(out, "world..."));
  CHECK(analyze_sms(out).segments <= 2);
  CHECK(out.size() > 250); // it did not fall back to the much shorter UCS-2 budget

  // Invalid UTF-8 never survives into the result.
  out = fit_sms(std::string(300, 'a') + "\xFF", 1);
  CHECK(is_valid_utf8(out));
  CHECK(fit_sms("ok\xFF", 1) == "ok\xEF\xBF\xBD");
}

TEST_CASE("fit_sms: property loops over lengths and alphabets", "[sms][fit]") {
  const std::vector<std::string> alphabets[] = {
      {"a", "b", " ", "word", "{", "~", "\xE2\x82\xAC", ".", ","}, // GSM with escapes
      {"a", " ", "\xF0\x9F\x98\x80", "\xC3\xA7", "b"},             // emoji, ç
      {"\xF0\x9F\x87\xAE\xF0\x9F\x87\xB9", " ", "x", "e\xCC\x81", "\xE2\x80\x94"}, // flags, marks
      {"[", "]", "|", "^", " "},                                                   // escapes only
  };
  lcg rng{42};
  int truncated = 0;
  for (const auto& alphabet : alphabets) {
    for (std::size_t len = 0; len < 700; len += 7) {
      std::string text;
      for (std::size_t i = 0; i < len; ++i)
        text += alphabet[rng.next() % alphabet.size()];
      for (std::size_t max_segments : {1, 2, 3, 5}) {
        auto out = fit_sms(text, max_segments);
        check_fit(text, max_segments, out);
        if (out != text)
          ++truncated;
      }
    }
  }
  CHECK(truncated > 500); // the loop really exercised truncation
}

TEST_CASE("fit_sms: huge input is cut quickly and correctly", "[sms][fit]") {
  std::string huge;
  huge.reserve(1 << 21);
  while (huge.size() < (1u << 21))
    huge += "The quick brown fox jumps over the lazy dog. ";
  auto out = fit_sms(huge, 3);
  check_fit(huge, 3, out);
  CHECK(analyze_sms(out).units > 400);
}
