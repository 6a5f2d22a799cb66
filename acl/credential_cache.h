// Remembers basic-auth credentials that verified, so crypt(3) runs once per
// credential rather than once per request.
//
// Entries are keyed by HMAC-SHA256(random per-instance key, user NUL password):
// the cache never holds a password or anything a password can be recovered
// from without the key, which lives only in this process's memory. Bounded
// in size (least recently inserted entries go first) and each entry expires
// after `ttl`. Only successes are remembered; a wrong password is always
// checked against the real hash. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tlsproxy::acl {

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;

  CredentialCache(std::size_t capacity, std::chrono::seconds ttl);
  CredentialCache(const CredentialCache&) = delete;
  CredentialCache& operator=(const CredentialCache&) = delete;

  // True when this exact user and password verified within the last `ttl`.
  bool Contains(const std::string& user, const std::string& password, Clock::time_point now) const;
  // Records a successful verification.
  void Remember(const std::string& user, const std::string& password, Clock::time_point now);

  std::size_t size() const;

 private:
  std::string KeyFor(const std::string& user, const std::string& password) const;

  const std::size_t capacity_;
  const std::chrono::seconds ttl_;
  unsigned char hmac_key_[32];
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> expiry_;  // HMAC -> expiry
  std::deque<std::string> order_;                              // insertion order, for eviction
};

}  // namespace tlsproxy::acl
