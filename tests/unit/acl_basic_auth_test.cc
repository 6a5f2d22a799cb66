// Unit tests for acl/basic_auth: parsing `Authorization: Basic` values.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acl/basic_auth.h"

namespace tlsproxy::acl {
namespace {

struct Case {
  std::string header;
  std::optional<std::string> user;  // nullopt: refused
  std::string password;
};

TEST(ParseBasicAuthTest, Table) {
  const std::vector<Case> cases = {
      {"Basic cm9vdDpzZWNyZXQ=", "root", "secret"},  // root:secret
      {"basic cm9vdDpzZWNyZXQ=", "root", "secret"},  // scheme is case-insensitive
      {"BASIC cm9vdDpzZWNyZXQ=", "root", "secret"},
      {"Basic   cm9vdDpzZWNyZXQ=", "root", "secret"},             // several spaces
      {"Basic cm9vdDpzZWNyZXQ= ", "root", "secret"},              // trailing space
      {"Basic YTpi", "a", "b"},                                   // a:b, no padding
      {"Basic YWI6Yw==", "ab", "c"},                              // ab:c, two '='
      {"Basic YWJjOmRl", "abc", "de"},                            // abc:de
      {"Basic YWJjOmQ=", "abc", "d"},                             // abc:d, one '='
      {"Basic dTpwOnc6eA==", "u", "p:w:x"},                       // u:p:w:x, split at first ':'
      {"Basic dTo=", "u", ""},                                    // u: (empty password parses)
      {"Basic Y29uZnRvb2w6cMOkc3M=", "conftool", "p\xc3\xa4ss"},  // UTF-8 password
      {"Basic OnB3", std::nullopt, ""},                           // :pw, empty user
      {"Basic dXNlcg==", std::nullopt, ""},                       // "user", no ':'
      {"Basic dQB4OnB3", std::nullopt, ""},                       // "u\0x:pw", NUL in user
      {"Basic dQp4OnB3", std::nullopt, ""},                       // "u\nx:pw", control in user
      {"Basic dTpwAHc=", std::nullopt, ""},                       // "u:p\0w", NUL in password
      {"Basic cm9vdDpzZWNyZXQ", std::nullopt, ""},                // length not a multiple of 4
      {"Basic YTpi====", std::nullopt, ""},                       // a whole block of padding
      {"Basic cm9v=DpzZWNyZXQ=", std::nullopt, ""},               // '=' in the middle
      {"Basic YQ===", std::nullopt, ""},                          // three '='
      {"Basic cm9vdDpz!WNyZXQ=", std::nullopt, ""},               // outside the alphabet
      {"Basic cm9vdDpz ZWNyZXQ=", std::nullopt, ""},              // space inside
      {"Basic cm9vdDpz-WNyZXQ=", std::nullopt, ""},               // base64url is not base64
      {"Basic ", std::nullopt, ""},
      {"Basic", std::nullopt, ""},
      {"Basiccm9vdDpzZWNyZXQ=", std::nullopt, ""},  // no space after the scheme
      {"Bearer cm9vdDpzZWNyZXQ=", std::nullopt, ""},
      {"Digest username=root", std::nullopt, ""},
      {"", std::nullopt, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    std::optional<BasicCredentials> parsed = ParseBasicAuth(c.header);
    ASSERT_EQ(parsed.has_value(), c.user.has_value());
    if (!parsed) continue;
    EXPECT_EQ(parsed->user, *c.user);
    EXPECT_EQ(parsed->password, c.password);
  }
}

}  // namespace
}  // namespace tlsproxy::acl
