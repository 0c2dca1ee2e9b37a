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

/// Segments an SMS summary may use.
constexpr std::size_t sms_summary_segments = 3;

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
/// possible, fitted to sms_summary_segments segments.
std::string format_sms_summary(const call_summary& s);

/// Any reply for WhatsApp: valid UTF-8, trimmed, at most 4096 code points.
std::string format_whatsapp_text(std::string_view reply);

/// Any reply for SMS: markdown emphasis removed, smart-encoded, fitted to `max_segments`.
std::string format_sms_text(std::string_view reply, std::size_t max_segments);

} // namespace switchboard::core
