#pragma once

// core/text/: text as the product handles it, provider-neutral and pure: UTF-8 (utf8.hpp), this
// header's validation, folding, tokenising, stemming and sentence splitting, SMS encoding and
// segmentation (GSM-7 / UCS-2, sms.hpp) and the Help Center's BM25F search (search.hpp).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

/// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_well_formed_utf8(std::string_view text);

/// Number of code points in well-formed UTF-8 (each invalid byte counts as one).
std::size_t utf8_length(std::string_view text);

/// `s` without leading and trailing ASCII white space (space, tab, CR, LF, FF, VT).
std::string_view trim_space(std::string_view s);

/// Lower-cases and folds accents: ASCII, Latin-1 and Latin Extended-A map to plain ASCII
/// ("É" -> "e", "ß" -> "ss", "Œ" -> "oe"); basic Greek and Cyrillic capitals are lower-cased; other
/// code points are kept; invalid UTF-8 bytes become spaces.
std::string fold_text(std::string_view text);

/// Splits text into folded word tokens: runs of letters and digits (apostrophes inside a word are
/// dropped, so "don't" -> "dont"); punctuation, symbols, emoji and whitespace separate tokens.
std::vector<std::string> tokenize_text(std::string_view text);

/// True for a token in the small English stopword list: function words ("the", "how", "to") and
/// filler verbs of support questions ("get", "want", "need"); expects folded text.
bool is_stopword(std::string_view token);

/// True for a token in the stopword list of `language` (a Snowball name or code, as
/// stemmer_language and stem_word take it): short curated lists after Snowball's published
/// ones for French, Portuguese, Spanish, German, Italian and Dutch, folded like tokens ("été"
/// -> "ete"); English (is_stopword above) for English and every language without a list.
bool is_stopword(std::string_view token, std::string_view language);

/// Snowball algorithm for a locale (Chatwoot's "en", "fr", "pt_BR", "pt-BR"): its language code,
/// which libstemmer takes as an alias of the algorithm ("fr" -> french), when libstemmer knows it;
/// "english" otherwise (unknown or empty locale).
std::string stemmer_language(std::string_view locale);

/// Snowball stem of one folded token in `language` (a libstemmer algorithm name or alias:
/// "english", "french", "pt"; an unknown one stems as English). Tokens are folded before they are
/// stemmed, so "annulée" and "annulee" (typed without accents) get the same stem. Uses one
/// stemmer per thread and language: libstemmer's stemmers are not thread safe.
std::string stem_word(std::string_view token, std::string_view language = "english");

/// Search terms of a text: tokenize_text, drop the stopwords of `language`, stem_word in it.
std::vector<std::string> analyze_text(std::string_view text, std::string_view language = "english");

/// The sentences of a text, trimmed, in order: a sentence ends after ".", "!", "?" or "…"
/// followed by white space or the end, and at a blank line ("\n\n"); a single line break inside a
/// sentence becomes a space. Invalid UTF-8 bytes become U+FFFD.
std::vector<std::string> split_sentences(std::string_view text);

} // namespace switchboard::core
