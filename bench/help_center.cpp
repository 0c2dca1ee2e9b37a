#include "bench/help_center.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::bench {

namespace {

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

synthetic_article make_article(std::mt19937_64& rng, const std::vector<std::string>& products,
                               const std::vector<std::string>& lexicon) {
  synthetic_article a;
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
} // namespace

std::string synthetic_question(std::mt19937_64& rng, const synthetic_article& a) {
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

std::vector<synthetic_article> synthetic_corpus(std::mt19937_64& rng, std::size_t n) {
  auto products = product_names(rng, 400);
  auto lexicon = product_names(rng, 30000); // feature names, places, codes
  std::vector<synthetic_article> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_article(rng, products, lexicon));
  return out;
}

} // namespace switchboard::bench
