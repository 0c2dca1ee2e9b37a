#include <catch2/catch.hpp>

#include <regex>

#include "core/crypto.hpp"
#include "providers/smtp/codec.hpp"

using namespace switchboard::core;
using namespace switchboard::providers;

namespace {

email_message sample() {
  email_message m;
  m.from = {"Switchboard", "noreply@sb.example.com"};
  m.to = {{"", "jane@example.com"}};
  m.subject = "Your order has shipped";
  m.body = "Hello Jane,\nYour parcel is on its way.\n";
  m.date_unix = 1583240757;
  m.message_id = "abc123@sb.example.com";
  return m;
}

std::string build_ok(const email_message& m) {
  auto r = build_email(m);
  if (!r)
    FAIL(reason_of(r.error()));
  return *r;
}

std::string reason_for(const email_message& m) {
  auto r = build_email(m);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == sb_error::invalid_argument);
  return reason_of(r.error());
}

std::vector<std::string> crlf_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find("\r\n", pos);
    REQUIRE(eol != std::string::npos); // every line ends with CRLF
    lines.push_back(text.substr(pos, eol - pos));
    pos = eol + 2;
  }
  return lines;
}

/// Decodes quoted-printable per RFC 2045 section 6.7 (independent of the encoder).
std::string qp_decode(const std::string& qp) {
  std::string out;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] != '=') {
      out += qp[i];
    } else if (qp.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

} // namespace

TEST_CASE("a plain ASCII email, byte for byte", "[email]") {
  CHECK(build_ok(sample())
        == "From: \"Switchboard\" <noreply@sb.example.com>\r\n"
           "To: jane@example.com\r\n"
           "Subject: Your order has shipped\r\n"
           "Date: Tue, 03 Mar 2020 13:05:57 +0000\r\n"
           "Message-ID: <abc123@sb.example.com>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=UTF-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n"
           "\r\n"
           "Hello Jane,\r\n"
           "Your parcel is on its way.\r\n");
}

TEST_CASE("non-ASCII subjects and names are RFC 2047 encoded", "[email]") {
  auto m = sample();
  m.subject = "Ihre Bestellung ist unterwegs 🚚 – Größe M"; // 48 bytes: two encoded-words
  m.from.name = "Zoë's Shop";
  auto text = build_ok(m);
  auto lines = crlf_lines(text);
  std::regex word{"=\\?UTF-8\\?B\\?([A-Za-z0-9+/=]+)\\?="};
  std::smatch from_word;
  REQUIRE(std::regex_search(lines[0], from_word, word));
  CHECK(base64_decode(from_word[1].str()) == std::optional<std::string>{"Zoë's Shop"});
  CHECK(lines[0].rfind("From: =?UTF-8?B?", 0) == 0);
  CHECK(lines[0].find("?= <noreply@sb.example.com>") != std::string::npos);
  // Reassemble the Subject header (first line plus continuation lines) and decode its words.
  std::string subject;
  bool in_subject = false;
  for (auto& l : lines) {
    if (l.rfind("Subject: ", 0) == 0) {
      in_subject = true;
      subject += l.substr(9);
    } else if (in_subject && !l.empty() && l[0] == ' ') {
      subject += l;
    } else {
      in_subject = false;
    }
    CHECK(l.size() <= 78);
  }
  std::string decoded;
  std::size_t words = 0;
  for (std::sregex_iterator i{subject.begin(), subject.end(), word}, end; i != end; ++i) {
    ++words;
    auto part = base64_decode((*i)[1].str());
    REQUIRE(part);
    decoded += *part;
    CHECK(i->length() <= 75); // RFC 2047 limit for one encoded-word
  }
  CHECK(words == 2);
  CHECK(decoded == m.subject);
}

TEST_CASE("encoded-words never split a UTF-8 sequence", "[email]") {
  std::string s;
  for (int i = 0; i < 30; ++i)
    s += "€"; // 3 bytes each; 39-byte chunks fall on boundaries only by luck
  s = "x" + s;
  auto encoded = email_encode_header_words(s);
  std::regex word{"=\\?UTF-8\\?B\\?([A-Za-z0-9+/=]+)\\?="};
  std::string joined;
  for (std::sregex_iterator i{encoded.begin(), encoded.end(), word}, end; i != end; ++i) {
    auto part = base64_decode((*i)[1].str());
    REQUIRE(part);
    CHECK((static_cast<unsigned char>(part->front()) & 0xC0) != 0x80); // starts on a lead byte
    joined += *part;
  }
  CHECK(joined == s);
  CHECK(email_encode_header_words("").empty());
}

TEST_CASE("an ASCII subject that looks like an encoded-word is encoded", "[email]") {
  auto m = sample();
  m.subject = "=?UTF-8?B?SGk=?= trick";
  auto text = build_ok(m);
  CHECK(text.find("Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PSB0cmljaw==?=\r\n")
        != std::string::npos);
}

TEST_CASE("a subject word too long to fold is encoded instead", "[email]") {
  auto m = sample();
  m.subject = std::string(1000, 'a');
  for (auto& line : crlf_lines(build_ok(m)))
    CHECK(line.size() <= 78);
}

TEST_CASE("long ASCII subjects and many recipients are folded", "[email]") {
  auto m = sample();
  m.subject
      = std::string("Reminder: ") + std::string(40, 'a') + " " + std::string(40, 'b') + " end";
  m.to = {{"", "a@example.com"}, {"Bob \"The Builder\"", "bob@example.com"}, {"", "c@example.com"}};
  auto text = build_ok(m);
  CHECK(text.find("Subject: Reminder: " + std::string(40, 'a') + "\r\n " + std::string(40, 'b')
                  + " end\r\n")
        != std::string::npos);
  CHECK(text.find("To: a@example.com,\r\n \"Bob \\\"The Builder\\\"\" <bob@example.com>,\r\n "
                  "c@example.com\r\n")
        != std::string::npos);
}

TEST_CASE("quoted-printable encoding", "[email]") {
  CHECK(email_quoted_printable("Café = 5€") == "Caf=C3=A9 =3D 5=E2=82=AC");
  CHECK(email_quoted_printable("trailing space \nand tab\t") == "trailing space=20\r\nand tab=09");
  CHECK(email_quoted_printable(".\n.. start") == "=2E\r\n=2E. start");
  CHECK(email_quoted_printable("a\r\nb\rc\nd") == "a\r\nb\r\nc\r\nd");
  CHECK(email_quoted_printable("") == "");
  CHECK(email_quoted_printable("\n") == "\r\n");
  SECTION("soft line breaks keep lines within 76 characters and round-trip") {
    std::string text = std::string(100, 'a') + "\n" + std::string(30, 'x');
    for (int i = 0; i < 40; ++i)
      text += "é";
    text += " \n" + std::string(75, '=') + "\n" + std::string(76, 'b');
    auto qp = email_quoted_printable(text);
    for (auto& line : crlf_lines(qp + "\r\n")) {
      INFO(line);
      CHECK(line.size() <= 76);
    }
    std::string normalized;
    for (char c : text)
      normalized += c == '\n' ? std::string{"\r\n"} : std::string{c};
    CHECK(qp_decode(qp) == normalized);
    // A 76-character line needs no soft break.
    CHECK(email_quoted_printable(std::string(76, 'b')) == std::string(76, 'b'));
    CHECK(email_quoted_printable(std::string(77, 'b')) == std::string(75, 'b') + "=\r\nbb");
  }
}

TEST_CASE("base64 transfer encoding", "[email]") {
  auto m = sample();
  m.encoding = email_encoding::base64;
  m.body = std::string(200, 'z') + "\nLine two ☃\r\nthree";
  auto text = build_ok(m);
  CHECK(text.find("Content-Transfer-Encoding: base64\r\n\r\n") != std::string::npos);
  auto body = text.substr(text.find("\r\n\r\n") + 4);
  std::string joined;
  for (auto& line : crlf_lines(body)) {
    CHECK(line.size() <= 76);
    joined += line;
  }
  auto decoded = base64_decode(joined);
  REQUIRE(decoded);
  CHECK(*decoded == std::string(200, 'z') + "\r\nLine two ☃\r\nthree");
}

TEST_CASE("RFC 5322 dates", "[email]") {
  CHECK(email_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
  CHECK(email_date(1709208000) == "Thu, 29 Feb 2024 12:00:00 +0000");
  CHECK(email_date(-86400) == "Wed, 31 Dec 1969 00:00:00 +0000");
  CHECK(email_date(4102444800) == "Fri, 01 Jan 2100 00:00:00 +0000");
}

TEST_CASE("a Message-ID is generated from the sender's domain", "[email]") {
  auto m = sample();
  m.message_id.clear();
  auto text = build_ok(m);
  CHECK(
      std::regex_search(text, std::regex{"\r\nMessage-ID: <[0-9a-f]{32}@sb\\.example\\.com>\r\n"}));
  CHECK(build_ok(m) != text); // random
}

TEST_CASE("header injection and invalid input are rejected", "[email]") {
  auto m = sample();
  m.subject = "Hi\r\nBcc: victim@example.com";
  CHECK(reason_for(m) == "subject: contains CR, LF or another control character");
  m = sample();
  m.subject = "Hi\nthere";
  CHECK(reason_for(m) == "subject: contains CR, LF or another control character");
  m = sample();
  m.subject = std::string("nul\0byte", 8);
  CHECK(reason_for(m) == "subject: contains CR, LF or another control character");
  m = sample();
  m.from.name = "Evil\r\nBcc: x@example.com";
  CHECK(reason_for(m) == "from.name: contains CR, LF or another control character");
  m = sample();
  m.to[0].address = "jane@example.com\r\nBcc: x@example.com";
  CHECK(reason_for(m) == "to[0]: invalid address 'jane@example.com\r\nBcc: x@example.com'");
  m = sample();
  m.message_id = "id@x\r\nBcc: y@z";
  CHECK_THAT(reason_for(m), Catch::StartsWith("message_id:"));
  m = sample();
  m.subject = "bad \xFF";
  CHECK(reason_for(m) == "subject: invalid UTF-8");
  m = sample();
  m.body = "bad \xC3";
  CHECK(reason_for(m) == "body: invalid UTF-8");
  m = sample();
  m.to.clear();
  CHECK(reason_for(m) == "to: at least one recipient is required");
  for (auto bad :
       {"", "jane", "jane@", "@example.com", "ja ne@example.com", "jane@exa mple.com",
        "jane@@example.com", ".jane@example.com", "jane.@example.com", "ja..ne@example.com",
        "jane@example..com", "jane@.example.com", "Jane <jane@example.com>", "jäne@example.com"}) {
    INFO(bad);
    m = sample();
    m.to[0].address = bad;
    CHECK(reason_for(m) == std::string{"to[0]: invalid address '"} + bad + "'");
  }
  m = sample();
  m.from.address = "noreply";
  CHECK(reason_for(m) == "from: invalid address 'noreply'");
  // Tabs are allowed in a subject; the body may contain anything but invalid UTF-8.
  m = sample();
  m.subject = "a\tb";
  m.body = "line\r\nBcc: not-a-header@example.com\r\n";
  auto text = build_ok(m);
  CHECK(text.find("\r\n\r\nline\r\nBcc: not-a-header@example.com\r\n") != std::string::npos);
}
