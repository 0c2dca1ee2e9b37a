#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::core {

/// One search result: the document's index (order of add), its BM25F score (> 0) and its
/// relevance: the score divided by the query's ideal score, the sum of the idf of its distinct
/// terms (an unindexed term counts with the idf of df = 0). Every term saturates below 1 in
/// BM25, so relevance is in (0, 1): near 1 when the document matches every query term strongly,
/// lower for each term it lacks.
struct search_hit {
  std::size_t doc = 0;
  double score = 0.0;
  double relevance = 0.0;
};

/// BM25F tuning: k1 and b as in Robertson's BM25, the weight of a title occurrence relative to
/// one in the content, and the Snowball language documents and queries are stemmed in.
struct search_options {
  double k1 = 1.2;
  double b = 0.75;
  double title_weight = 2.0;
  std::string language = "english";
};

/// In-memory inverted index over (title, content) documents, ranked with BM25F: per-field length
/// normalisation, field-weighted term frequency, one saturation, idf = ln(1 + (N - df + 0.5) /
/// (df + 0.5)). Text goes through analyze_text (folding, stopwords, stemming in the options'
/// language). A query only walks the postings of its own terms.
///
/// Build it with `add`, then call `finalize` once: it precomputes every posting's BM25F weight, so
/// a query only sums them. Queries are const and safe to run concurrently with each other (never
/// with `add` or `finalize`). A query before `finalize` (or after a later `add`) returns the same
/// hits, computing the weights of its terms as it goes, which is much slower on a large index.
class search_index {
public:
  /// An empty index with the given tuning.
  explicit search_index(search_options opts = {});

  /// Adds a document and returns its index (0, 1, 2... in order of addition). Adding changes every
  /// weight (N and the average lengths move), so it undoes `finalize`.
  std::size_t add(std::string_view title, std::string_view content);

  /// Precomputes the BM25F weight of every posting for the documents added so far; call it after
  /// the last `add`, before the index is shared with the threads that query it.
  void finalize();

  /// Whether the weights are precomputed (`finalize` was called after the last `add`).
  bool finalized() const { return finalized_; }

  /// Up to `k` best documents for `text`, best first (ties by lower index); empty when the query
  /// has no indexed term.
  std::vector<search_hit> query(std::string_view text, std::size_t k) const;

  /// Number of documents added.
  std::size_t size() const { return title_len_.size(); }

  /// Number of distinct indexed terms.
  std::size_t term_count() const { return postings_.size(); }

private:
  struct posting {
    uint32_t doc;
    uint16_t title_tf;
    uint16_t content_tf;
  };

  /// A term's postings in document order and, once finalized, its idf and each posting's weight.
  struct term_postings {
    std::vector<posting> postings;
    std::vector<double> weights;
    double idf = 0.0;
  };

  /// Collection statistics the weights depend on.
  struct collection_stats {
    double n;
    double avg_title;
    double avg_content;
  };

  collection_stats stats() const;
  double weight(const posting& p, double idf, const collection_stats& s) const;

  search_options opts_;
  std::unordered_map<std::string, term_postings> postings_;
  std::vector<uint32_t> title_len_;
  std::vector<uint32_t> content_len_;
  uint64_t total_title_len_ = 0;
  uint64_t total_content_len_ = 0;
  bool finalized_ = false;
};

} // namespace switchboard::core
