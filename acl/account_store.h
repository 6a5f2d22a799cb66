// Checks basic-auth passwords against the `accounts` hashes of a Config.
//
// Immutable after construction; safe to share across threads. Verification
// uses apr-util's apr_password_validate (the function Apache uses for
// htpasswd files), which supports $apr1$, bcrypt and sha-crypt and compares
// in constant time. An unknown user is checked against a dummy hash so the
// answer takes about as long as for a known one.
#pragma once

#include <map>
#include <string>

namespace tlsproxy::acl {

class AccountStore {
 public:
  explicit AccountStore(std::map<std::string, std::string> user_to_hash);
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  // True only when `user` exists and `password` matches its hash.
  bool Verify(const std::string& user, const std::string& password) const;

 private:
  std::map<std::string, std::string> user_to_hash_;
};

}  // namespace tlsproxy::acl
