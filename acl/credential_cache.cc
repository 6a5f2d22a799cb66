#include "acl/credential_cache.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace tlsproxy::acl {

CredentialCache::CredentialCache(std::size_t capacity, std::chrono::seconds ttl)
    : capacity_(capacity), ttl_(ttl) {
  if (RAND_bytes(hmac_key_, sizeof hmac_key_) != 1) std::abort();  // no entropy: do not run
}

std::string CredentialCache::KeyFor(const std::string& user, const std::string& password) const {
  std::string message = user;
  message.push_back('\0');
  message += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), hmac_key_, sizeof hmac_key_,
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  OPENSSL_cleanse(message.data(), message.size());
  return std::string(reinterpret_cast<char*>(digest), length);
}

bool CredentialCache::Contains(const std::string& user, const std::string& password,
                               Clock::time_point now) const {
  const std::string key = KeyFor(user, password);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = expiry_.find(key);
  return it != expiry_.end() && now < it->second;
}

void CredentialCache::Remember(const std::string& user, const std::string& password,
                               Clock::time_point now) {
  if (capacity_ == 0) return;
  const std::string key = KeyFor(user, password);
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = expiry_.insert_or_assign(key, now + ttl_);
  (void)it;
  if (!inserted) return;
  order_.push_back(key);
  while (order_.size() > capacity_) {
    expiry_.erase(order_.front());
    order_.pop_front();
  }
}

std::size_t CredentialCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return expiry_.size();
}

}  // namespace tlsproxy::acl
