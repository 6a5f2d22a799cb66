// Pins failed-auth throttling: the limit, the back-off and its end, the
// window, and that other addresses are never slowed.
#include "acl/auth_throttle.h"

#include <gtest/gtest.h>

namespace tlsproxy::acl {
namespace {

using std::chrono::seconds;

config::AuthThrottleSettings Settings(std::size_t max, std::size_t window, std::size_t backoff) {
  config::AuthThrottleSettings s;
  s.max_failures = max;
  s.window = window;
  s.backoff = backoff;
  return s;
}

TEST(AuthThrottle, BlocksAnAddressAfterTooManyFailures) {
  AuthThrottle throttle(Settings(3, 60, 30));
  const auto t0 = AuthThrottle::Clock::now();
  EXPECT_FALSE(throttle.RecordFailure("10.0.0.1", t0));
  EXPECT_FALSE(throttle.RecordFailure("10.0.0.1", t0));
  EXPECT_EQ(throttle.RetryAfter("10.0.0.1", t0), 0u);
  EXPECT_TRUE(throttle.RecordFailure("10.0.0.1", t0));  // third: back-off starts
  EXPECT_EQ(throttle.RetryAfter("10.0.0.1", t0), 30u);
  EXPECT_EQ(throttle.RetryAfter("10.0.0.1", t0 + seconds(29)), 1u);
  EXPECT_EQ(throttle.RetryAfter("10.0.0.1", t0 + seconds(30)), 0u);
  // Another address is never slowed.
  EXPECT_EQ(throttle.RetryAfter("10.0.0.2", t0), 0u);
}

// A reload hands the same throttle new settings: running back-offs and
// counts stay, the new limits apply to what is counted from then on.
TEST(AuthThrottle, NewSettingsKeepRunningBackOffsAndCounts) {
  AuthThrottle throttle(Settings(3, 60, 30));
  const auto t0 = AuthThrottle::Clock::now();
  for (int i = 0; i < 3; ++i) throttle.RecordFailure("blocked", t0);
  throttle.RecordFailure("counting", t0);
  throttle.SetSettings(Settings(2, 60, 100));
  EXPECT_EQ(throttle.RetryAfter("blocked", t0 + seconds(1)), 29u);
  EXPECT_TRUE(throttle.RecordFailure("counting", t0 + seconds(1)));  // second of two
  EXPECT_EQ(throttle.RetryAfter("counting", t0 + seconds(1)), 100u);
  throttle.SetSettings(Settings(0, 60, 100));  // turned off: nobody waits
  EXPECT_EQ(throttle.RetryAfter("counting", t0 + seconds(1)), 0u);
}

TEST(AuthThrottle, FailuresOutsideTheWindowDoNotAddUp) {
  AuthThrottle throttle(Settings(3, 10, 30));
  const auto t0 = AuthThrottle::Clock::now();
  throttle.RecordFailure("a", t0);
  throttle.RecordFailure("a", t0 + seconds(5));
  EXPECT_FALSE(throttle.RecordFailure("a", t0 + seconds(11)));  // a new window
  EXPECT_EQ(throttle.RetryAfter("a", t0 + seconds(11)), 0u);
}

TEST(AuthThrottle, ZeroDisables) {
  AuthThrottle throttle(Settings(0, 60, 30));
  const auto t0 = AuthThrottle::Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(throttle.RecordFailure("a", t0));
  EXPECT_EQ(throttle.RetryAfter("a", t0), 0u);
}

}  // namespace
}  // namespace tlsproxy::acl
