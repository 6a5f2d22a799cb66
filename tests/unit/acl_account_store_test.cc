// Unit tests for acl/account_store: basic-auth passwords checked against
// every supported hash format through apr-util.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acl/account_store.h"

namespace tlsproxy::acl {
namespace {

// Literal hashes: the test links only tlsproxy_acl, which keeps apr-util
// private. $apr1$ and $2y$ were made with apr_md5_encode / apr_bcrypt_encode,
// $2a$ and $2b$ with libxcrypt's crypt_gensalt + crypt (apr-util 1.6 checks
// $2b$ through the system crypt_r), $5$ and $6$ with `openssl passwd -5/-6`.
constexpr char kApr1Secret[] = "$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0";
constexpr char kApr1Spaces[] = "$apr1$Xy12abCD$du//wv7w8Iazj0fxJclQF1";  // "p:ss w0rd"
constexpr char kBcrypt2ySecret[] = "$2y$05$.OGB/.SE/ueHAeqKBO2NC.gMQ0.WZMmRM5xLrmNgnqGzfYwnr41A.";
constexpr char kBcrypt2aSecret[] = "$2a$05$imKgzhSFmuLkRfJSIipra.PdOYiYSTaWyHcsRFP4s0T/R4vaZamQG";
constexpr char kBcrypt2bSecret[] = "$2b$05$8hVUXgyhs/rwbDEm1L2LgemlYPn0Yhbk5u2/q5IHB.5Vc9xvDbjlS";
constexpr char kSha512Secret[] =
    "$6$m965ehUay2m2cBQv$fsCg8DtkyTKh1NGJ1EMWoAKHSGRGCUaMDPFdKIozjSGvoCMRiYiDuo3MkiAZ/"
    "Afxsou8ls3LLwt7ExjazYxUz/";
constexpr char kSha256Secret[] = "$5$yt9FIEBLX80J5PjL$GuBNVxEgnJxWR6ujHFAQEFo7OOKCrKu99jNvKQr9z3A";
constexpr char kSha512Spaces[] =  // "p:ss w0rd"
    "$6$abcdefgh$uWuVr8SMjgejI9xNuv8AJQXR2WyJF5G/"
    "7Nw4SxOUJyUIasFXDj6cjtFDfk7bLZtDNi0QjVaQkVRoDpbebHZ"
    "Mz1";

class AccountStoreTest : public ::testing::Test {
 protected:
  AccountStoreTest()
      : store_(std::map<std::string, std::string>{
            {"apr1", kApr1Secret},
            {"apr1colon", kApr1Spaces},
            {"bcrypt2y", kBcrypt2ySecret},
            {"bcrypt2a", kBcrypt2aSecret},
            {"bcrypt2b", kBcrypt2bSecret},
            {"sha512", kSha512Secret},
            {"sha512spaces", kSha512Spaces},
            {"sha256", kSha256Secret},
        }) {}

  AccountStore store_;
};

struct Case {
  std::string user;
  std::string password;
  bool ok;
};

TEST_F(AccountStoreTest, Verify) {
  const std::vector<Case> cases = {
      {"apr1", "secret", true},
      {"apr1", "Secret", false},
      {"apr1", "secret ", false},
      {"apr1", "", false},
      {"apr1colon", "p:ss w0rd", true},
      {"apr1colon", "p:ss", false},
      {"bcrypt2y", "secret", true},
      {"bcrypt2y", "wrong", false},
      {"bcrypt2y", "", false},
      {"bcrypt2a", "secret", true},
      {"bcrypt2a", "wrong", false},
      {"bcrypt2b", "secret", true},
      {"bcrypt2b", "wrong", false},
      {"sha512", "secret", true},
      {"sha512", "secreT", false},
      {"sha512", "", false},
      {"sha512spaces", "p:ss w0rd", true},
      {"sha512spaces", "p:ss w0rd ", false},
      {"sha256", "secret", true},
      {"sha256", "wrong", false},
      {"sha256", "", false},
      {"nobody", "secret", false},
      {"nobody", "", false},
      {"", "secret", false},
      {"APR1", "secret", false},  // user names are case-sensitive
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.user + ":" + c.password);
    EXPECT_EQ(store_.Verify(c.user, c.password), c.ok);
  }
}

TEST(AccountStoreEmptyTest, UnknownUserWithNoAccounts) {
  AccountStore store({});
  EXPECT_FALSE(store.Verify("root", "secret"));
  EXPECT_FALSE(store.Verify("", ""));
}

}  // namespace
}  // namespace tlsproxy::acl
