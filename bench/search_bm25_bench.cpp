// BM25F query latency over a synthetic Help Center: in-process, no server.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/harness.hpp"
#include "core/search.hpp"

namespace {

using namespace switchboard;
using clock_type = std::chrono::steady_clock;

/// Support vocabulary: what customers and help articles talk about.
const std::vector<std::string> objects
    = {"account",  "password", "invoice", "refund",   "order",    "delivery", "subscription",
       "payment",  "card",     "address", "profile",  "email",    "phone",    "number",
       "plan",     "bill",     "receipt", "package",  "parcel",   "return",   "exchange",
       "warranty", "device",   "router",  "modem",    "sim",      "data",     "bundle",
       "airtime",  "balance",  "voucher", "coupon",   "discount", "store",    "pickup",
       "courier",  "tracking", "app",     "login",    "username", "settings", "notification",
       "message",  "contract", "upgrade", "roaming",  "network",  "coverage", "signal",
       "outage",   "meter",    "token",   "wallet",   "transfer", "loan",     "statement",
       "pin",      "security", "privacy", "document", "identity", "photo",    "appointment",
       "booking",  "ticket",   "seat",    "luggage",  "flight",   "schedule", "branch"};
const std::vector<std::string> verbs
    = {"reset",   "change", "update",  "cancel",   "renew",  "activate", "deactivate", "track",
       "pay",     "verify", "recover", "download", "upload", "transfer", "request",    "report",
       "dispute", "return", "replace", "book",     "close",  "open",     "link",       "unlink",
       "top up",  "block",  "unblock", "register", "check",  "contact"};
const std::vector<std::string> qualifiers
    = {"monthly", "annual",    "prepaid",  "postpaid", "business", "personal", "international",
       "local",   "express",   "standard", "premium",  "family",   "student",  "mobile",
       "online",  "in-store",  "failed",   "pending",  "late",     "missing",  "damaged",
       "wrong",   "duplicate", "expired",  "new",      "old",      "primary",  "secondary"};
const std::vector<std::string> fillers
    = {"you can", "please",        "make sure",    "if",
       "when",    "after",         "before",       "within",
       "usually", "in most cases", "note that",    "for security reasons",
       "once",    "otherwise",     "alternatively"};

/// Deterministic product names ("Zorvex", "Kalimo"...) so the vocabulary has a long tail.
std::vector<std::string> product_names(std::mt19937_64& rng, std::size_t n) {
  static const char* onsets[] = {"b", "k", "z", "m", "t", "v", "r", "l", "n", "s", "p", "d", "g"};
  static const char* vowels[] = {"a", "e", "i", "o", "u", "ai", "ou"};
  static const char* codas[] = {"", "x", "n", "r", "s", "m", "l"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string w;
    auto syllables = 2 + rng() % 2;
    for (std::size_t s = 0; s < syllables; ++s) {
      w += onsets[rng() % 13];
      w += vowels[rng() % 7];
    }
    w += codas[rng() % 7];
    out.push_back(w);
  }
  return out;
}

/// Zipf-like pick: low indexes are much more frequent, as words are in real text.
template <class T> const T& zipf(std::mt19937_64& rng, const std::vector<T>& v) {
  std::uniform_real_distribution<double> u{0.0, 1.0};
  auto x = std::pow(u(rng), 2.2);
  return v[std::min(v.size() - 1, static_cast<std::size_t>(x * static_cast<double>(v.size())))];
}

template <class T> const T& pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[rng() % v.size()];
}

struct article {
  std::string title;
  std::string content;
  std::vector<std::string> words; ///< content words a customer might type
};

article make_article(std::mt19937_64& rng, const std::vector<std::string>& products,
                     const std::vector<std::string>& lexicon) {
  article a;
  auto& verb = pick(rng, verbs);
  auto& obj = zipf(rng, objects);
  auto& qual = pick(rng, qualifiers);
  auto& product = zipf(rng, products);
  a.title = "How to " + verb + " your " + qual + " " + obj + " in " + product;
  a.words = {verb, obj, qual, product};
  auto sentences = 8 + rng() % 17; // 8..24 sentences: 150-500 words
  for (std::size_t s = 0; s < sentences; ++s) {
    auto& v = pick(rng, verbs);
    auto& o = zipf(rng, objects);
    auto& o2 = zipf(rng, objects);
    auto& q = pick(rng, qualifiers);
    auto& p = zipf(rng, products);
    auto& l1 = zipf(rng, lexicon);
    auto& l2 = zipf(rng, lexicon);
    a.content += pick(rng, fillers) + " " + v + " the " + q + " " + o + " from the " + p + " " + l1
                 + " page, then check the " + o2 + " shown on your " + obj + " " + l2 + " screen. ";
    if (s % 3 == 0) {
      a.content += "It can take up to " + std::to_string(1 + rng() % 72) + " hours for the " + o
                   + " to be " + pick(rng, qualifiers) + ". ";
    }
    if (a.words.size() < 16) {
      a.words.push_back(o);
      a.words.push_back(l1);
    }
  }
  return a;
}

/// A customer question built from an article's words, with the usual function words around.
std::string make_query(std::mt19937_64& rng, const article& a) {
  static const std::vector<std::string> openings
      = {"how do i",    "i want to", "can you help me",   "why can't i",
         "where can i", "i need to", "what happens if i", "is it possible to"};
  std::string q = pick(rng, openings);
  auto terms = 1 + rng() % 5; // 1..5 content words
  for (std::size_t i = 0; i < terms; ++i)
    q += " " + pick(rng, a.words);
  if (rng() % 4 == 0)
    q += " please?";
  return q;
}

} // namespace

int main() {
  return bench::run(
      "search_bm25", "BM25F query latency over synthetic Help Center articles (in-process)",
      [](bench::report& r) {
        auto n_articles = static_cast<std::size_t>(bench::env_long("SB_BENCH_ARTICLES", 10000));
        auto n_queries = static_cast<uint64_t>(bench::env_long("SB_BENCH_QUERIES", 20000));
        auto k = static_cast<std::size_t>(bench::env_long("SB_BENCH_SEARCH_K", 3));
        auto limit = bench::env_seconds("SB_BENCH_DURATION_S", 8);
        r.config("articles", n_articles);
        r.config("queries", n_queries);
        r.config("k", k);
        r.config("seed", 20240601);

        std::mt19937_64 rng{20240601};
        auto products = product_names(rng, 400);
        auto lexicon = product_names(rng, 30000); // feature names, places, codes
        std::vector<article> articles;
        articles.reserve(n_articles);
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < n_articles; ++i) {
          articles.push_back(make_article(rng, products, lexicon));
          bytes += articles.back().title.size() + articles.back().content.size();
        }
        auto before = bench::read_proc_memory();
        core::search_index index;
        auto t0 = clock_type::now();
        for (auto& a : articles)
          index.add(a.title, a.content);
        auto build_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        auto after = bench::read_proc_memory();
        r.value("index_build_s", build_s, "s");
        r.value("index_build_rate", static_cast<double>(n_articles) / build_s, "articles/s");
        r.value("corpus_bytes", static_cast<double>(bytes), "bytes");
        r.value("index_terms", static_cast<double>(index.term_count()), "terms");
        r.value("index_rss_growth", static_cast<double>(after.rss_kb - before.rss_kb), "KiB");

        std::vector<std::string> queries;
        for (uint64_t i = 0; i < std::min<uint64_t>(n_queries, 4096); ++i)
          queries.push_back(make_query(rng, pick(rng, articles)));
        for (std::size_t i = 0; i < 200 && i < queries.size(); ++i)
          (void)index.query(queries[i], k); // warm the caches
        std::vector<uint32_t> micros;
        micros.reserve(n_queries);
        uint64_t hits = 0;
        uint64_t empty = 0;
        auto start = clock_type::now();
        auto deadline = start + limit;
        for (uint64_t i = 0; i < n_queries; ++i) {
          auto& q = queries[i % queries.size()];
          auto q0 = clock_type::now();
          auto res = index.query(q, k);
          auto q1 = clock_type::now();
          micros.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(q1 - q0).count()));
          hits += res.size();
          empty += res.empty() ? 1 : 0;
          if (q1 >= deadline)
            break;
        }
        auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
        auto ops = micros.size();
        auto lat = bench::summarize_latencies(micros);
        r.timing("query", "search_index::query(text, k) on one thread", ops, elapsed, lat,
                 bench::read_proc_memory());
        if (ops < n_queries)
          r.note("stopped after " + std::to_string(ops) + " queries: SB_BENCH_DURATION_S reached");
        r.value("queries_without_hits", static_cast<double>(empty), "queries");
        if (hits == 0)
          r.fail("no query found any article: the corpus or the queries are broken");
      });
}
