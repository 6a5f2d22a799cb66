// Unit tests for acl/base64: what each policy accepts, row by row. The
// strict column is what Authorization: Basic may carry, the lenient column
// what a v3 gateway bytes field may carry (Go's jsonpb).
#include "acl/base64.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace tlsproxy::acl {
namespace {

using Bytes = std::optional<std::string>;
const Bytes kRefused = std::nullopt;

struct Case {
  std::string text;
  Bytes strict;
  Bytes lenient;
};

TEST(Base64Test, Table) {
  const std::vector<Case> cases = {
      {"", "", ""},
      {"QQ==", "A", "A"},
      {"QUI=", "AB", "AB"},
      {"QUJD", "ABC", "ABC"},
      {"QUJDRA==", "ABCD", "ABCD"},
      {"QR==", "A", "A"},  // non-zero trailing bits, as Go's non-strict decoder
      {"AA==", std::string(1, '\0'), std::string(1, '\0')},
      {"/w==", "\xff", "\xff"},
      {"+/+/", "\xfb\xff\xbf", "\xfb\xff\xbf"},
      // Unpadded: lenient only.
      {"QQ", kRefused, "A"},
      {"QUI", kRefused, "AB"},
      {"QUJDRA", kRefused, "ABCD"},
      // URL-safe alphabet: lenient only, and never mixed with the standard one.
      {"_w==", kRefused, "\xff"},
      {"_w", kRefused, "\xff"},
      {"-_-_", kRefused, "\xfb\xff\xbf"},
      {"-/", kRefused, kRefused},
      {"+_", kRefused, kRefused},
      // Impossible lengths and misplaced padding.
      {"Q", kRefused, kRefused},
      {"QUJDR", kRefused, kRefused},
      {"QQ=", kRefused, kRefused},
      {"QQ===", kRefused, kRefused},
      {"Q===", kRefused, kRefused},
      {"====", kRefused, kRefused},
      {"=", kRefused, kRefused},
      {"YTpi====", kRefused, kRefused},
      {"Q=Q=", kRefused, kRefused},
      {"Q=Q", kRefused, kRefused},
      {"QQ==QQ==", kRefused, kRefused},
      // Whitespace and bytes outside the alphabet, which EVP_DecodeBlock
      // alone would skip or misread.
      {"QUI=\n", kRefused, kRefused},
      {" QUI=", kRefused, kRefused},
      {"QU I=", kRefused, kRefused},
      {"QUI.", kRefused, kRefused},
      {"QUI!", kRefused, kRefused},
      {std::string("QU\0=", 4), kRefused, kRefused},
      {"QUI\xc3\xa9", kRefused, kRefused},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecodeBase64Strict(c.text), c.strict) << "strict '" << c.text << "'";
    EXPECT_EQ(DecodeBase64Lenient(c.text), c.lenient) << "lenient '" << c.text << "'";
  }
}

// Every byte value survives both decoders, in every position of a group.
TEST(Base64Test, AllBytesRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t cut = 0; cut < 3; ++cut) {
    const std::string part = bytes.substr(cut);
    std::string text(4 * ((part.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                  reinterpret_cast<const unsigned char*>(part.data()),
                                  static_cast<int>(part.size()));
    text.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(DecodeBase64Strict(text), part);
    EXPECT_EQ(DecodeBase64Lenient(text), part);
    std::string unpadded = text.substr(0, text.find('='));
    EXPECT_EQ(DecodeBase64Lenient(unpadded), part);
    std::replace(unpadded.begin(), unpadded.end(), '+', '-');
    std::replace(unpadded.begin(), unpadded.end(), '/', '_');
    EXPECT_EQ(DecodeBase64Lenient(unpadded), part);
    EXPECT_EQ(DecodeBase64Strict(unpadded), std::nullopt);
  }
}

}  // namespace
}  // namespace tlsproxy::acl
