#include "core/search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/text.hpp"

namespace switchboard::core {

namespace {

uint16_t saturating_inc(uint16_t x) {
  return x == std::numeric_limits<uint16_t>::max() ? x : static_cast<uint16_t>(x + 1);
}

} // namespace

search_index::search_index(search_options opts) : opts_(opts) {
  // nop
}

std::size_t search_index::add(std::string_view title, std::string_view content) {
  auto doc = static_cast<uint32_t>(title_len_.size());
  auto title_terms = analyze_text(title);
  auto content_terms = analyze_text(content);
  // Ordered map: deterministic posting order regardless of hash seeds.
  std::map<std::string, std::pair<uint16_t, uint16_t>> tf;
  for (auto& t : title_terms) {
    auto& x = tf[t];
    x.first = saturating_inc(x.first);
  }
  for (auto& t : content_terms) {
    auto& x = tf[t];
    x.second = saturating_inc(x.second);
  }
  for (auto& [term, counts] : tf)
    postings_[term].push_back(posting{doc, counts.first, counts.second});
  title_len_.push_back(static_cast<uint32_t>(title_terms.size()));
  content_len_.push_back(static_cast<uint32_t>(content_terms.size()));
  total_title_len_ += title_terms.size();
  total_content_len_ += content_terms.size();
  return doc;
}

std::vector<search_hit> search_index::query(std::string_view text, std::size_t k) const {
  std::vector<search_hit> result;
  if (k == 0 || title_len_.empty())
    return result;
  auto terms = analyze_text(text);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  const double n = static_cast<double>(title_len_.size());
  const double avg_title = std::max(1.0, static_cast<double>(total_title_len_) / n);
  const double avg_content = std::max(1.0, static_cast<double>(total_content_len_) / n);
  const double b = opts_.b;
  auto idf_of = [n](double df) { return std::log(1.0 + (n - df + 0.5) / (df + 0.5)); };
  std::unordered_map<uint32_t, double> scores;
  double ideal = 0.0;
  for (auto& term : terms) {
    auto i = postings_.find(term);
    if (i == postings_.end()) {
      ideal += idf_of(0.0);
      continue;
    }
    const auto& list = i->second;
    const double idf = idf_of(static_cast<double>(list.size()));
    ideal += idf;
    for (const auto& p : list) {
      double tf = 0.0;
      if (p.title_tf > 0)
        tf += opts_.title_weight * p.title_tf / (1.0 - b + b * title_len_[p.doc] / avg_title);
      if (p.content_tf > 0)
        tf += p.content_tf / (1.0 - b + b * content_len_[p.doc] / avg_content);
      scores[p.doc] += idf * tf / (opts_.k1 + tf);
    }
  }
  result.reserve(scores.size());
  for (auto& [doc, score] : scores)
    result.push_back(search_hit{doc, score, score / ideal});
  auto better = [](const search_hit& x, const search_hit& y) {
    return x.score != y.score ? x.score > y.score : x.doc < y.doc;
  };
  if (result.size() > k) {
    std::partial_sort(result.begin(), result.begin() + static_cast<std::ptrdiff_t>(k), result.end(),
                      better);
    result.resize(k);
  } else {
    std::sort(result.begin(), result.end(), better);
  }
  return result;
}

} // namespace switchboard::core
