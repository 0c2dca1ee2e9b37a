#include <catch2/catch.hpp>

#include "core/markdown.hpp"

using namespace switchboard::core;

namespace {

/// The lines' texts, a heading's prefixed with "# ".
std::vector<std::string> texts(std::string_view markdown) {
  std::vector<std::string> out;
  for (auto& l : markdown_lines(markdown))
    out.push_back((l.heading ? "# " : "") + l.text);
  return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("markdown_lines keeps headings' text, marked as headings", "[markdown]") {
  CHECK(texts("# Refunds\n\nAsk within 30 days.\n\n## How *long*?\nFive days.\n\nSetext\n===")
        == strings{"# Refunds", "Ask within 30 days.", "# How long?", "Five days.", "# Setext"});
  CHECK(texts("#hashtag is no heading") == strings{"#hashtag is no heading"});
}

TEST_CASE("markdown_lines decodes entities", "[markdown]") {
  CHECK(texts("Tom &amp; Jerry&#8217;s &quot;show&quot; &copy; &#x263A; &nbsp;x")
        == strings{"Tom & Jerry\xE2\x80\x99s \"show\" \xC2\xA9 \xE2\x98\xBA \xC2\xA0x"});
  CHECK(texts("# Terms &amp; conditions") == strings{"# Terms & conditions"});
  CHECK(texts("&bogus; stays") == strings{"&bogus; stays"});
}

TEST_CASE("markdown_lines puts list items, nested ones too, on their own lines", "[markdown]") {
  CHECK(texts("Steps:\n\n1. Open **Settings**\n2. Pick *Billing*\n   - Cards\n   - Invoices\n"
              "     * PDF\n3. Save\n\n> Quoted tip\n\n---\nEnd")
        == strings{"Steps:", "Open Settings", "Pick Billing", "Cards", "Invoices", "PDF", "Save",
                   "Quoted tip", "End"});
  CHECK(texts("- a\n- b\nlazy continuation") == strings{"a", "b lazy continuation"});
}

TEST_CASE("markdown_lines drops raw HTML tags and keeps their text", "[markdown]") {
  CHECK(texts("Click <b>Save</b> then <span class=\"x\">wait</span>.")
        == strings{"Click Save then wait."});
  CHECK(texts("Line one<br>line two") == strings{"Line one", "line two"});
  CHECK(texts("<div>\n<p>Refunds &amp; returns</p><p>Second <em>para</em></p>\n"
              "<ul><li>one</li><li>two</li></ul>\n<!-- hidden note -->\n</div>\n\nAfter")
        == strings{"Refunds & returns", "Second para", "one", "two", "After"});
  CHECK(texts("<h2>Title &#8217;s</h2>") == strings{"Title \xE2\x80\x99s"});
}

TEST_CASE("markdown_lines keeps link text and image alt text, not their targets", "[markdown]") {
  CHECK(texts("See [the *refund* page](https://x.example/r \"title\") and "
              "![a screenshot of Settings](img.png).")
        == strings{"See the refund page and a screenshot of Settings."});
  CHECK(texts("[ref link][1]\n\n[1]: https://x.example/hidden") == strings{"ref link"});
  CHECK(texts("Mail <help@x.example>") == strings{"Mail help@x.example"});
}

TEST_CASE("markdown_lines keeps code spans and code blocks verbatim", "[markdown]") {
  CHECK(texts("Run `make &amp; <b>` now.") == strings{"Run make &amp; <b> now."});
  CHECK(texts("```sh\ncurl -X POST\n\necho *ok*\n```\n\n    indented code")
        == strings{"curl -X POST", "echo *ok*", "indented code"});
}

TEST_CASE("markdown_lines copes with empty and odd input", "[markdown]") {
  CHECK(markdown_lines("").empty());
  CHECK(markdown_lines("  \n\n\t").empty());
  CHECK(texts("a < b and c > d") == strings{"a < b and c > d"});
  CHECK(texts("<p>unclosed <b tag") == strings{"unclosed b tag"}); // a lone "<" is dropped
  CHECK(texts(std::string{"nul\0byte", 8})
        == strings{"nul\xEF\xBF\xBD"
                   "byte"});
  // Invalid UTF-8 becomes U+FFFD (found by markdown_fuzz: cmark checks it only when asked).
  CHECK(texts("spam \x9A\x90 then <b>\xC3</b>")
        == strings{"spam \xEF\xBF\xBD\xEF\xBF\xBD then \xEF\xBF\xBD"});
}
