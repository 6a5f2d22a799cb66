// Slows down password guessing: counts failed basic-auth checks per client
// address and, past `max_failures` within `window`, refuses further attempts
// from that address for `backoff` (the proxy answers 429 with Retry-After).
//
// Only the address that failed is slowed: a valid client at another address
// is never affected. Bounded memory (at most kMaxAddresses tracked; stale
// entries are dropped first). Thread-safe. max_failures 0 disables it.
//
// One AuthThrottle lives as long as the process: a reload changes its
// settings (SetSettings) but keeps every address's count and back-off, so a
// nightly SIGHUP gives a guesser no fresh budget.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.h"

namespace tlsproxy::acl {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxAddresses = 100000;

  explicit AuthThrottle(const config::AuthThrottleSettings& settings) : settings_(settings) {}
  AuthThrottle(const AuthThrottle&) = delete;
  AuthThrottle& operator=(const AuthThrottle&) = delete;

  // New limits for the failures counted from now on; back-offs already
  // running keep their end.
  void SetSettings(const config::AuthThrottleSettings& settings);

  // Seconds to wait when `address` is in back-off, 0 when it may try.
  std::size_t RetryAfter(const std::string& address, Clock::time_point now) const;

  // Counts a failed check. Returns true when this failure starts a back-off
  // (so the caller can log it once).
  bool RecordFailure(const std::string& address, Clock::time_point now);

 private:
  struct Entry {
    Clock::time_point window_start;
    std::size_t failures = 0;
    Clock::time_point blocked_until;
  };
  void DropStale(Clock::time_point now);  // caller holds mutex_

  config::AuthThrottleSettings settings_;  // guarded by mutex_
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace tlsproxy::acl
