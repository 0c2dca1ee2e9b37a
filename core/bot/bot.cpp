#include "core/bot/bot.hpp"
#include "core/json_fields.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/markdown.hpp"
#include "core/text/text.hpp"

namespace switchboard::core {

namespace {

using json = nlohmann::json;

constexpr std::string_view default_prompt
    = "You are a customer-support assistant. Answer the customer's question using only the "
      "help-center articles below. Do not use any other knowledge and do not invent facts, "
      "prices, links or policies. If the articles do not answer the question, say so briefly "
      "and give a confidence below 0.3.\n"
      "Reply with one JSON object and nothing else:\n"
      "{\"answer\": \"<reply to the customer, plain text, in the customer's language>\", "
      "\"sources\": [<ids of the articles you used>], "
      "\"confidence\": <number from 0 to 1: how fully the articles answer the question>}";

caf::error malformed(std::string reason) {
  return caf::make_error(sb_error::malformed, std::move(reason));
}

constexpr auto trim = trim_space;

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return s;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
    --end;
  return s.substr(0, end);
}

/// At most `max` bytes: cut at the last space that fits, followed by an ellipsis.
std::string cut_at_word(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return std::string{s};
  constexpr std::string_view ellipsis = "\xE2\x80\xA6"; // U+2026
  auto head = utf8_prefix(s, max > ellipsis.size() ? max - ellipsis.size() : 0);
  auto space = head.find_last_of(' ');
  if (space != std::string_view::npos && space > 0)
    head = head.substr(0, space);
  std::string out{trim(head)};
  out += ellipsis;
  return out;
}

/// Whether folded token `t` is phrase word `w` or one of its inflections (w + s, es, ed, d, ing;
/// w - e + ing): "agents", "talking". Deliberately not a stemmer: Snowball maps "humanity",
/// "personal" and "operational" to the stems of "human", "person" and "operator".
bool inflects(std::string_view t, std::string_view w) {
  if (t.substr(0, w.size()) != w) {
    if (w.empty() || w.back() != 'e' || t.size() + 1 != w.size() + 3)
      return false;
    return t.substr(0, w.size() - 1) == w.substr(0, w.size() - 1)
           && t.substr(w.size() - 1) == "ing";
  }
  auto rest = t.substr(w.size());
  return rest.empty() || rest == "s" || rest == "es" || rest == "ed" || rest == "d"
         || rest == "ing";
}

/// Splits a line into sentences at . ! ? followed by white space and an upper-case letter,
/// a digit or the end.
std::vector<std::string> line_sentences(std::string_view line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c != '.' && c != '!' && c != '?')
      continue;
    std::size_t j = i + 1;
    if (j < line.size() && line[j] != ' ')
      continue;
    while (j < line.size() && line[j] == ' ')
      ++j;
    if (j < line.size() && !std::isupper(static_cast<unsigned char>(line[j]))
        && !std::isdigit(static_cast<unsigned char>(line[j]))
        && static_cast<unsigned char>(line[j]) < 0x80)
      continue;
    auto sentence = trim(line.substr(start, i + 1 - start));
    if (!sentence.empty())
      out.emplace_back(sentence);
    start = j;
    i = j == 0 ? 0 : j - 1;
  }
  auto rest = trim(line.substr(std::min(start, line.size())));
  if (!rest.empty())
    out.emplace_back(rest);
  return out;
}

std::set<std::string> term_set(std::string_view text, std::string_view language) {
  auto terms = analyze_text(text, language);
  return {terms.begin(), terms.end()};
}

std::string format_confidence(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", x);
  return buf;
}

/// Article matched by a source entry of the model's JSON: an id (number or digits) or a title.
const help_article* match_source(const json& src, const std::vector<help_article>& articles) {
  auto by_id = [&](int64_t id) -> const help_article* {
    for (const auto& a : articles)
      if (a.id == id)
        return &a;
    return nullptr;
  };
  auto by_text = [&](std::string_view s) -> const help_article* {
    auto t = trim(s);
    if (!t.empty() && t[0] == '#')
      t.remove_prefix(1);
    if (!t.empty() && t.size() <= 18
        && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return by_id(std::stoll(std::string{t}));
    auto folded = fold_text(t);
    for (const auto& a : articles)
      if (fold_text(trim(a.title)) == folded)
        return &a;
    return nullptr;
  };
  if (src.is_number_integer())
    return by_id(src.get<int64_t>());
  if (src.is_string())
    return by_text(src.get_ref<const std::string&>());
  if (src.is_object()) {
    if (auto id = src.find("id"); id != src.end())
      if (auto* a = match_source(*id, articles))
        return a;
    if (auto title = src.find("title"); title != src.end() && title->is_string())
      return by_text(title->get_ref<const std::string&>());
  }
  return nullptr;
}

} // namespace

bool asks_for_human(std::string_view text, const std::vector<std::string>& phrases) {
  auto words = tokenize_text(text);
  for (const auto& phrase : phrases) {
    auto needle = tokenize_text(phrase);
    if (needle.empty())
      continue;
    if (std::search(words.begin(), words.end(), needle.begin(), needle.end(), inflects)
        != words.end())
      return true;
  }
  return false;
}

std::string to_string(escalation_reason x) {
  switch (x) {
  case escalation_reason::none:
    return "none";
  case escalation_reason::asked_for_human:
    return "asked_for_human";
  case escalation_reason::low_confidence:
    return "low_confidence";
  case escalation_reason::no_match:
    return "no_match";
  case escalation_reason::help_center_unreadable:
    return "help_center_unreadable";
  case escalation_reason::help_center_unavailable:
    return "help_center_unavailable";
  }
  return "none";
}

std::string escalation_sentence(escalation_reason x) {
  switch (x) {
  case escalation_reason::none:
    return "The bot answered this message.";
  case escalation_reason::asked_for_human:
    return "The customer asked to talk to a human.";
  case escalation_reason::low_confidence:
    return "The bot was not confident enough in its answer to send it.";
  case escalation_reason::no_match:
    return "No help-center article matched the customer's question.";
  case escalation_reason::help_center_unreadable:
    return "The bot could not read the Help Center (Chatwoot refused access to its articles), so "
           "it did not try to answer.";
  case escalation_reason::help_center_unavailable:
    return "The bot could not load the Help Center (Chatwoot did not answer usably), so it did "
           "not try to answer.";
  }
  return {};
}

std::vector<search_hit> relevant_hits(std::vector<search_hit> hits, const bot_settings& s) {
  hits.erase(std::remove_if(hits.begin(), hits.end(),
                            [&](const search_hit& h) { return h.score < s.min_score; }),
             hits.end());
  std::stable_sort(hits.begin(), hits.end(),
                   [](const search_hit& x, const search_hit& y) { return x.score > y.score; });
  if (hits.size() > s.top_k)
    hits.resize(s.top_k);
  return hits;
}

escalation_reason decide(std::string_view customer_text, const std::vector<search_hit>& hits,
                         const std::optional<bot_answer>& answer, const bot_settings& s) {
  if (asks_for_human(customer_text, s.handoff_phrases))
    return escalation_reason::asked_for_human;
  if (relevant_hits(hits, s).empty())
    return escalation_reason::no_match;
  if (!answer || trim(answer->answer).empty() || answer->confidence < s.confidence_threshold)
    return escalation_reason::low_confidence;
  return escalation_reason::none;
}

bot_answer extractive_answer(std::string_view question, const help_article& article,
                             const search_hit& hit, const bot_settings& s) {
  bot_answer result;
  result.sources.push_back(answer_source{article.id, article.title, article.url});
  const auto language = stemmer_language(article.locale);
  auto query = term_set(question, language);
  std::vector<std::string> sentences;
  for (const auto& line : markdown_lines(article.content))
    if (!line.heading) // a title, not an answer
      for (auto& sentence : line_sentences(line.text))
        sentences.push_back(std::move(sentence));
  // Overlap of each sentence with the question's terms.
  std::vector<std::size_t> overlap(sentences.size(), 0);
  for (std::size_t i = 0; i < sentences.size(); ++i)
    for (const auto& t : term_set(sentences[i], language))
      overlap[i] += query.count(t);
  std::vector<std::size_t> order(sentences.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return overlap[x] > overlap[y]; });
  bool any_overlap = !order.empty() && overlap[order.front()] > 0;
  std::vector<std::size_t> chosen;
  std::size_t used = 0;
  for (auto i : order) {
    if ((any_overlap && overlap[i] == 0) || chosen.size() >= s.max_answer_sentences)
      break;
    auto len = sentences[i].size() + (chosen.empty() ? 0 : 1);
    if (used + len > s.max_answer_chars) {
      if (chosen.empty()) { // even the best sentence is too long: cut it
        chosen.push_back(i);
        used = s.max_answer_chars;
      }
      if (any_overlap)
        continue;
      break;
    }
    chosen.push_back(i);
    used += len;
  }
  std::sort(chosen.begin(), chosen.end());
  std::string text;
  for (auto i : chosen) {
    if (!text.empty())
      text += ' ';
    text += sentences[i];
  }
  if (text.empty())
    text = article.description;
  result.answer = cut_at_word(text, s.max_answer_chars);
  result.confidence = std::clamp(hit.relevance, 0.0, 1.0);
  return result;
}

std::string article_search_text(const help_article& article) {
  std::string out = article.description;
  for (const auto& line : markdown_lines(article.content)) {
    out += '\n';
    out += line.text;
  }
  return out;
}

std::string help_center_language(const std::vector<help_article>& articles) {
  std::map<std::string, std::size_t> count;
  std::string best = "english";
  std::size_t most = 0;
  for (const auto& a : articles) { // first of the most common languages
    auto n = ++count[stemmer_language(a.locale)];
    if (n > most) {
      most = n;
      best = stemmer_language(a.locale);
    }
  }
  return best;
}

search_index help_center_index(const std::vector<help_article>& articles) {
  search_options opts;
  opts.language = help_center_language(articles);
  search_index index{opts};
  for (const auto& a : articles)
    index.add(a.title, article_search_text(a));
  index.finalize();
  return index;
}

std::string render_reply(const bot_answer& answer) {
  std::string out{trim(answer.answer)};
  if (answer.sources.empty())
    return out;
  out += "\n\nSources:";
  for (const auto& src : answer.sources) {
    out += "\n- ";
    out += src.title;
    if (!src.url.empty()) {
      out += ": ";
      out += src.url;
    }
  }
  return out;
}

std::string escalation_note(escalation_reason reason, std::string_view customer_text,
                            const std::vector<answer_source>& closest,
                            std::optional<double> confidence) {
  std::string out = "Bot handoff: " + escalation_sentence(reason);
  out += "\nCustomer wrote: \"" + cut_at_word(trim(customer_text), 300) + "\"";
  if (confidence)
    out += "\nBot confidence: " + format_confidence(*confidence);
  if (!closest.empty()) {
    out += "\nClosest articles:";
    for (const auto& src : closest) {
      out += "\n- " + src.title;
      if (!src.url.empty())
        out += ": " + src.url;
    }
  }
  return out;
}

llm_request grounded_answer_request(std::string model, std::string_view question,
                                    const std::vector<help_article>& articles,
                                    const bot_settings& s) {
  std::string prompt{trim(s.system_prompt).empty() ? default_prompt : trim(s.system_prompt)};
  prompt += "\n\nArticles:\n";
  for (const auto& a : articles) {
    prompt += "\n[article id=" + std::to_string(a.id) + "]\nTitle: " + a.title + "\n";
    if (!a.url.empty())
      prompt += "Link: " + a.url + "\n";
    auto content = utf8_prefix(a.content, s.max_article_chars);
    prompt += std::string{content};
    if (content.size() < a.content.size())
      prompt += " [...]";
    prompt += "\n[end of article id=" + std::to_string(a.id) + "]\n";
  }
  llm_request req;
  req.model = std::move(model);
  req.messages.push_back(system_message(std::move(prompt)));
  req.messages.push_back(user_message(std::string{question}));
  req.temperature = 0.2;
  req.json_object = true;
  return req;
}

expected<bot_answer> parse_grounded_answer(std::string_view content,
                                           const std::vector<help_article>& articles) {
  auto text = trim(content);
  if (text.substr(0, 3) == "```") { // ```json ... ```
    auto nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    text = trim(text);
    if (text.size() >= 3 && text.substr(text.size() - 3) == "```")
      text = trim(text.substr(0, text.size() - 3));
  }
  json root = parse_untrusted_json(text);
  if (root.is_discarded())
    return malformed("content: not JSON");
  if (!root.is_object())
    return malformed("content: expected a JSON object");
  bot_answer out;
  auto answer = root.find("answer");
  if (answer == root.end() || !answer->is_string() || trim(answer->get<std::string>()).empty())
    return malformed("answer: missing or empty");
  out.answer = std::string{trim(answer->get<std::string>())};
  auto confidence = root.find("confidence");
  if (confidence == root.end() || !confidence->is_number())
    return malformed("confidence: expected a number between 0 and 1");
  out.confidence = std::clamp(confidence->get<double>(), 0.0, 1.0);
  if (auto sources = root.find("sources"); sources != root.end() && sources->is_array()) {
    for (const auto& src : *sources) {
      const auto* a = match_source(src, articles);
      if (a == nullptr)
        continue;
      bool dup = std::any_of(out.sources.begin(), out.sources.end(),
                             [&](const answer_source& x) { return x.article_id == a->id; });
      if (!dup)
        out.sources.push_back(answer_source{a->id, a->title, a->url});
    }
  }
  if (out.sources.empty())
    out.confidence = 0.0;
  return out;
}

} // namespace switchboard::core
