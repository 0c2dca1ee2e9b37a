#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

/// The post-call summary the voice pipeline hands over, to be sent to the customer.
struct call_summary {
  std::string call_id;                   ///< voice platform's call id
  std::string summary;                   ///< free text, possibly several lines or a bullet list
  std::string outcome;                   ///< e.g. "resolved", "callback scheduled"
  std::string language;                  ///< BCP 47 tag; "fr*" gives French labels, else English
  std::string customer_name;             ///< greeting name; may be empty
  std::vector<std::string> action_items; ///< explicit next steps; may be empty
};

/// WhatsApp caps a text message body at 4096 characters.
constexpr std::size_t whatsapp_text_limit = 4096;

/// Segments an SMS summary uses unless told otherwise (the default of sms.max_segments).
constexpr std::size_t sms_summary_segments = 3;

/// Code points a WhatsApp template body parameter may take. Meta caps a template body at 1024
/// characters with its parameters filled in; this leaves 124 for the approved template's own text.
constexpr std::size_t whatsapp_template_parameter_limit = 900;

/// Key points of a summary: its lines (bullet markers such as "-", "*", "•", "1." removed) or,
/// when it is a single paragraph, its sentences.
std::vector<std::string> summary_key_points(std::string_view summary);

/// At most `max_code_points` code points of `text` (valid UTF-8 out, whatever came in), cut on
/// a word boundary where possible with "…" appended when something was removed.
std::string truncate_text(std::string_view text, std::size_t max_code_points);

/// WhatsApp rendering: bold title, greeting, the summary with "Next steps" bullets (or "Key
/// points" derived from the summary when there are no action items) and a bold outcome line;
/// at most 4096 code points, shortening the body so the outcome line survives.
std::string format_whatsapp_summary(const call_summary& s);

/// SMS rendering: plain text (no markdown), outcome first, smart-encoded to stay GSM-7 where
/// possible, fitted to `max_segments` segments (sms.max_segments).
std::string format_sms_summary(const call_summary& s,
                               std::size_t max_segments = sms_summary_segments);

/// A WhatsApp template body parameter made of any text (a rich WhatsApp message included): one
/// line of plain text, since Meta refuses parameters with a newline, a tab or more than 4
/// consecutive spaces (error 132018). Markdown emphasis and leading emoji or list markers go,
/// lines become sentences ("Heading: item; item."), every run of whitespace becomes one space,
/// and text over `max_code_points` is cut after a sentence (or else a word) with "…".
std::string format_template_parameter(std::string_view text, std::size_t max_code_points
                                                             = whatsapp_template_parameter_limit);

/// Any reply for WhatsApp: valid UTF-8, trimmed, at most 4096 code points.
std::string format_whatsapp_text(std::string_view reply);

/// Any reply for SMS: markdown emphasis removed, smart-encoded, fitted to `max_segments`.
std::string format_sms_text(std::string_view reply, std::size_t max_segments);

/// Escapes text for Telegram's parse_mode HTML: & < > and " become entities.
std::string telegram_html_escape(std::string_view text);

} // namespace switchboard::core
