// Checks basic-auth passwords against the `accounts` hashes of a Config.
//
// Immutable after construction; safe to share across threads. Each hash is
// recomputed by the library that owns its format: apr-util's apr_md5_encode
// for $apr1$ (what Apache's htpasswd check uses) and libxcrypt's crypt_r for
// bcrypt ($2y$ $2b$ $2a$) and sha-crypt ($5$ $6$), which is what
// apr_password_validate calls for them. The result is compared with
// CRYPTO_memcmp, in constant time. An unknown user is checked against a
// configured hash so the answer takes about as long as for a known one.
//
// Successful checks are remembered in a CredentialCache owned by this store,
// so a reload (which builds a new store) forgets them all: a password
// changed in the config takes effect with the reload.
#pragma once

#include <map>
#include <string>

#include "acl/credential_cache.h"

namespace tlsproxy::acl {

class AccountStore {
 public:
  explicit AccountStore(std::map<std::string, std::string> user_to_hash);
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  // True only when `user` exists and `password` matches its hash.
  bool Verify(const std::string& user, const std::string& password) const;

  static constexpr std::size_t kCacheEntries = 4096;
  static constexpr std::chrono::seconds kCacheTtl{300};

 private:
  std::map<std::string, std::string> user_to_hash_;
  mutable CredentialCache cache_{kCacheEntries, kCacheTtl};
};

}  // namespace tlsproxy::acl
