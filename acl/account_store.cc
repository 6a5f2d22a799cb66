#include "acl/account_store.h"

#include <apr_general.h>
#include <apr_md5.h>

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
    (void)apr_password_validate(password.c_str(), hash);
    return false;
  }
  return apr_password_validate(password.c_str(), it->second.c_str()) == APR_SUCCESS;
}

}  // namespace tlsproxy::acl
