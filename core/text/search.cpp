#include "core/text/search.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "core/text/text.hpp"

namespace switchboard::core {

namespace {

uint16_t saturating_inc(uint16_t x) {
  return x == std::numeric_limits<uint16_t>::max() ? x : static_cast<uint16_t>(x + 1);
}

double idf_of(double n, double df) {
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

/// Per-thread dense score array over document indexes. A slot belongs to the current query only
/// when its stamp is the query's generation, so nothing is cleared between queries. It grows to
/// the largest index queried on the thread (16 bytes a document) and lives as long as the thread.
struct score_accumulator {
  std::vector<uint32_t> stamp;
  std::vector<double> score;
  /// [0, touched_count): documents scored by the current query; one slot more than documents,
  /// since `add` stores every document and only counts the fresh ones.
  std::vector<uint32_t> touched;
  std::size_t touched_count = 0;
  uint32_t generation = 0;

  /// Starts a query over documents [0, n).
  void begin(std::size_t n) {
    if (stamp.size() < n) {
      stamp.resize(n, 0);
      score.resize(n);
      touched.resize(n + 1);
    }
    touched_count = 0;
    if (++generation == 0) { // wrapped: forget every stamp
      std::fill(stamp.begin(), stamp.end(), 0);
      generation = 1;
    }
  }

  /// Adds weight_of(i) to the score of document doc_of(i), for i in [0, count); each document at
  /// most once per call, without a branch. A document's first weight is added to 0.0, as in a map.
  template <class DocOf, class WeightOf>
  void add(std::size_t count, DocOf doc_of, WeightOf weight_of) {
    uint32_t* st = stamp.data();
    double* sc = score.data();
    uint32_t* out = touched.data();
    std::size_t n = touched_count;
    const uint32_t g = generation;
    for (std::size_t i = 0; i < count; ++i) {
      const uint32_t doc = doc_of(i);
      const bool fresh = st[doc] != g;
      // A stale score is masked to +0.0 with integer operations: GCC turns `fresh ? 0.0 : sc[doc]`
      // into a branch that mid-frequency terms mispredict.
      uint64_t bits;
      std::memcpy(&bits, &sc[doc], sizeof bits);
      bits &= static_cast<uint64_t>(fresh) - 1;
      double prev;
      std::memcpy(&prev, &bits, sizeof prev);
      sc[doc] = prev + weight_of(i);
      st[doc] = g;
      out[n] = doc;
      n += fresh;
    }
    touched_count = n;
  }
};

score_accumulator& thread_accumulator() {
  thread_local score_accumulator acc;
  return acc;
}

/// Best first: higher score, then lower document index.
bool better(const search_hit& x, const search_hit& y) {
  return x.score != y.score ? x.score > y.score : x.doc < y.doc;
}

} // namespace

search_index::search_index(search_options opts) : opts_(opts) {
  // nop
}

std::size_t search_index::add(std::string_view title, std::string_view content) {
  finalized_ = false;
  auto doc = static_cast<uint32_t>(title_len_.size());
  auto title_terms = analyze_text(title, opts_.language);
  auto content_terms = analyze_text(content, opts_.language);
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
    postings_[term].postings.push_back(posting{doc, counts.first, counts.second});
  title_len_.push_back(static_cast<uint32_t>(title_terms.size()));
  content_len_.push_back(static_cast<uint32_t>(content_terms.size()));
  total_title_len_ += title_terms.size();
  total_content_len_ += content_terms.size();
  return doc;
}

search_index::collection_stats search_index::stats() const {
  const double n = static_cast<double>(title_len_.size());
  return {n, std::max(1.0, static_cast<double>(total_title_len_) / n),
          std::max(1.0, static_cast<double>(total_content_len_) / n)};
}

double search_index::weight(const posting& p, double idf, const collection_stats& s) const {
  const double b = opts_.b;
  double tf = 0.0;
  if (p.title_tf > 0)
    tf += opts_.title_weight * p.title_tf / (1.0 - b + b * title_len_[p.doc] / s.avg_title);
  if (p.content_tf > 0)
    tf += p.content_tf / (1.0 - b + b * content_len_[p.doc] / s.avg_content);
  return idf * tf / (opts_.k1 + tf);
}

void search_index::finalize() {
  if (finalized_)
    return;
  const auto s = stats();
  for (auto& [term, t] : postings_) {
    t.postings.shrink_to_fit();
    t.idf = idf_of(s.n, static_cast<double>(t.postings.size()));
    t.weights.resize(t.postings.size());
    for (std::size_t i = 0; i < t.postings.size(); ++i)
      t.weights[i] = weight(t.postings[i], t.idf, s);
  }
  finalized_ = true;
}

std::vector<search_hit> search_index::query(std::string_view text, std::size_t k) const {
  std::vector<search_hit> result;
  if (k == 0 || title_len_.empty())
    return result;
  auto terms = analyze_text(text, opts_.language);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  const auto s = stats();
  // Terms in sorted order, each adding to its documents: the same sums, bit for bit, whether the
  // weights are precomputed or not.
  auto& acc = thread_accumulator();
  acc.begin(size());
  double ideal = 0.0;
  for (auto& term : terms) {
    auto i = postings_.find(term);
    if (i == postings_.end()) {
      ideal += idf_of(s.n, 0.0);
      continue;
    }
    const auto& t = i->second;
    const auto count = t.postings.size();
    const posting* ps = t.postings.data();
    auto doc_of = [ps](std::size_t j) { return ps[j].doc; };
    if (finalized_) {
      ideal += t.idf;
      const double* ws = t.weights.data();
      acc.add(count, doc_of, [ws](std::size_t j) { return ws[j]; });
    } else {
      const double idf = idf_of(s.n, static_cast<double>(count));
      ideal += idf;
      acc.add(count, doc_of, [&](std::size_t j) { return weight(ps[j], idf, s); });
    }
  }
  // A heap of the k best so far, worst on top; most documents fail the first comparison.
  const auto touched = acc.touched_count;
  result.reserve(std::min(k, touched));
  double worst_kept = -std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j < touched; ++j) {
    const uint32_t doc = acc.touched[j];
    const double score = acc.score[doc];
    if (score < worst_kept)
      continue;
    search_hit h{doc, score, 0.0};
    if (result.size() < k) {
      result.push_back(h);
      std::push_heap(result.begin(), result.end(), better);
    } else if (better(h, result.front())) {
      std::pop_heap(result.begin(), result.end(), better);
      result.back() = h;
      std::push_heap(result.begin(), result.end(), better);
    } else {
      continue;
    }
    if (result.size() == k)
      worst_kept = result.front().score;
  }
  std::sort_heap(result.begin(), result.end(), better);
  for (auto& h : result)
    h.relevance = h.score / ideal;
  return result;
}

} // namespace switchboard::core
