// Pins the credential cache: hits only for the exact credential that
// verified, expiry, the size bound, and that a reload (a new AccountStore)
// forgets everything so a changed password takes effect.
#include "acl/credential_cache.h"

#include <gtest/gtest.h>

#include "acl/account_store.h"

namespace tlsproxy::acl {
namespace {

using Clock = CredentialCache::Clock;
using std::chrono::seconds;

TEST(CredentialCache, HitsOnlyTheExactCredential) {
  CredentialCache cache(10, seconds(60));
  const Clock::time_point now = Clock::now();
  EXPECT_FALSE(cache.Contains("root", "pw", now));
  cache.Remember("root", "pw", now);
  EXPECT_TRUE(cache.Contains("root", "pw", now));
  EXPECT_FALSE(cache.Contains("root", "pw2", now));
  EXPECT_FALSE(cache.Contains("root2", "pw", now));
  // The separator keeps ("ro", "otpw") distinct from ("root", "pw").
  EXPECT_FALSE(cache.Contains("ro", "otpw", now));
}

TEST(CredentialCache, EntriesExpire) {
  CredentialCache cache(10, seconds(60));
  const Clock::time_point now = Clock::now();
  cache.Remember("root", "pw", now);
  EXPECT_TRUE(cache.Contains("root", "pw", now + seconds(59)));
  EXPECT_FALSE(cache.Contains("root", "pw", now + seconds(60)));
}

TEST(CredentialCache, BoundedInSize) {
  CredentialCache cache(3, seconds(60));
  const Clock::time_point now = Clock::now();
  for (int i = 0; i < 5; ++i) cache.Remember("u" + std::to_string(i), "pw", now);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Contains("u0", "pw", now));
  EXPECT_FALSE(cache.Contains("u1", "pw", now));
  EXPECT_TRUE(cache.Contains("u4", "pw", now));
}

TEST(CredentialCache, ZeroCapacityRemembersNothing) {
  CredentialCache cache(0, seconds(60));
  cache.Remember("root", "pw", Clock::now());
  EXPECT_EQ(cache.size(), 0u);
}

// `openssl passwd -6 -salt saltsalt old` and `... new`.
constexpr char kOldHash[] =
    "$6$saltsalt$qZId.d1/e1K8h/"
    "h.VZzZ5WxOFJABaQdrXZy0jKmM281qUDjp7Ox8gXfAK4IHhe9FYW5kzgtfzoM7fiytMI0Kq/";
constexpr char kNewHash[] =
    "$6$saltsalt$u2DGO68xrz65LmvaxnodFmn/"
    "4s1W3RVMnWC1KMQx4LHUhzRrIEKu79yIOLsSn0JOanxqedoMkKA4rdyuTz88e1";

TEST(AccountStore, WrongPasswordIsNeverCachedAndReloadForgets) {
  AccountStore store(std::map<std::string, std::string>{{"root", kOldHash}});
  EXPECT_FALSE(store.Verify("root", "wrong"));
  EXPECT_FALSE(store.Verify("root", "wrong"));  // still checked against the hash
  EXPECT_TRUE(store.Verify("root", "old"));
  EXPECT_TRUE(store.Verify("root", "old"));  // from the cache
  // A reload builds a new store from the new config: the old password no
  // longer works even though it was cached a moment ago.
  AccountStore reloaded(std::map<std::string, std::string>{{"root", kNewHash}});
  EXPECT_FALSE(reloaded.Verify("root", "old"));
  EXPECT_TRUE(reloaded.Verify("root", "new"));
}

}  // namespace
}  // namespace tlsproxy::acl
