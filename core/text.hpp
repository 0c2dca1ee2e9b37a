#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

/// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_well_formed_utf8(std::string_view text);

/// Number of code points in well-formed UTF-8 (each invalid byte counts as one).
std::size_t utf8_length(std::string_view text);

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

/// Light, predictable English stemming of one folded token: Porter's step 1 (plurals, -ed, -ing,
/// final y -> i), Porter's step 5b (double l after a long stem) and -ly after a stem of 5+ letters.
/// Tokens of three characters or fewer and tokens with non-ASCII bytes are returned unchanged.
std::string stem_word(std::string_view token);

/// Search terms of a text: tokenize_text, drop stopwords, stem_word.
std::vector<std::string> analyze_text(std::string_view text);

/// The sentences of a text, trimmed, in order: a sentence ends after ".", "!", "?" or "…"
/// followed by white space or the end, and at a blank line ("\n\n"); a single line break inside a
/// sentence becomes a space. Invalid UTF-8 bytes become U+FFFD.
std::vector<std::string> split_sentences(std::string_view text);

/// Tokens of a text stemmed but with stopwords kept, for phrase matching ("speak to someone").
std::vector<std::string> phrase_terms(std::string_view text);

} // namespace switchboard::core
