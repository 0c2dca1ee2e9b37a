#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchboard::sim {

/// An article as the simulated LLM read it from a prompt.
struct article_text {
  nlohmann::ordered_json id; ///< number or string; null when the prompt gave none
  std::string title;
  std::string text;
};

/// The sentences of a text, as the server splits them (core::split_sentences).
std::vector<std::string> sentences(const std::string& text);

/// The simulated LLM's grounded answer {"answer", "sources": [id], "confidence"} to `question`
/// from `articles`. A pure function, so its choice is unit-tested:
/// - the article: the question's analysed words (core::analyze_text) it contains, each weighted
///   by its rarity among the articles (idf), words of its title counting twice plus a bonus;
/// - the sentence of that article: the question's words it contains, weighted by their rarity
///   among the article's sentences, plus what answers the kind of question: "how long" / "how
///   many days" / "when" -> a duration, a time or a date (and, for "take"/"arrive"/..., words of
///   a process such as "processed" or "takes"); "how much" / "cost" / "price" -> an amount;
///   "how do I" / "how can I" -> instructions (click, open, choose, ...). Headings are skipped,
///   ties go to the earlier sentence, and Markdown emphasis is dropped from the answer;
/// - confidence 0.2 with a "could not find" answer unless the article shares two words, half the
///   question's words or a word of its title with the question; else 0.7 to 0.95 by how much of
///   the question (idf-weighted) the article covers.
nlohmann::ordered_json pick_grounded_answer(const std::string& question,
                                            const std::vector<article_text>& articles);

} // namespace switchboard::sim
