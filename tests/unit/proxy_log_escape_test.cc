// Unit tests for proxy/log_escape: client bytes become printable ASCII that
// parses back to exactly those bytes, inside a quoted log field.
#include "proxy/log_escape.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace tlsproxy::proxy {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // the escaper writes upper-case digits only
}

// Reverses the escaping as a log reader would: \xHH is the byte 0xHH; any
// other backslash, a quote or a byte outside printable ASCII is an error.
std::optional<std::string> Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' || c < 0x20 || c > 0x7e) return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 3 >= text.size() || text[i + 1] != 'x') return std::nullopt;
    const int high = HexValue(text[i + 2]), low = HexValue(text[i + 3]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 3;
  }
  return out;
}

struct Case {
  std::string in;
  std::string out;
};

TEST(EscapeForLogTest, EscapesEveryByteThatCouldForgeOrMangleALine) {
  const std::vector<Case> cases = {
      {"", ""},
      {"/v2/keys/conftool/a", "/v2/keys/conftool/a"},
      {"a b=c:d,e/f-_.~!$&'()*+;@[]{}|^`<>?#%", "a b=c:d,e/f-_.~!$&'()*+;@[]{}|^`<>?#%"},
      {"a\" status=200 rule=\"/", "a\\x22 status=200 rule=\\x22/"},
      {"back\\slash", "back\\x5Cslash"},
      {"\\x41", "\\x5Cx41"},
      {"line\nnext", "line\\x0Anext"},
      {"cr\rlf\n", "cr\\x0Dlf\\x0A"},
      {"tab\t", "tab\\x09"},
      {std::string("nul\0x", 5), "nul\\x00x"},
      {"\x1b[31mred", "\\x1B[31mred"},
      {"del\x7f", "del\\x7F"},
      {"caf\xc3\xa9", "caf\\xC3\\xA9"},
      {"\xff\xfe", "\\xFF\\xFE"},
      {"\xc3", "\\xC3"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.out);
    const std::string escaped = EscapeForLog(c.in);
    EXPECT_EQ(escaped, c.out);
    EXPECT_EQ(NeedsLogEscape(c.in), escaped != c.in);
    EXPECT_EQ(Unescape(escaped), c.in);
  }
}

TEST(EscapeForLogTest, EveryByteRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string escaped = EscapeForLog(all);
  for (char c : escaped) {
    EXPECT_TRUE(c >= 0x20 && c <= 0x7e && c != '"') << static_cast<int>(c);
  }
  EXPECT_EQ(Unescape(escaped), all);
}

TEST(EscapeForLogTest, LogTextFormatsTheSameAsEscapeForLog) {
  for (const std::string& text : {std::string("/plain"), std::string("a\"\n\xff")}) {
    EXPECT_EQ(fmt::format("path=\"{}\"", LogText(text)), "path=\"" + EscapeForLog(text) + "\"");
  }
}

}  // namespace
}  // namespace tlsproxy::proxy
