// Unit tests for acl/ascii.h: ASCII-only case folding and control bytes.
#include "acl/ascii.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tlsproxy::acl {
namespace {

TEST(LowerAscii, FoldsOnlyAsciiCapitals) {
  for (int c = 0; c < 256; ++c) {
    const char in = static_cast<char>(c);
    const char want = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : in;
    EXPECT_EQ(LowerAscii(in), want) << c;
  }
}

TEST(EqualsIgnoreCase, Table) {
  struct Case {
    std::string a;
    std::string b;
    bool equal;
  };
  const std::vector<Case> cases = {
      {"", "", true},
      {"Content-LENGTH", "content-length", true},
      {"content-length", "content-lengt", false},
      {"2F", "2f", true},
      // Pairs that differ only in bit 0x20 but are not letters.
      {"[", "{", false},
      {"@", "`", false},
      {"\xc9", "\xe9", false},  // Latin-1 E-acute: not folded
      {std::string("a\0b", 3), std::string("A\0B", 3), true},
      {std::string("a\0b", 3), "a", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EqualsIgnoreCase(c.a, c.b), c.equal) << "'" << c.a << "' '" << c.b << "'";
    EXPECT_EQ(EqualsIgnoreCase(c.b, c.a), c.equal) << "'" << c.b << "' '" << c.a << "'";
  }
}

TEST(StartsWithIgnoreCase, Table) {
  struct Case {
    std::string s;
    std::string prefix;
    bool starts;
  };
  const std::vector<Case> cases = {
      {"HTTPS://host/", "https://", true},
      {"http://", "http://", true},
      {"http:/", "http://", false},
      {"multipart/form", "MULTIPART/", true},
      {"x", "", true},
      {"", "x", false},
      {"\xc9t\xe9", "\xe9", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StartsWithIgnoreCase(c.s, c.prefix), c.starts) << "'" << c.s << "' '" << c.prefix;
  }
}

TEST(IsControl, C0AndDelOnly) {
  for (int c = 0; c < 256; ++c) {
    EXPECT_EQ(IsControl(static_cast<char>(c)), c < 0x20 || c == 0x7f) << c;
  }
}

}  // namespace
}  // namespace tlsproxy::acl
