#include "core/text/sms.hpp"

#include <algorithm>

namespace switchboard::core {

namespace {

constexpr std::size_t gsm7_single = 160;
constexpr std::size_t gsm7_multi = 153;
constexpr std::size_t ucs2_single = 70;
constexpr std::size_t ucs2_multi = 67;
constexpr std::size_t udh_bits = 48;

/// GSM 03.38 basic table (the escape code 0x1B excluded), as Unicode code points.
constexpr char32_t gsm7_basic[] = {
    U'@',   0x00A3, U'$',   0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, U'\n',  0x00D8,
    0x00F8, U'\r',  0x00C5, 0x00E5, 0x0394, U'_',   0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, U' ',   U'!',   U'"',   U'#',   0x00A4,
    U'%',   U'&',   U'\'',  U'(',   U')',   U'*',   U'+',   U',',   U'-',   U'.',   U'/',   U'0',
    U'1',   U'2',   U'3',   U'4',   U'5',   U'6',   U'7',   U'8',   U'9',   U':',   U';',   U'<',
    U'=',   U'>',   U'?',   0x00A1, U'A',   U'B',   U'C',   U'D',   U'E',   U'F',   U'G',   U'H',
    U'I',   U'J',   U'K',   U'L',   U'M',   U'N',   U'O',   U'P',   U'Q',   U'R',   U'S',   U'T',
    U'U',   U'V',   U'W',   U'X',   U'Y',   U'Z',   0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF,
    U'a',   U'b',   U'c',   U'd',   U'e',   U'f',   U'g',   U'h',   U'i',   U'j',   U'k',   U'l',
    U'm',   U'n',   U'o',   U'p',   U'q',   U'r',   U's',   U't',   U'u',   U'v',   U'w',   U'x',
    U'y',   U'z',   0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/// GSM 03.38 extension table: each is sent as ESC + code, two septets.
constexpr char32_t gsm7_extension[]
    = {U'\f', U'^', U'{', U'}', U'\\', U'[', U'~', U']', U'|', 0x20AC};

/// Which GSM-7 alphabet the carrier accepts.
enum class alphabet { full, ascii_only };

alphabet alphabet_for(std::string_view country) {
  return country == "MY" || country == "my" ? alphabet::ascii_only : alphabet::full;
}

/// Septets per code point below U+0100 (0 = not GSM-7), built once from the two tables.
struct latin1_table {
  unsigned char cost[256] = {};
  latin1_table() {
    for (auto c : gsm7_basic)
      if (c < 256)
        cost[c] = 1;
    for (auto c : gsm7_extension)
      if (c < 256)
        cost[c] = 2;
  }
};

std::size_t septets(char32_t c, alphabet a) {
  static const latin1_table latin1;
  if (c < 256)
    return a == alphabet::ascii_only && c >= 0x80 ? 0 : latin1.cost[c];
  if (a == alphabet::ascii_only)
    return 0;
  if (c == 0x20AC) // €
    return 2;
  for (auto g : gsm7_basic) // the Greek capitals
    if (g == c)
      return 1;
  return 0;
}

std::size_t utf16_units(char32_t c) {
  return c > 0xFFFF ? 2 : 1;
}

bool all_gsm7(std::u32string_view cps, alphabet a) {
  return std::all_of(cps.begin(), cps.end(), [a](char32_t c) { return septets(c, a) > 0; });
}

sms_encoding encoding_of(std::u32string_view cps, alphabet a) {
  return all_gsm7(cps, a) ? sms_encoding::gsm7 : sms_encoding::ucs2;
}

std::size_t unit_cost(char32_t c, sms_encoding enc, alphabet a) {
  return enc == sms_encoding::gsm7 ? septets(c, a) : utf16_units(c);
}

std::size_t total_units(std::u32string_view cps, sms_encoding enc, alphabet a) {
  std::size_t n = 0;
  for (auto c : cps)
    n += unit_cost(c, enc, a);
  return n;
}

/// Splits into segments greedily; a character never straddles two segments.
std::vector<std::u32string_view> segment(std::u32string_view cps, sms_encoding enc, alphabet a) {
  auto units = total_units(cps, enc, a);
  bool gsm = enc == sms_encoding::gsm7;
  if (units <= (gsm ? gsm7_single : ucs2_single))
    return {cps};
  auto capacity = gsm ? gsm7_multi : ucs2_multi;
  std::vector<std::u32string_view> out;
  std::size_t start = 0;
  std::size_t used = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    auto cost = unit_cost(cps[i], enc, a);
    if (used + cost > capacity) {
      out.push_back(cps.substr(start, i - start));
      start = i;
      used = 0;
    }
    used += cost;
  }
  out.push_back(cps.substr(start));
  return out;
}

sms_info analyze(std::u32string_view cps, alphabet a) {
  sms_info info;
  info.encoding = encoding_of(cps, a);
  info.units = total_units(cps, info.encoding, a);
  info.segments = segment(cps, info.encoding, a).size();
  info.message_size_bits = info.units * (info.encoding == sms_encoding::gsm7 ? 7 : 16);
  info.total_size_bits
      = info.message_size_bits + (info.segments > 1 ? udh_bits * info.segments : 0);
  info.code_points = cps.size();
  return info;
}

bool is_space(char32_t c) {
  return c == U' ' || c == U'\n' || c == U'\r' || c == U'\t' || c == U'\f' || c == 0x00A0
         || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_word_end(char32_t c) {
  return c == U',' || c == U'.' || c == U';' || c == U':' || c == U'!' || c == U'?' || c == U')';
}

/// Characters dropped before an ellipsis so that "word, ..." or "end...." do not happen.
bool is_trailing_junk(char32_t c) {
  return is_space(c) || c == U',' || c == U';' || c == U':' || c == U'.' || c == U'-' || c == 0x2013
         || c == 0x2014;
}

std::u32string_view trim_trailing(std::u32string_view cps) {
  while (!cps.empty() && is_trailing_junk(cps.back()))
    cps.remove_suffix(1);
  return cps;
}

/// prefix + the ellipsis that keeps its encoding: "..." for GSM-7, "…" for UCS-2.
std::u32string with_ellipsis(std::u32string_view prefix, alphabet a) {
  std::u32string out{prefix};
  if (all_gsm7(prefix, a))
    out += U"...";
  else
    out += char32_t{0x2026};
  return out;
}

bool fits(std::u32string_view cps, std::size_t max_segments, alphabet a) {
  return analyze(cps, a).segments <= max_segments;
}

} // namespace

std::string to_string(sms_encoding x) {
  return x == sms_encoding::gsm7 ? "GSM-7" : "UCS-2";
}

std::size_t gsm7_septets(char32_t c, std::string_view country) {
  return septets(c, alphabet_for(country));
}

sms_info analyze_sms(std::string_view text, std::string_view country) {
  return analyze(decode_utf8(text), alphabet_for(country));
}

std::size_t sms_segment_count(std::string_view text, std::string_view country) {
  return analyze_sms(text, country).segments;
}

std::vector<std::string> split_sms(std::string_view text, std::string_view country) {
  auto a = alphabet_for(country);
  auto cps = decode_utf8(text);
  std::vector<std::string> out;
  for (auto part : segment(cps, encoding_of(cps, a), a))
    out.push_back(encode_utf8(part));
  return out;
}

std::vector<std::string> non_gsm_characters(std::string_view text, std::string_view country) {
  auto a = alphabet_for(country);
  std::vector<std::string> out;
  std::u32string seen;
  for (auto c : decode_utf8(text)) {
    if (septets(c, a) == 0 && seen.find(c) == std::u32string::npos) {
      seen += c;
      out.push_back(encode_utf8(std::u32string_view{&c, 1}));
    }
  }
  return out;
}

const std::vector<smart_encoding_entry>& smart_encoding_table() {
  // Generated from sms/twilio_smart_encoding_map.json (TwilioDevEd/message-segment-calculator
  // src/libs/SmartEncodingMap.ts @ a50230fd, MIT); a unit test checks it equals the fixture.
  static const std::vector<smart_encoding_entry> table = {
      {0x0000, ""},   {0x0003, ""},    {0x0004, ""},    {0x0009, "       "}, {0x0010, ""},
      {0x0011, ""},   {0x0012, ""},    {0x0013, ""},    {0x0014, ""},        {0x0017, ""},
      {0x0019, ""},   {0x0060, "'"},   {0x0080, "  "},  {0x008D, "  "},      {0x0090, "  "},
      {0x009B, "  "}, {0x009F, "  "},  {0x00A0, "  "},  {0x00AB, "\""},      {0x00B4, "'"},
      {0x00BB, "\""}, {0x00BC, "1/4"}, {0x00BD, "1/2"}, {0x00BE, "3/4"},     {0x00F7, "/"},
      {0x01C3, "!"},  {0x0262, "G"},   {0x026A, "I"},   {0x0274, "N"},       {0x0280, "R"},
      {0x028F, "Y"},  {0x0299, "B"},   {0x029C, "H"},   {0x029F, "L"},       {0x02B9, "'"},
      {0x02BA, "\""}, {0x02BB, "'"},   {0x02BC, "'"},   {0x02BD, "'"},       {0x02C6, "^"},
      {0x02C8, "'"},  {0x02CA, "'"},   {0x02CB, "'"},   {0x02D0, ":"},       {0x02D6, "+"},
      {0x02DC, "~"},  {0x02EE, "\""},  {0x02F7, "~"},   {0x02F8, ":"},       {0x0302, "^"},
      {0x0303, "~"},  {0x0313, "'"},   {0x0314, "'"},   {0x0326, ","},       {0x0330, "~"},
      {0x0332, "_"},  {0x0334, "~"},   {0x0337, "/"},   {0x0338, "/"},       {0x0347, "="},
      {0x1D00, "A"},  {0x1D04, "C"},   {0x1D05, "D"},   {0x1D07, "E"},       {0x1D0A, "J"},
      {0x1D0B, "K"},  {0x1D0D, "M"},   {0x1D0F, "O"},   {0x1D18, "P"},       {0x1D1B, "T"},
      {0x1D1C, "U"},  {0x1D20, "V"},   {0x1D21, "W"},   {0x1D22, "Z"},       {0x1DCD, "^"},
      {0x2000, "  "}, {0x2001, " "},   {0x2002, "  "},  {0x2003, "  "},      {0x2004, "  "},
      {0x2005, "  "}, {0x2006, "  "},  {0x2007, "  "},  {0x2008, "  "},      {0x2009, "  "},
      {0x200A, "  "}, {0x200B, ""},    {0x2010, "-"},   {0x2013, "-"},       {0x2014, "-"},
      {0x2015, "-"},  {0x2017, "_"},   {0x2018, "'"},   {0x2019, "'"},       {0x201A, ","},
      {0x201B, "'"},  {0x201C, "\""},  {0x201D, "\""},  {0x201E, "\""},      {0x201F, "\""},
      {0x2022, "-"},  {0x2026, "..."}, {0x2028, " "},   {0x2029, " "},       {0x202F, "  "},
      {0x2039, ">"},  {0x203A, "<"},   {0x203C, "!!"},  {0x2043, "-"},       {0x2044, "/"},
      {0x204E, "*"},  {0x204F, ";"},   {0x205F, "  "},  {0x2060, ""},        {0x20D2, "|"},
      {0x20D3, "|"},  {0x20E5, "\\"},  {0x2215, "/"},   {0x2217, "*"},       {0x2223, "|"},
      {0x223C, "~"},  {0x229B, "*"},   {0x239C, "|"},   {0x239F, "|"},       {0x23B8, "|"},
      {0x23B9, "|"},  {0x23BC, "-"},   {0x23BD, "-"},   {0x23D0, "|"},       {0x2722, "*"},
      {0x2723, "*"},  {0x2724, "*"},   {0x2725, "*"},   {0x2731, "*"},       {0x2732, "*"},
      {0x2733, "*"},  {0x273A, "*"},   {0x273B, "*"},   {0x273C, "*"},       {0x273D, "*"},
      {0x2743, "*"},  {0x2749, "*"},   {0x274A, "*"},   {0x274B, "*"},       {0x275B, "'"},
      {0x275C, "'"},  {0x275D, "\""},  {0x275E, "\""},  {0x2768, "("},       {0x2769, ")"},
      {0x276A, "("},  {0x276B, ")"},   {0x2774, "{"},   {0x2775, "}"},       {0x27EE, "("},
      {0x27EF, ")"},  {0x2982, ":"},   {0x2985, "("},   {0x2986, ")"},       {0x29C6, "*"},
      {0x29F5, "\\"}, {0x29F8, "/"},   {0x29F9, "\\"},  {0x3000, "  "},      {0x3001, ","},
      {0x3002, "."},  {0x301D, "\""},  {0x301E, "\""},  {0xA730, "F"},       {0xA731, "S"},
      {0xA789, ":"},  {0xA78A, "="},   {0xFE10, "'"},   {0xFE11, "'"},       {0xFE13, ":"},
      {0xFE14, ";"},  {0xFE15, "!"},   {0xFE16, "?"},   {0xFE50, ","},       {0xFE51, ","},
      {0xFE52, "."},  {0xFE54, ";"},   {0xFE56, "?"},   {0xFE57, "!"},       {0xFE59, "("},
      {0xFE5A, ")"},  {0xFE5B, "{"},   {0xFE5C, "}"},   {0xFE5F, "#"},       {0xFE60, "&"},
      {0xFE61, "*"},  {0xFE62, "+"},   {0xFE63, "-"},   {0xFE64, "<"},       {0xFE65, ">"},
      {0xFE66, "="},  {0xFE68, "\\"},  {0xFE69, "$"},   {0xFE6A, "%"},       {0xFE6B, "@"},
      {0xFEFF, ""},   {0xFF01, "!"},   {0xFF02, "\""},  {0xFF03, "#"},       {0xFF04, "$"},
      {0xFF05, "%"},  {0xFF06, "&"},   {0xFF07, "'"},   {0xFF08, "("},       {0xFF09, ")"},
      {0xFF0A, "*"},  {0xFF0B, "+"},   {0xFF0C, ","},   {0xFF0D, "-"},       {0xFF0E, "."},
      {0xFF0F, "/"},  {0xFF10, "0"},   {0xFF11, "1"},   {0xFF12, "2"},       {0xFF13, "3"},
      {0xFF14, "4"},  {0xFF15, "5"},   {0xFF16, "6"},   {0xFF17, "7"},       {0xFF18, "8"},
      {0xFF19, "9"},  {0xFF1A, ":"},   {0xFF1B, ";"},   {0xFF1C, "<"},       {0xFF1D, "="},
      {0xFF1E, ">"},  {0xFF1F, "?"},   {0xFF20, "@"},   {0xFF21, "A"},       {0xFF22, "B"},
      {0xFF23, "C"},  {0xFF24, "D"},   {0xFF25, "E"},   {0xFF26, "F"},       {0xFF27, "G"},
      {0xFF28, "H"},  {0xFF29, "I"},   {0xFF2A, "J"},   {0xFF2B, "K"},       {0xFF2C, "L"},
      {0xFF2D, "M"},  {0xFF2E, "N"},   {0xFF2F, "O"},   {0xFF30, "P"},       {0xFF31, "Q"},
      {0xFF32, "R"},  {0xFF33, "S"},   {0xFF34, "T"},   {0xFF35, "U"},       {0xFF36, "V"},
      {0xFF37, "W"},  {0xFF38, "X"},   {0xFF39, "Y"},   {0xFF3A, "Z"},       {0xFF3B, "["},
      {0xFF3C, "\\"}, {0xFF3D, "]"},   {0xFF3E, "^"},   {0xFF3F, "_"},       {0xFF5B, "{"},
      {0xFF5C, "|"},  {0xFF5D, "}"},   {0xFF5E, "~"},   {0xFF61, "."},       {0xFF64, ","},
  };
  return table;
}

std::string smart_encode(std::string_view text) {
  const auto& table = smart_encoding_table();
  std::string out;
  out.reserve(text.size());
  for (auto c : decode_utf8(text)) {
    auto it
        = std::lower_bound(table.begin(), table.end(), c,
                           [](const smart_encoding_entry& e, char32_t x) { return e.first < x; });
    if (it != table.end() && it->first == c)
      out += it->second;
    else
      out += encode_utf8(std::u32string_view{&c, 1});
  }
  return out;
}

std::string fit_sms(std::string_view text, std::size_t max_segments, std::string_view country) {
  if (max_segments == 0)
    return {};
  auto a = alphabet_for(country);
  auto cps = decode_utf8(text);
  // Every code point costs at least one unit, so longer texts cannot fit.
  if (cps.size() <= gsm7_single * max_segments && fits(cps, max_segments, a))
    return encode_utf8(cps);
  // Each code point costs at least one unit, so no fitting prefix is longer than this.
  auto limit = std::min(cps.size(), gsm7_single * max_segments);
  std::u32string_view all{cps};
  auto candidate = [&](std::size_t n) { return with_ellipsis(trim_trailing(all.substr(0, n)), a); };
  // Largest prefix length whose candidate fits: the cost only grows with n (a longer GSM-7
  // prefix never fits where a shorter one did not, and UCS-2 holds fewer characters).
  std::size_t lo = 0;
  std::size_t hi = limit;
  while (lo < hi) {
    auto mid = lo + (hi - lo + 1) / 2;
    if (fits(candidate(mid), max_segments, a))
      lo = mid;
    else
      hi = mid - 1;
  }
  auto n = lo;
  // Prefer a word boundary: unless the cut already falls before whitespace or punctuation, go
  // back to the last whitespace in the second half of the prefix.
  if (n < cps.size() && !is_space(cps[n]) && !is_word_end(cps[n])) {
    for (auto p = n; p > n / 2; --p) {
      if (is_space(cps[p - 1])) {
        if (!trim_trailing(all.substr(0, p - 1)).empty())
          n = p - 1;
        break;
      }
    }
  }
  auto result = candidate(n);
  // Defensive: shrinking never makes a candidate bigger, so this loop does not normally run.
  while (n > 0 && !fits(result, max_segments, a))
    result = candidate(--n);
  return encode_utf8(result);
}

} // namespace switchboard::core
