#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bot/chatwoot.hpp"
#include "core/bot/phrases.hpp"
#include "core/error.hpp"
#include "core/llm.hpp"
#include "core/text/search.hpp"

namespace switchboard::core {

/// Tuning of the support bot.
struct bot_settings {
  /// Phrases matched by asks_for_human.
  std::vector<std::string> handoff_phrases = default_handoff_phrases();
  /// Answers below this confidence are escalated instead of sent.
  double confidence_threshold = 0.55;
  /// Search hits scoring below this BM25 score are ignored.
  double min_score = 0.5;
  /// Articles considered per question.
  std::size_t top_k = 3;
  /// Upper bound of an extractive answer, in bytes (cut at a word boundary).
  std::size_t max_answer_chars = 500;
  /// Upper bound of an extractive answer, in sentences.
  std::size_t max_answer_sentences = 3;
  /// Article content included in the LLM prompt is cut to this many bytes per article.
  std::size_t max_article_chars = 4000;
  /// Instructions placed before the articles in the LLM prompt (e.g. read from a prompt file);
  /// empty: the built-in instructions of grounded_answer_request.
  std::string system_prompt;
};

/// True when `text` contains one of `phrases` as whole words, ignoring case and accents and
/// allowing plural/verb endings (-s, -es, -ed, -ing) ("HUMAN please", "humán", "agents" match
/// "human"/"agent"; "humanity" does not).
bool asks_for_human(std::string_view text, const std::vector<std::string>& phrases);

/// Why the bot hands a conversation to a human (none: it answers). help_center_unreadable:
/// Chatwoot refused the article read (401/403/404); help_center_unavailable: it failed otherwise
/// (unreachable, 5xx, an unreadable answer). Neither is "no article matched".
enum class escalation_reason : uint8_t {
  none,
  asked_for_human,
  low_confidence,
  no_match,
  help_center_unreadable,
  help_center_unavailable,
};

/// Stable name ("none", "asked_for_human", "low_confidence", "no_match",
/// "help_center_unreadable", "help_center_unavailable") for logs and metrics.
std::string to_string(escalation_reason x);

/// One sentence for the agents' private note, e.g. "The customer asked to talk to a human.".
std::string escalation_sentence(escalation_reason x);

/// An article an answer is based on.
struct answer_source {
  int64_t article_id = 0;
  std::string title;
  std::string url;
};

/// An answer ready to send, with its sources and a confidence in [0, 1].
struct bot_answer {
  std::string answer;
  std::vector<answer_source> sources;
  double confidence = 0.0;
};

/// The hits worth answering from: score >= min_score, best first, at most top_k.
std::vector<search_hit> relevant_hits(std::vector<search_hit> hits, const bot_settings& s);

/// The bot's decision for a customer message, in order: asked_for_human when the text matches a
/// handoff phrase; no_match when no hit reaches min_score; low_confidence when there is no answer,
/// an empty one, or one below confidence_threshold; otherwise none.
escalation_reason decide(std::string_view customer_text, const std::vector<search_hit>& hits,
                         const std::optional<bot_answer>& answer, const bot_settings& s);

/// Answer without an LLM: the sentences of `article` sharing the most search terms with
/// `question` (ties: earlier first), at most max_answer_sentences and max_answer_chars, in
/// article order; headings and Markdown/HTML markup are dropped (markdown_lines), terms are
/// stemmed in the article's locale (stemmer_language). The confidence is the hit's
/// relevance (its BM25F score over the query's ideal score, see search_hit): an article that
/// matches every term of the question strongly scores near 1, one that lacks terms scores less.
bot_answer extractive_answer(std::string_view question, const help_article& article,
                             const search_hit& hit, const bot_settings& s);

/// The text the search index holds for an article's content: its description, then its Markdown
/// content as plain lines (markdown_lines: headings kept, markup dropped, entities decoded).
std::string article_search_text(const help_article& article);

/// The Snowball language of a portal: the most common stemmer_language of its articles' locales
/// (the first to reach that count on a tie); "english" for no articles.
std::string help_center_language(const std::vector<help_article>& articles);

/// A finalized index of a portal's articles (title, article_search_text), stemmed in
/// help_center_language; document i is articles[i].
search_index help_center_index(const std::vector<help_article>& articles);

/// The reply text: the answer, then "Sources:" and one "- title: url" line per source.
std::string render_reply(const bot_answer& answer);

/// Private note for the agents when the bot escalates: the reason, the customer's message, the
/// answer's confidence when known and the closest articles.
std::string escalation_note(escalation_reason reason, std::string_view customer_text,
                            const std::vector<answer_source>& closest,
                            std::optional<double> confidence = {});

/// Chat-completions request for a grounded answer: a system prompt (s.system_prompt or the
/// built-in one) that allows answering only from the given articles (each with its id, title, link
/// and content cut to max_article_chars) and asks for a JSON object {"answer", "sources": [article
/// ids], "confidence": 0..1}; the question as the user message; JSON response format; temperature
/// 0.2.
llm_request grounded_answer_request(std::string model, std::string_view question,
                                    const std::vector<help_article>& articles,
                                    const bot_settings& s);

/// Reads the model's reply to grounded_answer_request. Sources may be article ids or titles;
/// unknown ones are dropped, and an answer citing none of the articles gets confidence 0 (it is
/// not grounded). Confidence must be a number and is clamped to [0, 1]. A ```json fence is
/// tolerated. Non-JSON content, a missing/empty answer or a missing confidence ->
/// sb_error::malformed, so the caller falls back to extractive_answer.
expected<bot_answer> parse_grounded_answer(std::string_view content,
                                           const std::vector<help_article>& articles);

} // namespace switchboard::core
