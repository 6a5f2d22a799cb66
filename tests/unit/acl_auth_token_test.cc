// AuthTokens: a token verifies only with the key that signed it, before its
// expiry, for a user whose account hash has not changed.
#include "acl/auth_token.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace tlsproxy::acl {
namespace {

const std::map<std::string, std::string> kAccounts = {
    {"conftool", "$apr1$abc$hash-of-conftool"},
    {"root", "$2y$05$hash-of-root"},
};
constexpr std::time_t kNow = 1800000000;

AuthTokens Tokens(std::string key = std::string(32, 'k')) {
  return AuthTokens(std::move(key), std::chrono::seconds(300));
}

TEST(AuthTokensTest, IssuedTokenVerifiesUntilItExpires) {
  const std::string token = Tokens().Issue("conftool", kAccounts.at("conftool"), kNow);
  EXPECT_EQ(Tokens().Verify(token, kAccounts, kNow), "conftool");
  EXPECT_EQ(Tokens().Verify(token, kAccounts, kNow + 299), "conftool");
  EXPECT_EQ(Tokens().Verify(token, kAccounts, kNow + 300), std::nullopt);
  EXPECT_EQ(token.find("conftool"), std::string::npos);  // the name is hex, not plain
  EXPECT_EQ(token.rfind("etp1.", 0), 0u);
}

TEST(AuthTokensTest, AnotherKeyDoesNotVerify) {
  const std::string token = Tokens().Issue("root", kAccounts.at("root"), kNow);
  EXPECT_EQ(Tokens(std::string(32, 'x')).Verify(token, kAccounts, kNow), std::nullopt);
  // The same key in another process (proxy B) does.
  EXPECT_EQ(Tokens(std::string(32, 'k')).Verify(token, kAccounts, kNow), "root");
}

TEST(AuthTokensTest, RemovedUserOrChangedPasswordEndsTheToken) {
  const std::string token = Tokens().Issue("conftool", kAccounts.at("conftool"), kNow);
  std::map<std::string, std::string> changed = kAccounts;
  changed["conftool"] = "$apr1$abc$new-hash";
  EXPECT_EQ(Tokens().Verify(token, changed, kNow), std::nullopt);
  changed.erase("conftool");
  EXPECT_EQ(Tokens().Verify(token, changed, kNow), std::nullopt);
}

TEST(AuthTokensTest, TamperedTokensDoNotVerify) {
  const AuthTokens tokens = Tokens();
  const std::string token = tokens.Issue("conftool", kAccounts.at("conftool"), kNow);
  // Another user's name with conftool's MAC; a later expiry; a flipped MAC bit.
  std::string other_user = token;
  const std::string conftool_hex = "636F6E66746F6F6C";
  ASSERT_NE(other_user.find(conftool_hex), std::string::npos) << token;
  other_user.replace(other_user.find(conftool_hex), conftool_hex.size(), "726F6F74");
  EXPECT_EQ(tokens.Verify(other_user, kAccounts, kNow), std::nullopt);
  std::string later = token;
  const std::string expiry = std::to_string(kNow + 300);
  later.replace(later.find(expiry), expiry.size(), std::to_string(kNow + 99999));
  EXPECT_EQ(tokens.Verify(later, kAccounts, kNow), std::nullopt);
  std::string flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(tokens.Verify(flipped, kAccounts, kNow), std::nullopt);
  for (const std::string& bad : std::vector<std::string>{
           "", "etp1", "etp1...", "etp2" + token.substr(4), token + ".x", token + "0",
           "etp1.636F6E66746F6F6C.0" + expiry + token.substr(token.rfind('.')),
           "etp1.636F6E66746F6F6C.-1.00", "simple-token.12"}) {
    EXPECT_EQ(tokens.Verify(bad, kAccounts, kNow), std::nullopt) << bad;
  }
}

TEST(AuthTokensTest, RandomKeysDiffer) {
  const std::string a = AuthTokens::RandomKey();
  EXPECT_EQ(a.size(), AuthTokens::kMinKeyBytes);
  EXPECT_NE(a, AuthTokens::RandomKey());
}

}  // namespace
}  // namespace tlsproxy::acl
