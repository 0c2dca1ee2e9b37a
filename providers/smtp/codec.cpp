#include "providers/smtp/codec.hpp"

#include <algorithm>
#include <cstdio>

#include "core/crypto.hpp"
#include "core/text/text.hpp"

namespace switchboard::providers {

using namespace core;

namespace {

constexpr std::string_view crlf = "\r\n";

caf::error invalid(std::string reason) {
  return caf::make_error(sb_error::invalid_argument, std::move(reason));
}

/// Control characters other than TAB (including CR and LF) are never allowed in header inputs.
bool has_control(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F)
      return true;
  }
  return false;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80)
      return false;
  return true;
}

bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view{"!#$%&'*+/=?^_`{|}~-"}.find(c) != std::string_view::npos;
}

/// addr-spec with a dot-atom local part and a host name domain (no quoted locals, no literals).
bool valid_address(std::string_view a) {
  auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= a.size() || a.size() > 254)
    return false;
  auto local = a.substr(0, at);
  auto domain = a.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  for (char c : local)
    if (!is_atext(c) && c != '.')
      return false;
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return false;
  for (char c : domain)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
          || c == '.'))
      return false;
  return true;
}

expected<std::string> mailbox(const email_address& m, const std::string& field) {
  if (has_control(m.name))
    return invalid(field + ".name: contains CR, LF or another control character");
  if (!is_well_formed_utf8(m.name))
    return invalid(field + ".name: invalid UTF-8");
  if (has_control(m.address) || !valid_address(m.address))
    return invalid(field + ": invalid address '" + m.address + "'");
  if (m.name.empty())
    return m.address;
  std::string name;
  if (is_ascii(m.name) && m.name.find("=?") == std::string::npos) {
    name = "\"";
    for (char c : m.name) {
      if (c == '"' || c == '\\')
        name += '\\';
      name += c;
    }
    name += '"';
  } else {
    name = email_encode_header_words(m.name);
  }
  return name + " <" + m.address + ">";
}

/// Length of the longest run without a space: folding cannot shorten it.
std::size_t longest_word(std::string_view s) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (char c : s) {
    run = c == ' ' ? 0 : run + 1;
    longest = std::max(longest, run);
  }
  return longest;
}

/// Folds an ASCII header at spaces so lines stay within 78 characters where possible.
std::string fold_ascii(std::string_view header_name, std::string_view value) {
  std::string out{header_name};
  out += ": ";
  std::size_t line_len = out.size();
  std::size_t pos = 0;
  bool first = true;
  while (pos < value.size()) {
    auto space = value.find(' ', pos + 1);
    auto word = value.substr(pos, space == std::string_view::npos ? value.npos : space - pos);
    if (!first && line_len + word.size() > 78 && word.size() > 1 && word[0] == ' ') {
      out += crlf; // the word's leading space becomes the continuation's white space
      line_len = 0;
    }
    out += word;
    line_len += word.size();
    first = false;
    pos += word.size();
  }
  return out;
}

} // namespace

std::string email_encode_header_words(std::string_view utf8) {
  constexpr std::size_t max_bytes = 39; // 52 base64 characters: 64-character encoded-words
  std::string out;
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    std::size_t end = std::min(pos + max_bytes, utf8.size());
    // Never split a UTF-8 sequence: back up to a lead byte.
    while (end < utf8.size() && end > pos && (static_cast<unsigned char>(utf8[end]) & 0xC0) == 0x80)
      --end;
    if (end == pos)
      end = std::min(pos + max_bytes, utf8.size());
    if (!out.empty())
      out += "\r\n ";
    out += "=?UTF-8?B?";
    out += base64_encode(utf8.substr(pos, end - pos));
    out += "?=";
    pos = end;
  }
  return out;
}

std::string email_quoted_printable(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t pos = 0;
  bool first_line = true;
  while (pos <= text.size()) {
    auto eol = text.find_first_of("\r\n", pos);
    auto line = text.substr(pos, eol == std::string_view::npos ? text.npos : eol - pos);
    if (!first_line)
      out += crlf;
    first_line = false;
    std::size_t line_len = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::string piece;
      bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      if (c == '.' && i == 0)
        literal = false; // a lone "." line would end the SMTP DATA phase
      if (literal) {
        piece = static_cast<char>(c);
      } else {
        piece = {'=', hex[c >> 4], hex[c & 0x0F]};
      }
      // Keep room for the soft break "=" unless this is the last piece of the line.
      std::size_t limit = last ? 76 : 75;
      if (line_len + piece.size() > limit) {
        out += "=\r\n";
        line_len = 0;
      }
      out += piece;
      line_len += piece.size();
    }
    if (eol == std::string_view::npos)
      break;
    pos = eol + (text[eol] == '\r' && eol + 1 < text.size() && text[eol + 1] == '\n' ? 2 : 1);
    if (pos == text.size()) {
      out += crlf;
      break;
    }
  }
  return out;
}

std::string email_date(int64_t unix_seconds) {
  static constexpr const char* days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* months[]
      = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t z = unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;
  int64_t secs = unix_seconds - z * 86400;
  auto weekday = static_cast<std::size_t>(((z % 7) + 7) % 7);
  // civil_from_days (Howard Hinnant's algorithm).
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02u %s %04lld %02lld:%02lld:%02lld +0000", days[weekday], d,
                months[m - 1], static_cast<long long>(y), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

expected<std::string> build_email(const email_message& msg) {
  auto from = mailbox(msg.from, "from");
  if (!from)
    return std::move(from.error());
  if (msg.to.empty())
    return invalid("to: at least one recipient is required");
  std::string to;
  for (std::size_t i = 0; i < msg.to.size(); ++i) {
    auto box = mailbox(msg.to[i], "to[" + std::to_string(i) + "]");
    if (!box)
      return std::move(box.error());
    if (i > 0)
      to += ",\r\n ";
    to += *box;
  }
  if (has_control(msg.subject))
    return invalid("subject: contains CR, LF or another control character");
  if (!is_well_formed_utf8(msg.subject))
    return invalid("subject: invalid UTF-8");
  if (!is_well_formed_utf8(msg.body))
    return invalid("body: invalid UTF-8");
  std::string message_id = msg.message_id;
  if (message_id.empty()) {
    message_id = random_hex(16) + "@" + msg.from.address.substr(msg.from.address.find('@') + 1);
  } else {
    bool ok = message_id.find('@') != std::string::npos && is_ascii(message_id);
    for (char c : message_id)
      ok = ok && c > ' ' && c != '<' && c != '>' && c != 0x7F;
    if (!ok)
      return invalid("message_id: must be id-left@id-right without spaces, controls or <>");
  }
  std::string out;
  out += "From: " + *from + "\r\n";
  out += "To: " + to + "\r\n";
  if (is_ascii(msg.subject) && msg.subject.find("=?") == std::string::npos
      && longest_word(msg.subject) <= 900)
    out += fold_ascii("Subject", msg.subject);
  else
    out += "Subject: " + email_encode_header_words(msg.subject);
  out += crlf;
  out += "Date: " + email_date(msg.date_unix) + "\r\n";
  out += "Message-ID: <" + message_id + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  if (msg.encoding == email_encoding::quoted_printable) {
    out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    out += email_quoted_printable(msg.body);
  } else {
    out += "Content-Transfer-Encoding: base64\r\n\r\n";
    // Normalise line endings first so the decoded text is CRLF like a QP body.
    std::string text;
    for (std::size_t i = 0; i < msg.body.size(); ++i) {
      if (msg.body[i] == '\r') {
        text += crlf;
        if (i + 1 < msg.body.size() && msg.body[i + 1] == '\n')
          ++i;
      } else if (msg.body[i] == '\n') {
        text += crlf;
      } else {
        text += msg.body[i];
      }
    }
    auto b64 = base64_encode(text);
    for (std::size_t i = 0; i < b64.size(); i += 76) {
      out += b64.substr(i, 76);
      out += crlf;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, crlf) != 0)
    out += crlf;
  return out;
}

} // namespace switchboard::providers
