// The server's TLS session cache by session ID, for TLS 1.2 clients that do
// not take session tickets, kept outside OpenSSL's own per-SSL_CTX cache so
// that it outlives a reload: every SSL_CTX the process builds while client
// verification stays the same shares one SessionCache (see
// TlsContext::Create).
//
// Bounded: at most kCapacity sessions, the oldest dropped first; OpenSSL
// itself refuses a session past its timeout when one is looked up. Each
// SSL_CTX it is installed on holds a reference, released when OpenSSL frees
// that SSL_CTX. Thread-safe: every worker's handshakes use it.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tlsproxy::proxy {

class SessionCache {
 public:
  static constexpr size_t kCapacity = 20000;

  SessionCache() = default;
  ~SessionCache();
  SessionCache(const SessionCache&) = delete;
  SessionCache& operator=(const SessionCache&) = delete;

  // Makes `ctx` keep its server sessions here instead of in its own cache.
  static void Install(SSL_CTX* ctx, std::shared_ptr<SessionCache> cache);

  size_t size() const;

 private:
  struct Entry {
    SSL_SESSION* session;                    // one reference, ours
    std::list<std::string>::iterator order;  // position in order_
  };

  static SessionCache* Of(SSL_CTX* ctx);
  static int OnNew(SSL* ssl, SSL_SESSION* session);
  static SSL_SESSION* OnGet(SSL* ssl, const unsigned char* id, int length, int* copy);
  static void OnRemove(SSL_CTX* ctx, SSL_SESSION* session);

  void Add(SSL_SESSION* session);
  SSL_SESSION* Find(const std::string& id);  // a new reference, or nullptr
  void Remove(const std::string& id);        // caller holds mutex_

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
  std::list<std::string> order_;  // oldest first
};

}  // namespace tlsproxy::proxy
