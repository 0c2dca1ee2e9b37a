#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "core/bot/chatwoot.hpp"
#include "core/text/search.hpp"
#include "core/text/text.hpp"
#include "providers/chatwoot/codec.hpp"
#include "tests/support/fixtures.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;

namespace {

std::vector<help_article> fixture_articles() {
  auto body = switchboard::test::read_file(std::string{SB_SOURCE_DIR}
                                           + "/tests/fixtures/articles/help_center_articles.json");
  auto articles = parse_chatwoot_articles(body);
  REQUIRE(articles);
  return *articles;
}

struct corpus {
  std::vector<help_article> articles = fixture_articles();
  search_index index;

  corpus() {
    for (const auto& a : articles)
      index.add(a.title, a.content);
  }

  /// Title of the best hit, or "" when nothing matched.
  std::string top(std::string_view query) const {
    auto hits = index.query(query, 3);
    return hits.empty() ? std::string{} : articles[hits.front().doc].title;
  }
};

} // namespace

TEST_CASE("the obviously right article ranks first", "[search]") {
  corpus c;
  REQUIRE(c.index.size() == 10);
  struct {
    const char* query;
    const char* title;
  } cases[] = {
      {"how do I get my money back? refunds", "Refund policy"},
      {"refunds", "Refund policy"},                            // plural query, singular document
      {"REFUNDED", "Refund policy"},                           // case and -ed
      {"réservation", "Changing or cancelling a reservation"}, // accent folding
      {"cancel my booking", "Changing or cancelling a reservation"},
      {"where is my parcel? tracking number", "Shipping times and tracking"},
      {"I forgot my password", "Resetting your password"},
      {"do you take paypal", "Payment methods"},
      {"when are you open", "Opening hours and contact"},
      {"delivery to other countries customs", "International delivery"},
      {"delete account and personal data", "Deleting your account"},
      {"loyalty points", "Loyalty points"},
  };
  for (auto& x : cases) {
    INFO(x.query);
    CHECK(c.top(x.query) == x.title);
  }
}

TEST_CASE("draft and archived articles are not indexed", "[search]") {
  corpus c;
  for (const auto& a : c.articles) {
    CHECK(a.title != "New returns portal (draft)");
    CHECK(a.title != "Old refund rules");
    CHECK(a.title != "Holiday schedule");
  }
  CHECK(c.top("holiday schedule").empty());
}

TEST_CASE("queries without indexed terms return nothing", "[search]") {
  corpus c;
  CHECK(c.index.query("", 3).empty());
  CHECK(c.index.query("   ?!  ", 3).empty());
  CHECK(c.index.query("the and of to", 3).empty()); // stopwords only
  CHECK(c.index.query("xylophone quasar", 3).empty());
  CHECK(c.index.query("refund", 0).empty());
  search_index empty;
  CHECK(empty.query("refund", 3).empty());
}

TEST_CASE("hits are sorted, positive and capped at k", "[search]") {
  corpus c;
  auto hits = c.index.query("order shipping refund days", 4);
  REQUIRE(hits.size() == 4);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    CHECK(hits[i].score > 0);
    CHECK(hits[i].relevance > 0);
    CHECK(hits[i].relevance < 1);
    if (i > 0)
      CHECK(hits[i - 1].score >= hits[i].score);
  }
  std::set<std::size_t> docs;
  for (auto& h : hits)
    docs.insert(h.doc);
  CHECK(docs.size() == hits.size());
  CHECK(c.index.query("order shipping refund days", 100).size() <= c.index.size());
}

TEST_CASE("a title match outweighs the same match in the content", "[search]") {
  search_index idx;
  idx.add("Gift cards", "Buy one online.");            // term in the title
  idx.add("Vouchers", "Our gift cards never expire."); // same term in the content
  auto hits = idx.query("gift cards", 2);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].doc == 0);
  CHECK(hits[0].score > hits[1].score);

  search_index no_boost{search_options{1.2, 0.75, 1.0}};
  no_boost.add("Gift cards", "x");
  no_boost.add("x", "Gift cards");
  auto flat = no_boost.query("gift cards", 2);
  REQUIRE(flat.size() == 2);
  CHECK(flat[0].score == Approx(flat[1].score));
}

TEST_CASE("BM25 matches a hand computation", "[search]") {
  // Two documents, content only (empty titles), title weight irrelevant.
  search_index idx;
  idx.add("", "apple banana");           // doc 0: 2 terms
  idx.add("", "apple apple cherry fig"); // doc 1: 4 terms
  // avg content length 3; N = 2; "cherry": df = 1 -> idf = ln(1 + 1.5 / 1.5) = ln 2.
  // doc 1: tf = 1 / (1 - 0.75 + 0.75 * 4/3) = 0.8; score = ln2 * 0.8 / (1.2 + 0.8).
  auto hits = idx.query("cherry", 5);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].doc == 1);
  CHECK(hits[0].score == Approx(std::log(2.0) * 0.8 / 2.0));
  CHECK(hits[0].relevance == Approx(0.8 / 2.0)); // score over the ideal ln 2
  // An unindexed term adds the idf of df = 0, ln(1 + 2.5 / 0.5) = ln 6, to the ideal only.
  auto partial = idx.query("cherry xylophone", 5);
  REQUIRE(partial.size() == 1);
  CHECK(partial[0].score == Approx(hits[0].score));
  CHECK(partial[0].relevance == Approx(hits[0].score / (std::log(2.0) + std::log(6.0))));
  // "apple": df = 2 -> idf = ln(1 + 0.5 / 2.5) = ln 1.2; doc 0: tf = 1 / (0.25 + 0.5) = 4/3;
  // doc 1: tf = 2 / 1.25 = 1.6. Doc 1 wins on term frequency despite its length.
  auto apple = idx.query("apple", 5);
  REQUIRE(apple.size() == 2);
  CHECK(apple[0].doc == 1);
  CHECK(apple[0].score == Approx(std::log(1.2) * 1.6 / 2.8));
  CHECK(apple[1].score == Approx(std::log(1.2) * (4.0 / 3.0) / (1.2 + 4.0 / 3.0)));
}

TEST_CASE("ties are broken by document order", "[search]") {
  search_index idx;
  idx.add("same", "words here");
  idx.add("same", "words here");
  auto hits = idx.query("same words", 2);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].doc == 0);
  CHECK(hits[1].doc == 1);
}

TEST_CASE("10k articles: postings are per term, rare terms find their document", "[search]") {
  // A deterministic synthetic corpus: 60 common words spread over every article plus one unique
  // code word per article.
  std::vector<std::string> common;
  for (int i = 0; i < 60; ++i)
    common.push_back("word" + std::string(1, static_cast<char>('a' + i % 26))
                     + std::string(1, static_cast<char>('a' + i / 26)));
  search_index idx;
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  const std::size_t n = 10000;
  for (std::size_t d = 0; d < n; ++d) {
    std::string content;
    for (int w = 0; w < 40; ++w)
      content += common[next() % common.size()] + " ";
    content += "code" + std::to_string(d) + "x";
    idx.add("Article " + std::to_string(d), content);
  }
  REQUIRE(idx.size() == n);
  CHECK(idx.term_count() == 60 + n + n + 1); // common, code words, numbers, "articl"
  for (std::size_t d : {0u, 1u, 4999u, 9999u}) {
    auto hits = idx.query("code" + std::to_string(d) + "x wordaa", 3);
    REQUIRE_FALSE(hits.empty());
    CHECK(hits.front().doc == d);
  }
  for (int q = 0; q < 200; ++q) // many queries over the whole corpus stay bounded by k
    CHECK(idx.query(common[q % 60] + " " + common[(q * 7) % 60], 5).size() == 5);
}

namespace {

/// BM25F computed the plain way, straight from the documents' terms: the reference the index's
/// precomputed weights and score accumulation must reproduce.
struct reference_scorer {
  struct document {
    std::map<std::string, std::pair<int, int>> tf; // term -> (title tf, content tf)
    std::size_t title_len = 0;
    std::size_t content_len = 0;
  };
  search_options opts;
  std::vector<document> docs;

  void add(std::string_view title, std::string_view content) {
    document d;
    auto title_terms = analyze_text(title);
    auto content_terms = analyze_text(content);
    for (auto& t : title_terms)
      ++d.tf[t].first;
    for (auto& t : content_terms)
      ++d.tf[t].second;
    d.title_len = title_terms.size();
    d.content_len = content_terms.size();
    docs.push_back(std::move(d));
  }

  std::vector<search_hit> query(std::string_view text, std::size_t k) const {
    if (docs.empty())
      return {};
    auto terms = analyze_text(text);
    std::set<std::string> distinct(terms.begin(), terms.end());
    const double n = static_cast<double>(docs.size());
    double total_title = 0.0;
    double total_content = 0.0;
    for (auto& d : docs) {
      total_title += static_cast<double>(d.title_len);
      total_content += static_cast<double>(d.content_len);
    }
    const double avg_title = std::max(1.0, total_title / n);
    const double avg_content = std::max(1.0, total_content / n);
    const double b = opts.b;
    std::vector<double> scores(docs.size(), 0.0);
    std::vector<bool> matched(docs.size(), false);
    double ideal = 0.0;
    for (auto& term : distinct) {
      std::vector<std::pair<std::size_t, std::pair<int, int>>> matches;
      for (std::size_t i = 0; i < docs.size(); ++i)
        if (auto f = docs[i].tf.find(term); f != docs[i].tf.end())
          matches.emplace_back(i, f->second);
      const double df = static_cast<double>(matches.size());
      const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
      ideal += idf;
      for (auto& [i, counts] : matches) {
        double tf = 0.0;
        if (counts.first > 0)
          tf += opts.title_weight * counts.first
                / (1.0 - b + b * static_cast<double>(docs[i].title_len) / avg_title);
        if (counts.second > 0)
          tf += counts.second
                / (1.0 - b + b * static_cast<double>(docs[i].content_len) / avg_content);
        scores[i] += idf * tf / (opts.k1 + tf);
        matched[i] = true;
      }
    }
    std::vector<search_hit> hits;
    for (std::size_t i = 0; i < docs.size(); ++i)
      if (matched[i])
        hits.push_back(search_hit{i, scores[i], scores[i] / ideal});
    std::stable_sort(hits.begin(), hits.end(),
                     [](const search_hit& x, const search_hit& y) { return x.score > y.score; });
    if (hits.size() > k)
      hits.resize(k);
    return hits;
  }
};

/// "" when both lists have the same documents in the same order with the same scores and
/// relevances (to 1e-9 relative), else the first difference.
std::string first_difference(const std::vector<search_hit>& got,
                             const std::vector<search_hit>& want) {
  auto close = [](double x, double y) { return std::abs(x - y) <= 1e-9 * std::abs(y); };
  if (got.size() != want.size())
    return std::to_string(got.size()) + " hits instead of " + std::to_string(want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].doc != want[i].doc || !close(got[i].score, want[i].score)
        || !close(got[i].relevance, want[i].relevance))
      return "rank " + std::to_string(i) + ": doc " + std::to_string(got[i].doc) + " score "
             + std::to_string(got[i].score) + " relevance " + std::to_string(got[i].relevance)
             + " instead of doc " + std::to_string(want[i].doc) + " score "
             + std::to_string(want[i].score) + " relevance " + std::to_string(want[i].relevance);
  return "";
}

} // namespace

TEST_CASE("the ranking equals a reference BM25F computation", "[search]") {
  // A deterministic corpus over a small skewed vocabulary, so that terms range from rare to
  // everywhere; some documents repeat an earlier one (exact ties), some have an empty field.
  const std::vector<std::string> vocabulary
      = {"refund",  "order",    "shipping", "parcel",  "password", "account", "invoice",
         "payment", "delivery", "tracking", "voucher", "booking",  "seat",    "luggage",
         "router",  "modem",    "signal",   "outage",  "meter",    "token",   "wallet",
         "loan",    "pin",      "privacy",  "photo",   "branch",   "zorvex",  "kalimo",
         "tinul",   "vozoum",   "the",      "and",     "how",      "cancel",  "cancelled"};
  uint32_t seed = 777;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  auto word = [&] { // skewed: low indexes are much more frequent
    auto r = next() % 1000;
    return vocabulary[r * r / 1000 * vocabulary.size() / 1000];
  };
  auto words = [&](std::size_t count) {
    std::string s;
    for (std::size_t i = 0; i < count; ++i)
      s += word() + (next() % 9 == 0 ? ". " : " ");
    return s;
  };
  for (auto opts :
       {search_options{}, search_options{0.9, 0.4, 3.0}, search_options{2.0, 0.0, 1.0}}) {
    search_index index{opts};
    reference_scorer ref{opts, {}};
    std::vector<std::pair<std::string, std::string>> added;
    for (std::size_t d = 0; d < 300; ++d) {
      std::pair<std::string, std::string> doc;
      if (d % 23 == 22) {
        doc = added[next() % added.size()];
      } else {
        doc.first = words(next() % 5);
        doc.second = words(next() % 60);
      }
      index.add(doc.first, doc.second);
      ref.add(doc.first, doc.second);
      added.push_back(doc);
    }
    std::vector<std::string> queries = {"",
                                        "the and how",
                                        "xylophone",
                                        "refund",
                                        "refund refund",
                                        "refund xylophone",
                                        "seat luggage luggage seat"};
    for (int q = 0; q < 150; ++q) {
      auto text = words(1 + next() % 6);
      if (q % 5 == 0)
        text += " unknownterm" + std::to_string(q);
      if (q % 7 == 0)
        text += " " + text; // every term repeated
      queries.push_back(text);
    }
    // Queried before finalize (weights computed on the fly), after it, after a later add (on the
    // fly again), and finalized again.
    for (int phase = 0; phase < 4; ++phase) {
      if (phase == 1 || phase == 3)
        index.finalize();
      if (phase == 2) {
        index.add("Refund seat", "refund the seat of a cancelled booking");
        ref.add("Refund seat", "refund the seat of a cancelled booking");
      }
      CHECK(index.finalized() == (phase % 2 == 1));
      for (auto& text : queries) {
        auto all = ref.query(text, std::numeric_limits<std::size_t>::max());
        for (std::size_t k : {0u, 1u, 3u, 10u, 1000u}) {
          INFO("phase " << phase << ", query '" << text << "', k " << k);
          auto want = all;
          want.resize(std::min(k, want.size()));
          CHECK(first_difference(index.query(text, k), want) == "");
        }
      }
    }
  }
}

TEST_CASE("queries run concurrently on shared indexes of different sizes", "[search]") {
  corpus c;
  c.index.finalize();
  search_index small;
  small.add("Refund policy", "Refunds take five days.");
  small.add("Shipping", "Parcels ship in two days; refund shipping costs.");
  small.finalize();
  const std::vector<std::string> queries
      = {"refund", "shipping days", "cancel my booking", "password reset", "xylophone"};
  std::vector<std::vector<search_hit>> want;
  for (auto& q : queries) {
    want.push_back(c.index.query(q, 3));
    want.push_back(small.query(q, 3));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t)
    threads.emplace_back([&, t] {
      auto same = [](const std::vector<search_hit>& x, const std::vector<search_hit>& y) {
        if (x.size() != y.size())
          return false;
        for (std::size_t i = 0; i < x.size(); ++i)
          if (x[i].doc != y[i].doc || x[i].score != y[i].score)
            return false;
        return true;
      };
      for (int round = 0; round < 500; ++round)
        for (std::size_t q = 0; q < queries.size(); ++q) {
          mismatches[t] += same(c.index.query(queries[q], 3), want[2 * q]) ? 0 : 1;
          mismatches[t] += same(small.query(queries[q], 3), want[2 * q + 1]) ? 0 : 1;
        }
    });
  for (auto& t : threads)
    t.join();
  for (int m : mismatches)
    CHECK(m == 0);
}

TEST_CASE("a query whose terms are in every document", "[search]") {
  // Run on a new thread: its score array is then exactly this index's size, so a write past the
  // last document would reach past the end (caught by the sanitizer build).
  search_index idx;
  reference_scorer ref;
  for (auto [title, content] : {std::pair{"Gift card", "card"}, {"Card", "gift card gift"}}) {
    idx.add(title, content);
    ref.add(title, content);
  }
  idx.finalize();
  std::vector<search_hit> hits;
  std::thread([&] { hits = idx.query("gift card", 5); }).join();
  CHECK(hits.size() == 2);
  CHECK(first_difference(hits, ref.query("gift card", 5)) == "");
}

TEST_CASE("a French query's articles and prepositions do not score", "[search]") {
  search_options fr;
  fr.language = "fr";
  search_index index{fr};
  index.add("Le livre des recettes", "Le livre des recettes de la maison, des plats et des vins.");
  index.add("Paiement", "Payer une facture par carte.");
  index.finalize();
  CHECK(index.query("le des de la", 5).empty());
  auto hits = index.query("le paiement des factures", 5);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].doc == 1);
  // In English "le" and "des" are terms like any other.
  search_index en;
  en.add("Le livre des recettes", "Le livre des recettes.");
  en.add("Paiement", "Payer une facture.");
  en.finalize();
  CHECK_FALSE(en.query("le des", 5).empty());
}
