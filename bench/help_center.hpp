#pragma once

// A deterministic synthetic Help Center (titles, contents and customer questions built from a
// support vocabulary with Zipf-like word frequencies), shared by the search and bot benchmarks.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace switchboard::bench {

/// One synthetic article, and the words a customer asking about it might type.
struct synthetic_article {
  std::string title;
  std::string content;
  std::vector<std::string> words;
};

/// `n` articles generated from `rng` (same seed, same corpus).
std::vector<synthetic_article> synthetic_corpus(std::mt19937_64& rng, std::size_t n);

/// A customer question about `a`, with the usual function words around its words.
std::string synthetic_question(std::mt19937_64& rng, const synthetic_article& a);

/// A uniformly random element.
template <class T> const T& pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[rng() % v.size()];
}

} // namespace switchboard::bench
