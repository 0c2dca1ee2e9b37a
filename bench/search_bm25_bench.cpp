// BM25F query latency over a synthetic Help Center: in-process, no server.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/harness.hpp"
#include "bench/help_center.hpp"
#include "core/text/search.hpp"

using namespace switchboard;
using bench::clock_type;

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
        auto articles = bench::synthetic_corpus(rng, n_articles);
        std::size_t bytes = 0;
        for (auto& a : articles)
          bytes += a.title.size() + a.content.size();
        auto before = bench::read_proc_memory();
        core::search_index index;
        auto t0 = clock_type::now();
        for (auto& a : articles)
          index.add(a.title, a.content);
        index.finalize();
        auto build_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        auto after = bench::read_proc_memory();
        r.value("index_build_s", build_s, "s");
        r.value("index_build_rate", static_cast<double>(n_articles) / build_s, "articles/s");
        r.value("corpus_bytes", static_cast<double>(bytes), "bytes");
        r.value("index_terms", static_cast<double>(index.term_count()), "terms");
        r.value("index_rss_growth", static_cast<double>(after.rss_kb - before.rss_kb), "KiB");

        std::vector<std::string> queries;
        for (uint64_t i = 0; i < std::min<uint64_t>(n_queries, 4096); ++i)
          queries.push_back(bench::synthetic_question(rng, bench::pick(rng, articles)));
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
