#include "core/markdown.hpp"

#include "core/text/text.hpp"

#include <cmark.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

namespace switchboard::core {

namespace {

struct node_deleter {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
struct iter_deleter {
  void operator()(cmark_iter* i) const { cmark_iter_free(i); }
};

/// Whether an HTML tag ("<li class=x>", "</p>", "<br/>") starts or ends a line of text.
bool is_block_tag(std::string_view tag) {
  static constexpr std::array<std::string_view, 24> names
      = {"address", "article", "blockquote", "br",      "dd",    "div", "dl", "dt",
         "h1",      "h2",      "h3",         "h4",      "h5",    "h6",  "hr", "li",
         "ol",      "p",       "pre",        "section", "table", "td",  "tr", "ul"};
  tag.remove_prefix(std::min<std::size_t>(tag.find_first_not_of("</"), tag.size()));
  auto end = tag.find_first_of(" \t\r\n/>");
  auto name = std::string{tag.substr(0, end)};
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(names.begin(), names.end(), name) != names.end();
}

class line_builder {
public:
  void text(std::string_view s) { current_ += s; }
  void end_line(bool heading = false) {
    auto t = trim_space(current_);
    if (!t.empty())
      lines_.push_back(text_line{std::string{t}, heading});
    current_.clear();
  }
  std::vector<text_line> take() {
    end_line();
    return std::move(lines_);
  }

private:
  std::string current_;
  std::vector<text_line> lines_;
};

void walk(std::string_view markdown, line_builder& out);

/// A raw HTML block's text: tags (and comments) dropped, a block-level tag ending the line, each
/// line parsed again as Markdown so that cmark decodes its entities (no tag is left to recurse on).
void html_block(std::string_view html, line_builder& out) {
  std::string line;
  auto flush = [&] {
    auto t = trim_space(line);
    if (!t.empty())
      walk(t, out);
    line.clear();
  };
  for (std::size_t i = 0; i < html.size(); ++i) {
    if (html.compare(i, 4, "<!--") == 0) {
      auto close = html.find("-->", i + 4);
      i = close == std::string_view::npos ? html.size() : close + 2;
      continue;
    }
    auto close = html[i] == '<' ? html.find('>', i) : std::string_view::npos;
    if (close != std::string_view::npos) {
      if (is_block_tag(html.substr(i, close - i)))
        flush();
      i = close;
    } else if (html[i] == '\n') {
      flush();
    } else if (html[i] != '<') {
      line += html[i];
    }
  }
  flush();
}

void walk(std::string_view markdown, line_builder& out) {
  std::unique_ptr<cmark_node, node_deleter> doc{
      cmark_parse_document(markdown.data(), markdown.size(), CMARK_OPT_VALIDATE_UTF8)};
  std::unique_ptr<cmark_iter, iter_deleter> it{cmark_iter_new(doc.get())};
  for (auto ev = cmark_iter_next(it.get()); ev != CMARK_EVENT_DONE;
       ev = cmark_iter_next(it.get())) {
    cmark_node* node = cmark_iter_get_node(it.get());
    const char* literal = cmark_node_get_literal(node);
    std::string_view lit = literal == nullptr ? std::string_view{} : literal;
    switch (cmark_node_get_type(node)) {
    case CMARK_NODE_TEXT:
    case CMARK_NODE_CODE:
      out.text(lit);
      break;
    case CMARK_NODE_SOFTBREAK:
      out.text(" ");
      break;
    case CMARK_NODE_LINEBREAK:
      out.end_line();
      break;
    case CMARK_NODE_HTML_INLINE:
      if (is_block_tag(lit))
        out.end_line();
      break;
    case CMARK_NODE_HTML_BLOCK:
      out.end_line();
      html_block(lit, out);
      break;
    case CMARK_NODE_CODE_BLOCK:
      out.end_line();
      for (std::size_t pos = 0; pos < lit.size();) {
        auto eol = std::min(lit.find('\n', pos), lit.size());
        out.text(lit.substr(pos, eol - pos));
        out.end_line();
        pos = eol + 1;
      }
      break;
    case CMARK_NODE_HEADING:
      if (ev == CMARK_EVENT_ENTER)
        out.end_line();
      else
        out.end_line(true);
      break;
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_ITEM:
    case CMARK_NODE_BLOCK_QUOTE:
    case CMARK_NODE_THEMATIC_BREAK:
      out.end_line();
      break;
    default: // document, list, emphasis, strong, link, image: their children carry the text
      break;
    }
  }
}

} // namespace

std::vector<text_line> markdown_lines(std::string_view markdown) {
  line_builder out;
  walk(markdown, out);
  return out.take();
}

} // namespace switchboard::core
