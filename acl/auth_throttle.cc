#include "acl/auth_throttle.h"

namespace tlsproxy::acl {

void AuthThrottle::SetSettings(const config::AuthThrottleSettings& settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  settings_ = settings;
}

std::size_t AuthThrottle::RetryAfter(const std::string& address, Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (settings_.max_failures == 0) return 0;
  const auto it = entries_.find(address);
  if (it == entries_.end() || it->second.blocked_until <= now) return 0;
  const auto left = std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now);
  return static_cast<std::size_t>(left.count());
}

bool AuthThrottle::RecordFailure(const std::string& address, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (settings_.max_failures == 0) return false;
  if (entries_.size() >= kMaxAddresses && entries_.count(address) == 0) DropStale(now);
  Entry& entry = entries_[address];
  const std::chrono::seconds window(settings_.window);
  if (entry.failures == 0 || now - entry.window_start >= window) {
    entry.window_start = now;
    entry.failures = 0;
  }
  ++entry.failures;
  if (entry.failures < settings_.max_failures) return false;
  const bool starts = entry.blocked_until <= now;
  entry.blocked_until = now + std::chrono::seconds(settings_.backoff);
  entry.failures = 0;
  return starts;
}

void AuthThrottle::DropStale(Clock::time_point now) {
  const std::chrono::seconds window(settings_.window);
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool stale = it->second.blocked_until <= now && now - it->second.window_start >= window;
    it = stale ? entries_.erase(it) : std::next(it);
  }
  // Still full (an attack from very many addresses): forget them all rather
  // than grow; this only loosens throttling, it never grants access.
  if (entries_.size() >= kMaxAddresses) entries_.clear();
}

}  // namespace tlsproxy::acl
