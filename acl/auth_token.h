// Login tokens for v3 clients: what Auth/Authenticate hands out and every
// later call carries as its `token` metadata. Self-contained and signed,
// so any proxy holding the same key accepts a token another one issued,
// and nothing is stored per login.
//
//   token = "etp1." hex(user) "." expiry "." hex(HMAC-SHA256(key, msg))
//   msg   = "etp1" NUL user NUL expiry NUL SHA-256(user's account hash)
//
// Guarantees: Verify() accepts only a token this key signed, before its
// expiry, for a user who still has the same account hash: a reload that
// removes the user or changes their password ends their tokens at once.
// The MAC is compared in constant time (CRYPTO_memcmp). Pure: OpenSSL's
// HMAC and SHA-256, no I/O, no clock (the caller passes `now`).
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tlsproxy::acl {

class AuthTokens {
 public:
  // `key`: at least kMinKeyBytes secret bytes.
  AuthTokens(std::string key, std::chrono::seconds ttl) : key_(std::move(key)), ttl_(ttl) {}

  static constexpr size_t kMinKeyBytes = 32;
  // kMinKeyBytes random bytes from OpenSSL's RAND_bytes.
  static std::string RandomKey();

  // A token for `user`, whose account hash is `account_hash`, valid for ttl.
  std::string Issue(std::string_view user, std::string_view account_hash, std::time_t now) const;

  // The token's user when it is valid against `accounts` (user -> hash) at
  // `now`; nullopt for anything else (malformed, forged, expired, unknown
  // or changed user).
  std::optional<std::string> Verify(std::string_view token,
                                    const std::map<std::string, std::string>& accounts,
                                    std::time_t now) const;

  std::chrono::seconds ttl() const { return ttl_; }

 private:
  std::string Mac(std::string_view user, std::string_view expiry,
                  std::string_view account_hash) const;
  std::string key_;
  std::chrono::seconds ttl_;
};

}  // namespace tlsproxy::acl
