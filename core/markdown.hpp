#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

/// One line of plain text from Markdown: a paragraph, list item, heading, table-less HTML block
/// line or code line; `heading` marks a heading's text (a title, not an answer sentence).
struct text_line {
  std::string text;
  bool heading = false;
};

/// Markdown (CommonMark, as Chatwoot stores Help Center articles) as plain lines, parsed by cmark:
/// markup dropped, entities decoded ("&amp;" -> "&", "&#8217;" -> "’"), link text and image alt
/// text kept, link targets dropped, every paragraph, heading, list item (nested ones too) and code
/// line on its own line. Raw HTML tags are dropped and their text kept; a block-level tag (p, li,
/// br, div, h1-h6, tr...) ends a line. Invalid UTF-8 becomes U+FFFD. Lines are trimmed; empty
/// ones are left out.
std::vector<text_line> markdown_lines(std::string_view markdown);

} // namespace switchboard::core
