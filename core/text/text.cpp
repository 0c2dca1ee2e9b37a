#include "core/text/text.hpp"

#include "core/text/utf8.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <libstemmer.h>

namespace switchboard::core {

namespace {

constexpr char32_t invalid_cp = 0xFFFFFFFF;

/// Decodes one code point at `pos`; returns invalid_cp (and advances one byte) on bad input.
char32_t decode_utf8(std::string_view s, std::size_t& pos) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    ++pos;
    return invalid_cp;
  }
  if (pos + len > s.size()) {
    ++pos;
    return invalid_cp;
  }
  for (std::size_t i = 1; i < len; ++i) {
    unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) {
      ++pos;
      return invalid_cp;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return invalid_cp;
  }
  pos += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  out += encode_utf8(std::u32string_view{&cp, 1});
}

// ASCII folding of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A); nullptr marks
// the two symbols in that range (multiplication and division signs).
// clang-format off
constexpr std::array<const char*, 0x180 - 0xC0> latin_fold = {
  /* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
  /* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
  /* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
  /* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "y",
  /* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
  /* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
  /* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
  /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
  /* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
  /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
  /* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
  /* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};
// clang-format on

bool is_combining_mark(char32_t cp) {
  return cp >= 0x0300 && cp <= 0x036F;
}

/// Whether a (folded) code point belongs inside a word.
bool is_word_cp(char32_t cp) {
  if (cp < 0x80)
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
  if (cp < 0xC0)
    return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp == 0xD7 || cp == 0xF7)
    return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) // punctuation, symbols, arrows, dingbats, ZWJ
    return false;
  if ((cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3000 && cp <= 0x303F))
    return false;
  if ((cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE30 && cp <= 0xFE4F)) // selectors, CJK forms
    return false;
  if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFFF0 && cp <= 0xFFFF)) // fullwidth punct, specials
    return false;
  if (cp >= 0x1F000 && cp <= 0x1FAFF) // emoji and pictographs
    return false;
  if (cp >= 0xE0000 && cp <= 0xE007F) // tag characters
    return false;
  return true;
}

bool is_apostrophe(char32_t cp) {
  return cp == '\'' || cp == 0x2019;
}

} // namespace

std::string_view trim_space(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r\n\f\v");
  return s.substr(first, last - first + 1);
}

bool is_well_formed_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size())
    if (decode_utf8(text, pos) == invalid_cp)
      return false;
  return true;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t pos = 0;
  std::size_t n = 0;
  while (pos < text.size()) {
    decode_utf8(text, pos);
    ++n;
  }
  return n;
}

std::string fold_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = decode_utf8(text, pos);
    if (cp == invalid_cp) {
      out += ' ';
    } else if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
    } else if (cp >= 0xC0 && cp < 0x180) {
      const char* folded = latin_fold[cp - 0xC0];
      if (folded != nullptr)
        out += folded;
      else
        append_utf8(out, cp);
    } else if (is_combining_mark(cp)) {
      // decomposed accents ("e" + U+0301) fold like precomposed ones: the mark is dropped
    } else if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2) {
      append_utf8(out, cp + 0x20);
    } else if (cp >= 0x0410 && cp <= 0x042F) {
      append_utf8(out, cp + 0x20);
    } else if (cp >= 0x0400 && cp <= 0x040F) {
      append_utf8(out, cp + 0x50);
    } else {
      append_utf8(out, cp);
    }
  }
  return out;
}

std::vector<std::string> tokenize_text(std::string_view text) {
  std::string folded = fold_text(text);
  std::vector<std::string> tokens;
  std::string current;
  std::size_t pos = 0;
  while (pos < folded.size()) {
    std::size_t start = pos;
    char32_t cp = decode_utf8(folded, pos);
    if (cp != invalid_cp && is_word_cp(cp)) {
      current.append(folded, start, pos - start);
      continue;
    }
    if (cp != invalid_cp && is_apostrophe(cp) && !current.empty() && pos < folded.size()) {
      std::size_t peek = pos;
      char32_t next = decode_utf8(folded, peek);
      if (next != invalid_cp && is_word_cp(next))
        continue; // "don't" -> "dont"
    }
    if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty())
    tokens.push_back(std::move(current));
  return tokens;
}

bool is_stopword(std::string_view token) {
  // Sorted for binary search.
  static constexpr std::array<std::string_view, 147> words = {
      "a",     "about",    "above",      "after",     "again",   "against", "all",     "am",
      "an",    "and",      "any",        "are",       "as",      "at",      "be",      "because",
      "been",  "before",   "being",      "below",     "between", "both",    "but",     "by",
      "can",   "cant",     "could",      "did",       "do",      "does",    "doesnt",  "doing",
      "dont",  "down",     "during",     "each",      "few",     "for",     "from",    "further",
      "get",   "got",      "had",        "has",       "have",    "having",  "he",      "hello",
      "her",   "here",     "hers",       "herself",   "hey",     "hi",      "him",     "himself",
      "his",   "how",      "hows",       "i",         "id",      "if",      "im",      "in",
      "into",  "is",       "it",         "its",       "itself",  "ive",     "just",    "know",
      "me",    "more",     "most",       "my",        "myself",  "need",    "no",      "nor",
      "not",   "now",      "of",         "off",       "on",      "once",    "only",    "or",
      "other", "our",      "ours",       "ourselves", "out",     "over",    "own",     "please",
      "same",  "she",      "should",     "so",        "some",    "such",    "tell",    "than",
      "thank", "thanks",   "that",       "the",       "their",   "theirs",  "them",    "themselves",
      "then",  "there",    "these",      "they",      "this",    "those",   "through", "to",
      "too",   "under",    "until",      "up",        "very",    "want",    "was",     "we",
      "were",  "what",     "whats",      "when",      "where",   "which",   "while",   "who",
      "whom",  "why",      "will",       "with",      "would",   "you",     "your",    "youre",
      "yours", "yourself", "yourselves",
  };
  return std::binary_search(words.begin(), words.end(), token);
}

namespace {

/// The stopwords of the languages that have a list, folded (after Snowball's published lists,
/// shortened to the function words that carry no meaning in a support question): a language's
/// code, its name and its words, separated by spaces.
struct stopword_list {
  std::string_view code;
  std::string_view name;
  std::string_view words;
};

const std::unordered_set<std::string_view>* stopwords_of(std::string_view language) {
  static constexpr stopword_list lists[] = {
      {"fr", "french",
       "a ai au aux avec avez avons c ca ce ces cette comment d dans de des du elle elles en es "
       "est et etait ete etre eux il ils j je l la le les leur leurs lui m ma mais me meme mes moi "
       "mon n ne nos notre nous on ont ou par pas pour qu quand que quel quelle qui s sa se ses "
       "son sont suis sur t ta te tes toi ton tu un une vos votre vous y bonjour merci svp sil "
       "plait"},
      {"pt", "portuguese",
       "a ao aos as com como da das de do dos e ela elas ele eles em entre era essa esse esta este "
       "eu foi ha isso isto ja lhe mais mas me meu minha muito na nas nao no nos o os ou para pela "
       "pelo por qual quando que se sem ser seu sua sao tambem te tem um uma voce voces ola "
       "obrigado obrigada"},
      {"es", "spanish",
       "a al algo como con de del desde donde e el ella ellas ellos en entre era es esa ese esta "
       "este esto estoy fue ha hay la las le les lo los me mi mis mucho muy ni no nos o para pero "
       "por porque que quien se sea ser si sin sobre su sus tambien te tengo ti tu tus un una uno "
       "y ya yo hola gracias"},
      {"de", "german",
       "aber alle als am an auch auf aus bei bin bis bist da das dass dem den der des die dich dir "
       "du ein eine einem einen einer eines er es fur habe haben hat ich ihr im in ist ja kann "
       "mich mir mit nach nicht noch nur oder sich sie sind so uber um und uns von war was wie wir "
       "wird zu zum zur hallo danke bitte"},
      {"it", "italian",
       "a ad al alla alle anche che chi ci come con da dal dalla dei del della delle di e ed gli "
       "ha hanno ho i il in io la le lei lo loro lui ma mi mia mio ne nei nel nella noi non o per "
       "perche piu quale quando questa questo se si sono su sua suo tra tu un una uno vi voi ciao "
       "grazie"},
      {"nl", "dutch",
       "aan al als bij dan dat de der deze die dit doch door een en er had heb heeft het hij hoe "
       "hun ik in is je kan maar me men met mij mijn na naar niet nog of om ons ook op over te tot "
       "u uit van voor was wat we wel wie wij zal ze zich zij zijn zo hallo bedankt"},
  };
  // Split once (thread-safe static initialisation); the views point into the literals above.
  static const auto sets = [] {
    std::vector<std::unordered_set<std::string_view>> out;
    for (const auto& list : lists) {
      auto& words = out.emplace_back();
      std::string_view rest = list.words;
      while (!rest.empty()) {
        auto space = rest.find(' ');
        words.insert(rest.substr(0, space));
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
      }
    }
    return out;
  }();
  for (std::size_t i = 0; i < std::size(lists); ++i)
    if (language == lists[i].code || language == lists[i].name)
      return &sets[i];
  return nullptr;
}

} // namespace

bool is_stopword(std::string_view token, std::string_view language) {
  if (const auto* words = stopwords_of(language))
    return words->count(token) > 0;
  return is_stopword(token);
}

namespace {

struct stemmer_deleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};
using stemmer_ptr = std::unique_ptr<sb_stemmer, stemmer_deleter>;

/// This thread's stemmer for `language` (libstemmer's are not thread safe), nullptr when
/// libstemmer has no such algorithm. Created on first use, freed when the thread ends.
sb_stemmer* thread_stemmer(std::string_view language) {
  thread_local std::map<std::string, stemmer_ptr, std::less<>> stemmers;
  auto it = stemmers.find(language);
  if (it == stemmers.end()) {
    std::string name{language};
    stemmer_ptr s{sb_stemmer_new(name.c_str(), "UTF_8")};
    it = stemmers.emplace(std::move(name), std::move(s)).first;
  }
  return it->second.get();
}

} // namespace

std::string stemmer_language(std::string_view locale) {
  auto code = std::string{locale.substr(0, locale.find_first_of("_-"))};
  std::transform(code.begin(), code.end(), code.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (code.empty() || thread_stemmer(code) == nullptr)
    return "english";
  return code;
}

std::string stem_word(std::string_view token, std::string_view language) {
  sb_stemmer* s = thread_stemmer(language);
  if (s == nullptr)
    s = thread_stemmer("english");
  const sb_symbol* stem = sb_stemmer_stem(s, reinterpret_cast<const sb_symbol*>(token.data()),
                                          static_cast<int>(token.size()));
  if (stem == nullptr) // out of memory
    return std::string{token};
  return std::string{reinterpret_cast<const char*>(stem),
                     static_cast<std::size_t>(sb_stemmer_length(s))};
}

std::vector<std::string> analyze_text(std::string_view text, std::string_view language) {
  std::vector<std::string> terms;
  for (auto& token : tokenize_text(text))
    if (!is_stopword(token, language))
      terms.push_back(stem_word(token, language));
  return terms;
}

namespace {

bool is_blank(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\f' || c == U'\v'
         || c == 0x00A0 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x3000;
}

} // namespace

std::vector<std::string> split_sentences(std::string_view text) {
  auto cps = decode_utf8(text);
  std::vector<std::string> out;
  std::u32string_view rest{cps};
  std::u32string cur;
  auto flush = [&] {
    std::u32string_view s{cur};
    while (!s.empty() && is_blank(s.front()))
      s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back()))
      s.remove_suffix(1);
    if (!s.empty())
      out.push_back(encode_utf8(s));
    cur.clear();
  };
  for (std::size_t i = 0; i < rest.size(); ++i) {
    auto c = rest[i];
    bool last = i + 1 == rest.size();
    cur += c == U'\n' ? U' ' : c;
    bool stop
        = (c == U'.' || c == U'!' || c == U'?' || c == 0x2026) && (last || is_blank(rest[i + 1]));
    bool blank_line = c == U'\n' && !last && rest[i + 1] == U'\n';
    if (stop || blank_line)
      flush();
  }
  flush();
  return out;
}

} // namespace switchboard::core
