#include "core/omni/format.hpp"

#include <algorithm>
#include <cctype>

#include "core/text/sms.hpp"
#include "core/text/text.hpp"

namespace switchboard::core {

namespace {

struct labels {
  const char* title;
  const char* greeting; ///< followed by " {name},"
  const char* key_points;
  const char* next_steps;
  const char* outcome;
};

constexpr labels english{"Call summary", "Hi", "Key points", "Next steps", "Outcome"};
constexpr labels french{"R\xC3\xA9sum\xC3\xA9 de l'appel", "Bonjour", "Points cl\xC3\xA9s",
                        "Prochaines \xC3\xA9tapes", "R\xC3\xA9sultat"};

const labels& labels_for(std::string_view language) {
  auto primary = language.substr(0, language.find_first_of("-_"));
  if (primary.size() == 2 && std::tolower(static_cast<unsigned char>(primary[0])) == 'f'
      && std::tolower(static_cast<unsigned char>(primary[1])) == 'r')
    return french;
  return english;
}

bool is_space(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\f' || c == U'\v'
         || c == 0x00A0 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x3000;
}

bool is_word_end(char32_t c) {
  return c == U',' || c == U'.' || c == U';' || c == U':' || c == U'!' || c == U'?' || c == U')';
}

std::u32string_view trim(std::u32string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string trim_utf8(std::string_view text) {
  auto cps = decode_utf8(text);
  return encode_utf8(trim(cps));
}

/// Removes a leading list marker: "-", "*", "•", "·", "–", or "1." / "1)" followed by a space.
std::u32string_view strip_bullet(std::u32string_view line) {
  line = trim(line);
  if (line.size() >= 2
      && (line[0] == U'-' || line[0] == U'*' || line[0] == 0x2022 || line[0] == 0x00B7
          || line[0] == 0x2013)
      && is_space(line[1]))
    return trim(line.substr(2));
  std::size_t digits = 0;
  while (digits < line.size() && digits < 3 && line[digits] >= U'0' && line[digits] <= U'9')
    ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == U'.' || line[digits] == U')')
      && is_space(line[digits + 1]))
    return trim(line.substr(digits + 2));
  return line;
}

std::vector<std::u32string> split_lines(std::u32string_view text) {
  std::vector<std::u32string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == U'\n') {
      auto line = strip_bullet(text.substr(start, i - start));
      if (!line.empty())
        out.emplace_back(line);
      start = i + 1;
    }
  }
  return out;
}

bool ends_with_ellipsis(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xE2\x80\xA6") == 0;
}

std::size_t length(std::string_view utf8) {
  return count_code_points(utf8);
}

/// Removes markdown emphasis: "*" and "`" everywhere, "_" where it touches a word boundary
/// (so snake_case_names survive).
std::string strip_markdown(std::string_view text) {
  auto cps = decode_utf8(text);
  std::u32string out;
  auto word = [](char32_t c) {
    return (c >= U'0' && c <= U'9') || (c >= U'A' && c <= U'Z') || (c >= U'a' && c <= U'z')
           || c >= 0x80;
  };
  for (std::size_t i = 0; i < cps.size(); ++i) {
    auto c = cps[i];
    if (c == U'*' || c == U'`')
      continue;
    if (c == U'_') {
      bool before = i > 0 && word(cps[i - 1]);
      bool after = i + 1 < cps.size() && word(cps[i + 1]);
      if (!(before && after))
        continue;
    }
    out += c;
  }
  return encode_utf8(out);
}

/// Line breaks of any kind (Meta refuses each of them in a template parameter).
bool is_line_break(char32_t c) {
  return c == U'\n' || c == U'\r' || c == U'\v' || c == U'\f' || c == 0x0085 || c == 0x2028
         || c == 0x2029;
}

/// Control characters other than line breaks: shown as a space in a parameter.
bool is_control(char32_t c) {
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0);
}

/// Emoji, pictographs, dingbats, arrows and geometric shapes used as line decorations or bullets
/// ("📞", "✅", "👉", "▪️", "➡"), with their joiners, variation selectors and keycaps.
bool is_decoration(char32_t c) {
  return (c >= 0x1F000 && c <= 0x1FAFF) || (c >= 0x2600 && c <= 0x27BF)
         || (c >= 0x2190 && c <= 0x21FF) || (c >= 0x25A0 && c <= 0x25FF)
         || (c >= 0x2B00 && c <= 0x2BFF) || c == 0x2022 || c == 0x2023 || c == 0x2043 || c == 0x200D
         || c == 0xFE0E || c == 0xFE0F || c == 0x20E3;
}

bool ends_clause(char32_t c) {
  return c == U'.' || c == U'!' || c == U'?' || c == 0x2026 || c == U':' || c == U';' || c == U',';
}

/// One line of a parameter: its text without leading decoration, and whether it was a list item.
struct param_line {
  std::u32string text;
  bool item = false;
};

param_line clean_line(std::u32string_view line) {
  param_line out;
  line = trim(line);
  for (;;) {
    auto before = line.size();
    std::size_t n = 0;
    while (n < line.size() && is_decoration(line[n]))
      ++n;
    if (n > 0) {
      // Bullets, arrows and squares mark list items; pictographs ("📞", "✅") only decorate.
      auto c = line[0];
      out.item = out.item || c == 0x2022 || c == 0x2023 || c == 0x2043
                 || (c >= 0x2190 && c <= 0x21FF) || (c >= 0x25A0 && c <= 0x25FF);
      line = trim(line.substr(n));
    }
    auto stripped = strip_bullet(line);
    if (stripped.size() != line.size()) {
      out.item = true;
      line = stripped;
    }
    if (line.size() == before)
      break;
  }
  out.text = std::u32string{line};
  return out;
}

/// Cuts a one-line parameter to `max` code points: after the last sentence that fits (when that
/// keeps at least half), else on a word boundary; "…" marks the cut.
std::string cut_parameter(const std::u32string& cps, std::size_t max) {
  if (cps.size() <= max)
    return encode_utf8(cps);
  if (max < 3)
    return truncate_text(encode_utf8(cps), max);
  // Room for " …" after the sentence's own punctuation.
  for (std::size_t end = max - 2; end > max / 2; --end) {
    auto c = cps[end - 1];
    if ((c == U'.' || c == U'!' || c == U'?' || c == U';') && cps[end] == U' ') {
      auto kept = std::u32string{cps.substr(0, end)};
      if (kept.back() == U';')
        kept.back() = U'.';
      return encode_utf8(kept) + " \xE2\x80\xA6";
    }
  }
  return truncate_text(encode_utf8(cps), max);
}

} // namespace

std::vector<std::string> summary_key_points(std::string_view summary) {
  auto cps = decode_utf8(summary);
  auto lines = split_lines(cps);
  if (lines.size() == 1)
    return split_sentences(encode_utf8(lines.front()));
  std::vector<std::string> out;
  for (const auto& line : lines)
    out.push_back(encode_utf8(line));
  return out;
}

std::string truncate_text(std::string_view text, std::size_t max_code_points) {
  auto cps = decode_utf8(text);
  if (cps.size() <= max_code_points)
    return encode_utf8(cps);
  if (max_code_points == 0)
    return {};
  std::u32string_view all{cps};
  auto n = max_code_points - 1; // room for "…"
  // Prefer the last whitespace in the second half, so no word is cut in two (a cut just before
  // whitespace or punctuation already ends a word).
  if (!is_space(cps[n]) && !is_word_end(cps[n])) {
    for (auto p = n; p > n / 2; --p) {
      if (is_space(cps[p - 1])) {
        n = p - 1;
        break;
      }
    }
  }
  auto kept = all.substr(0, n);
  while (!kept.empty()
         && (is_space(kept.back()) || kept.back() == U',' || kept.back() == U';'
             || kept.back() == U':'))
    kept.remove_suffix(1);
  std::u32string out{kept};
  out += char32_t{0x2026};
  return encode_utf8(out);
}

std::string format_whatsapp_summary(const call_summary& s) {
  const auto& l = labels_for(s.language);
  std::string header = "\xF0\x9F\x93\x9E *" + std::string{l.title} + "*\n"; // 📞
  auto name = trim_utf8(s.customer_name);
  if (!name.empty())
    header += std::string{l.greeting} + " " + name + ",\n";

  std::string body;
  auto summary = trim_utf8(s.summary);
  std::vector<std::string> bullets;
  const char* bullet_title = l.key_points;
  if (!s.action_items.empty()) {
    if (!summary.empty())
      body += "\n" + summary + "\n";
    bullet_title = l.next_steps;
    for (const auto& item : s.action_items) {
      auto t = trim_utf8(item);
      if (!t.empty())
        bullets.push_back(std::move(t));
    }
  } else {
    bullets = summary_key_points(summary);
  }
  if (!bullets.empty()) {
    body += "\n*" + std::string{bullet_title} + "*\n";
    for (const auto& b : bullets)
      body += "\xE2\x80\xA2 " + b + "\n"; // •
  }

  std::string footer;
  auto outcome = trim_utf8(s.outcome);
  if (!outcome.empty())
    footer = "\n\xE2\x9C\x85 *" + std::string{l.outcome} + ":* " + outcome; // ✅

  auto fixed = length(header) + length(footer);
  if (fixed + length(body) > whatsapp_text_limit && fixed + 1 < whatsapp_text_limit)
    body = truncate_text(body, whatsapp_text_limit - fixed - 1) + "\n";
  auto text = header + body + footer;
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  return truncate_text(text, whatsapp_text_limit);
}

std::string format_sms_summary(const call_summary& s, std::size_t max_segments) {
  const auto& l = labels_for(s.language);
  std::string text = l.title;
  auto name = trim_utf8(strip_markdown(s.customer_name));
  if (!name.empty())
    text += " - " + name;
  auto outcome = trim_utf8(strip_markdown(s.outcome));
  if (!outcome.empty())
    text += "\n" + std::string{l.outcome} + ": " + outcome;
  auto points = summary_key_points(strip_markdown(s.summary));
  if (!points.empty()) {
    text += "\n";
    for (std::size_t i = 0; i < points.size(); ++i) {
      text += (i > 0 ? " " : "") + points[i];
      // Bullet lines become sentences of one paragraph.
      auto last = points[i].back();
      if (last != '.' && last != '!' && last != '?' && !ends_with_ellipsis(points[i]))
        text += ".";
    }
  }
  std::vector<std::string> steps;
  for (const auto& item : s.action_items) {
    auto t = trim_utf8(strip_markdown(item));
    if (!t.empty())
      steps.push_back(std::move(t));
  }
  if (!steps.empty()) {
    text += "\n" + std::string{l.next_steps} + ": ";
    for (std::size_t i = 0; i < steps.size(); ++i)
      text += (i > 0 ? "; " : "") + steps[i];
  }
  return fit_sms(smart_encode(text), max_segments);
}

std::string format_template_parameter(std::string_view text, std::size_t max_code_points) {
  auto cps = decode_utf8(strip_markdown(text));
  std::vector<param_line> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cps.size(); ++i) {
    if (i == cps.size() || is_line_break(cps[i])) {
      auto line = clean_line(std::u32string_view{cps}.substr(start, i - start));
      if (!line.text.empty())
        lines.push_back(std::move(line));
      start = i + 1;
    }
  }
  // Lines become clauses of one paragraph: a heading before its items takes ":", items between
  // items ";", other lines ".".
  std::u32string joined;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto& t = lines[i].text;
    joined += t;
    if (i + 1 == lines.size())
      break;
    if (!ends_clause(t.back()))
      joined += lines[i + 1].item ? (lines[i].item ? U';' : U':') : U'.';
    joined += U' ';
  }
  // Every run of whitespace (tabs, no-break and other spaces, controls) becomes one space.
  std::u32string flat;
  for (auto c : joined) {
    if (is_space(c) || is_control(c)) {
      if (!flat.empty() && flat.back() != U' ')
        flat += U' ';
    } else {
      flat += c;
    }
  }
  while (!flat.empty() && flat.back() == U' ')
    flat.pop_back();
  return cut_parameter(flat, max_code_points);
}

std::string format_whatsapp_text(std::string_view reply) {
  return truncate_text(trim_utf8(reply), whatsapp_text_limit);
}

std::string format_sms_text(std::string_view reply, std::size_t max_segments) {
  return fit_sms(smart_encode(trim_utf8(strip_markdown(reply))), max_segments);
}

std::string telegram_html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace switchboard::core
