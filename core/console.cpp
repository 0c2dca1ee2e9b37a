#include "core/console.hpp"

#include <charconv>

#include "core/form.hpp"
#include "core/phone.hpp"

namespace switchboard::core {

namespace {

bool parse_int(std::string_view text, int64_t& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size();
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
  if (v.empty())
    return true;
  for (auto a : allowed)
    if (v == a)
      return true;
  return false;
}

bool read_page(const form_params& f, console_page& page, std::string& why) {
  if (auto l = form_value(f, "limit"); !l.empty()) {
    int64_t n = 0;
    if (!parse_int(l, n) || n < 1 || n > 500) {
      why = "limit must be a number from 1 to 500";
      return false;
    }
    page.limit = static_cast<int>(n);
  }
  if (auto b = form_value(f, "before_id"); !b.empty()) {
    int64_t n = 0;
    if (!parse_int(b, n) || n < 1) {
      why = "before_id must be a positive number";
      return false;
    }
    page.before_id = n;
  }
  return true;
}

/// A phone filter in E.164 when it is one ("+250 788…" or "250788…"), else as typed.
std::string phone_of(std::string_view raw) {
  if (raw.empty())
    return {};
  if (auto p = normalize_phone(raw))
    return *p;
  return std::string{raw};
}

bool reveal_of(const form_params& f) {
  auto r = form_value(f, "reveal");
  return r == "1" || r == "true";
}

} // namespace

bool console_reveal(std::string_view query) {
  return reveal_of(parse_form(query));
}

std::optional<console_page> parse_console_page(std::string_view query, std::string& why) {
  console_page page;
  if (!read_page(parse_form(query), page, why))
    return std::nullopt;
  return page;
}

std::optional<delivery_filter> parse_delivery_filter(std::string_view query, std::string& why) {
  auto f = parse_form(query);
  delivery_filter d;
  d.phone = phone_of(form_value(f, "phone"));
  d.correlation_id = std::string{form_value(f, "correlation_id")};
  d.channel = std::string{form_value(f, "channel")};
  d.status = std::string{form_value(f, "status")};
  d.direction = std::string{form_value(f, "direction")};
  d.reveal = reveal_of(f);
  if (!one_of(d.channel, {"whatsapp", "sms"})) {
    why = "channel must be whatsapp or sms";
    return std::nullopt;
  }
  if (!one_of(d.direction, {"inbound", "outbound"})) {
    why = "direction must be inbound or outbound";
    return std::nullopt;
  }
  if (!one_of(d.status, {"queued", "sent", "delivered", "read", "failed", "skipped", "received"})) {
    why = "status must be one of queued, sent, delivered, read, failed, skipped, received";
    return std::nullopt;
  }
  if (!read_page(f, d.page, why))
    return std::nullopt;
  return d;
}

std::optional<queue_filter> parse_queue_filter(std::string_view query, std::string& why) {
  auto f = parse_form(query);
  queue_filter q;
  q.status = std::string{form_value(f, "status")};
  if (!one_of(q.status, {"queued", "retrying", "failed"})) {
    why = "status must be queued, retrying or failed";
    return std::nullopt;
  }
  if (!read_page(f, q.page, why))
    return std::nullopt;
  return q;
}

std::optional<session_filter> parse_session_filter(std::string_view query, std::string& why) {
  auto f = parse_form(query);
  session_filter s;
  s.status = std::string{form_value(f, "status")};
  s.phone = phone_of(form_value(f, "phone"));
  s.reveal = reveal_of(f);
  if (!one_of(s.status, {"active", "follow_up", "closed"})) {
    why = "status must be active, follow_up or closed";
    return std::nullopt;
  }
  if (!read_page(f, s.page, why))
    return std::nullopt;
  return s;
}

std::optional<bot_filter> parse_bot_filter(std::string_view query, std::string& why) {
  auto f = parse_form(query);
  bot_filter b;
  b.reveal = reveal_of(f);
  if (auto h = form_value(f, "hours"); !h.empty()) {
    int64_t n = 0;
    if (!parse_int(h, n) || n < 1 || n > 8760) {
      why = "hours must be a number from 1 to 8760";
      return std::nullopt;
    }
    b.hours = static_cast<int>(n);
  }
  return b;
}

std::string console_body(std::string_view body, bool reveal) {
  return reveal ? std::string{body} : mask_text(body);
}

std::string console_phone(std::string_view phone, bool reveal) {
  return reveal ? std::string{phone} : mask_phone(phone);
}

} // namespace switchboard::core
