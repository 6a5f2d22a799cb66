#include "acl/account_store.h"

#include <apr_general.h>
#include <apr_md5.h>
#include <crypt.h>
#include <openssl/crypto.h>

#include <memory>
#include <mutex>

namespace tlsproxy::acl {
namespace {

// $apr1$ hash of a random string nobody knows; stands in for an unknown user
// when no account exists to borrow a hash from.
constexpr char kDummyHash[] = "$apr1$lcam4vey$4iuj3awL4pNxwOo9n7E261";

void InitializeAprOnce() {
  static std::once_flag once;
  std::call_once(once, [] { apr_initialize(); });
}

// Recomputes `stored` from `password` with the library that owns the format
// (apr-util for $apr1$, libxcrypt's crypt_r, which apr-util itself calls, for
// bcrypt and sha-crypt) and compares the two in constant time.
// apr_password_validate would do the same but ends with strcmp().
bool Matches(const std::string& password, const std::string& stored) {
  std::string computed;
  if (stored.rfind("$apr1$", 0) == 0) {
    char result[120];
    if (apr_md5_encode(password.c_str(), stored.c_str(), result, sizeof result) != APR_SUCCESS) {
      return false;
    }
    computed = result;
  } else {
    auto data = std::make_unique<crypt_data>();
    const char* result = crypt_r(password.c_str(), stored.c_str(), data.get());
    if (result == nullptr || result[0] == '*') return false;  // libxcrypt's failure token
    computed = result;
  }
  return computed.size() == stored.size() &&
         CRYPTO_memcmp(computed.data(), stored.data(), stored.size()) == 0;
}

}  // namespace

AccountStore::AccountStore(std::map<std::string, std::string> user_to_hash)
    : user_to_hash_(std::move(user_to_hash)) {
  InitializeAprOnce();
}

bool AccountStore::Verify(const std::string& user, const std::string& password) const {
  auto it = user_to_hash_.find(user);
  if (it == user_to_hash_.end()) {
    // Spend about the time a real check costs, so the answer does not tell
    // which user names exist. Borrowing a configured hash matches its cost
    // (bcrypt is far slower than $apr1$); the result is ignored.
    const char* hash = user_to_hash_.empty() ? kDummyHash : user_to_hash_.begin()->second.c_str();
    (void)Matches(password, hash);
    return false;
  }
  const auto now = CredentialCache::Clock::now();
  if (cache_.Contains(user, password, now)) return true;
  if (!Matches(password, it->second)) return false;
  cache_.Remember(user, password, now);
  return true;
}

}  // namespace tlsproxy::acl
