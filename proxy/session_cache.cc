#include "proxy/session_cache.h"

namespace tlsproxy::proxy {
namespace {

using Reference = std::shared_ptr<SessionCache>;

void FreeReference(void* /*parent*/, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Reference*>(pointer);
}

int ExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeReference);
  return index;
}

std::string IdOf(const SSL_SESSION* session) {
  unsigned int length = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &length);
  return std::string(reinterpret_cast<const char*>(id), length);
}

}  // namespace

SessionCache::~SessionCache() {
  for (auto& [id, entry] : sessions_) SSL_SESSION_free(entry.session);
}

void SessionCache::Install(SSL_CTX* ctx, std::shared_ptr<SessionCache> cache) {
  SSL_CTX_set_ex_data(ctx, ExIndex(), new Reference(std::move(cache)));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, &SessionCache::OnNew);
  SSL_CTX_sess_set_get_cb(ctx, &SessionCache::OnGet);
  SSL_CTX_sess_set_remove_cb(ctx, &SessionCache::OnRemove);
}

size_t SessionCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

SessionCache* SessionCache::Of(SSL_CTX* ctx) {
  auto* reference = static_cast<Reference*>(SSL_CTX_get_ex_data(ctx, ExIndex()));
  return reference == nullptr ? nullptr : reference->get();
}

// Returning 1 tells OpenSSL that we keep the reference it hands over.
int SessionCache::OnNew(SSL* ssl, SSL_SESSION* session) {
  SessionCache* cache = Of(SSL_get_SSL_CTX(ssl));
  if (cache == nullptr) return 0;
  cache->Add(session);
  return 1;
}

SSL_SESSION* SessionCache::OnGet(SSL* ssl, const unsigned char* id, int length, int* copy) {
  *copy = 0;  // Find() took a reference for OpenSSL, under the lock
  SessionCache* cache = Of(SSL_get_SSL_CTX(ssl));
  if (cache == nullptr || length <= 0) return nullptr;
  return cache->Find(std::string(reinterpret_cast<const char*>(id), static_cast<size_t>(length)));
}

void SessionCache::OnRemove(SSL_CTX* ctx, SSL_SESSION* session) {
  SessionCache* cache = Of(ctx);
  if (cache == nullptr) return;
  std::lock_guard<std::mutex> lock(cache->mutex_);
  cache->Remove(IdOf(session));
}

void SessionCache::Add(SSL_SESSION* session) {
  const std::string id = IdOf(session);
  std::lock_guard<std::mutex> lock(mutex_);
  Remove(id);
  while (sessions_.size() >= kCapacity) Remove(order_.front());
  order_.push_back(id);
  sessions_.emplace(id, Entry{session, std::prev(order_.end())});
}

SSL_SESSION* SessionCache::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = sessions_.find(id);
  if (found == sessions_.end()) return nullptr;
  SSL_SESSION_up_ref(found->second.session);
  return found->second.session;
}

void SessionCache::Remove(const std::string& id) {
  const auto found = sessions_.find(id);
  if (found == sessions_.end()) return;
  SSL_SESSION_free(found->second.session);
  order_.erase(found->second.order);
  sessions_.erase(found);
}

}  // namespace tlsproxy::proxy
