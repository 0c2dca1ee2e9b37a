#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "providers/common.hpp"

namespace switchboard::providers {

/// A mailbox: optional display name (UTF-8) and an ASCII addr-spec ("local@domain").
struct email_address {
  std::string name;
  std::string address;
};

/// Content-Transfer-Encoding of the text/plain body.
enum class email_encoding : uint8_t { quoted_printable, base64 };

/// A plain-text email to hand to an SMTP client.
struct email_message {
  email_address from;
  std::vector<email_address> to;
  std::string subject; ///< UTF-8; RFC 2047-encoded unless plain, foldable ASCII
  std::string body;    ///< UTF-8 text; any line endings (normalised to CRLF)
  int64_t date_unix = 0;
  std::string message_id; ///< without <>; "<random hex>@<from domain>" when empty
  email_encoding encoding = email_encoding::quoted_printable;
};

/// Builds the RFC 5322 message (CRLF line endings): From, To, Subject, Date, Message-ID,
/// MIME-Version, Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding, blank line,
/// encoded body. Header injection is impossible: CR, LF or other control characters in any
/// header input, an invalid address or invalid UTF-8 yield sb_error::invalid_argument naming the
/// field. SMTP dot-stuffing is left to the SMTP client.
expected<std::string> build_email(const email_message& msg);

/// RFC 2047 "B" encoded-words (=?UTF-8?B?...?=, each at most 64 characters, never splitting a
/// UTF-8 sequence) separated by CRLF SP, for a header value that is not plain ASCII.
std::string email_encode_header_words(std::string_view utf8);

/// RFC 2045 quoted-printable of text: CRLF line breaks, soft breaks keeping lines <= 76
/// characters, trailing white space and a leading '.' encoded.
std::string email_quoted_printable(std::string_view text);

/// RFC 5322 date-time in UTC, e.g. "Tue, 03 Mar 2020 13:05:57 +0000".
std::string email_date(int64_t unix_seconds);

} // namespace switchboard::providers
