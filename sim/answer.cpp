#include "sim/answer.hpp"

#include <cctype>
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "core/text/text.hpp"

namespace switchboard::sim {

namespace {

using json = nlohmann::ordered_json;

std::string strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string{s};
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::set<std::string> term_set(std::string_view text) {
  auto terms = core::analyze_text(text);
  return {terms.begin(), terms.end()};
}

/// BM25's idf: positive for every document frequency, larger for rarer terms.
double idf(std::size_t n, std::size_t df) {
  return std::log(1.0 + (static_cast<double>(n) - df + 0.5) / (static_cast<double>(df) + 0.5));
}

/// What kind of answer a question asks for, and how a sentence shows one.
struct cue {
  std::regex question;
  std::regex answer;
  double weight;
};

const std::vector<cue>& cues() {
  using std::regex;
  static const auto icase = regex::icase | regex::ECMAScript;
  static const std::string duration
      = R"(\b\d+(?:\s*(?:to|-|–|or)\s*\d+)?\s*(?:business\s+|working\s+)?(?:minutes?|hours?|days?|weeks?|months?|years?)\b)"
        R"(|\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?)\b)"
        R"(|\bnext\s+(?:business\s+|working\s+)?day\b)";
  static const std::vector<cue> all{
      // "How long does it take", "how many days", "when": a duration, a time or a day.
      {regex{
           R"(\bhow\s+(?:long|many\s+(?:minutes|hours|days|weeks|months))\b|\bwhen\b|\bwhat\s+time\b)",
           icase},
       regex{duration, icase}, 2.5},
      // ... and for a process ("take", "arrive", "get"), a sentence about that process.
      {regex{R"(\bhow\s+long\b.*\b(?:take|arrive|get|receive|come|process|last|wait)\b)", icase},
       regex{R"(\b(?:takes?|taking|processed|processing|arrives?|delivered|paid\s+back)\b)", icase},
       1.0},
      // "How much", "cost", "price", "fee": an amount.
      {regex{R"(\bhow\s+much\b|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharged?\b)", icase},
       regex{R"(\d|€|\$|£|\bfree\b|\beuros?\b|\brwf\b)", icase}, 2.0},
      // "How do I", "how can I", "how to", "where do I": instructions.
      {regex{
           R"(\bhow\s+(?:do|can|should|would)\s+(?:i|we|you)\b|\bhow\s+to\b|\bwhere\s+(?:do|can)\s+i\b)",
           icase},
       regex{R"(\b(?:click|open|choose|select|enter|go\s+to|tap|follow|under)\b)", icase}, 2.0},
  };
  return all;
}

/// A sentence without Markdown emphasis and code marks.
std::string plain(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '*' && c != '`')
      out += c;
  static const std::regex link{R"(\[([^\]]*)\]\([^)]*\))"};
  return strip(std::regex_replace(out, link, "$1"));
}

/// The text without the "Link: ..." / "URL: ..." lines a prompt puts before an article's content.
std::string without_links(const std::string& text) {
  static const std::regex link_line{R"((^|\n)[ \t]*(?:link|url)[ \t]*:[^\n]*)", std::regex::icase};
  return std::regex_replace(text, link_line, "$1");
}

bool is_heading(const std::string& s) {
  return !s.empty() && s[0] == '#';
}

} // namespace

std::vector<std::string> sentences(const std::string& text) {
  return core::split_sentences(text);
}

json pick_grounded_answer(const std::string& question, const std::vector<article_text>& articles) {
  auto q_terms = term_set(question);
  // The articles' terms (the question itself removed, should the prompt echo it inside one).
  std::vector<std::set<std::string>> body_terms, title_terms;
  std::map<std::string, std::size_t> df;
  for (auto& a : articles) {
    auto body = a.text;
    if (auto at = body.find(question); !question.empty() && at != std::string::npos)
      body.erase(at, question.size());
    body_terms.push_back(term_set(a.title + "\n" + body));
    title_terms.push_back(term_set(a.title));
    for (auto& t : body_terms.back())
      ++df[t];
  }
  auto weight = [&](const std::string& t) { return idf(articles.size(), df[t]); };
  double q_weight = 0;
  for (auto& t : q_terms)
    q_weight += weight(t);

  const article_text* best = nullptr;
  double best_score = 0, best_covered = 0;
  std::size_t best_overlap = 0, best_title_overlap = 0;
  for (std::size_t i = 0; i < articles.size(); ++i) {
    double score = 0, covered = 0;
    std::size_t overlap = 0, title_overlap = 0;
    for (auto& t : q_terms) {
      if (body_terms[i].count(t)) {
        ++overlap;
        covered += weight(t);
        score += weight(t);
      }
      if (title_terms[i].count(t)) {
        // The article the question names in its title is preferred whatever the word's rarity.
        ++title_overlap;
        score += weight(t) + 1.0;
      }
    }
    if (score > best_score) {
      best_score = score;
      best_covered = covered;
      best_overlap = overlap;
      best_title_overlap = title_overlap;
      best = &articles[i];
    }
  }
  double ratio = q_terms.empty() ? 0.0 : static_cast<double>(best_overlap) / q_terms.size();
  // "Overlaps well": two shared words, half the question's words, or a word of the title.
  bool high = best && (best_overlap >= 2 || ratio >= 0.5 || best_title_overlap >= 1);
  json sources = json::array();
  if (best && !best->id.is_null())
    sources.push_back(best->id);
  if (!high)
    return {{"answer", "I could not find the answer to that in our help center articles."},
            {"sources", std::move(sources)},
            {"confidence", 0.2}};

  std::vector<std::string> sents;
  for (auto& s : sentences(without_links(best->text)))
    if (!is_heading(s))
      sents.push_back(s);
  std::string answer = best->title;
  if (!sents.empty()) {
    std::vector<std::set<std::string>> s_terms;
    std::map<std::string, std::size_t> s_df;
    for (auto& s : sents) {
      s_terms.push_back(term_set(s));
      for (auto& t : s_terms.back())
        ++s_df[t];
    }
    std::vector<const cue*> asked;
    for (auto& c : cues())
      if (std::regex_search(question, c.question))
        asked.push_back(&c);
    std::size_t pick = 0;
    double pick_score = -1;
    for (std::size_t i = 0; i < sents.size(); ++i) {
      double score = 0;
      for (auto& t : q_terms)
        if (s_terms[i].count(t))
          score += idf(sents.size(), s_df[t]);
      auto text = lower(sents[i]);
      bool answers_kind = false;
      for (std::size_t k = 0; k < asked.size(); ++k) {
        // A follow-on cue (the process of a duration) counts only with the cue before it.
        bool follow_on = asked[k] == &cues()[1];
        if (std::regex_search(text, asked[k]->answer) && (!follow_on || answers_kind)) {
          score += asked[k]->weight;
          answers_kind = true;
        }
      }
      if (score > pick_score) {
        pick_score = score;
        pick = i;
      }
    }
    answer = plain(sents[pick]);
    // A very short sentence rarely stands alone: add the next one.
    if (answer.size() < 40 && pick + 1 < sents.size())
      answer += " " + plain(sents[pick + 1]);
  }
  if (answer.size() > 600)
    answer = answer.substr(0, 597) + "...";
  double coverage = q_weight > 0 ? best_covered / q_weight : 0.0;
  double confidence = std::round((0.7 + 0.25 * coverage) * 100) / 100;
  return {{"answer", answer}, {"sources", std::move(sources)}, {"confidence", confidence}};
}

} // namespace switchboard::sim
