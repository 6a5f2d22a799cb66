// Keep-alive plaintext connections to the local etcd.
//
// Acquire() hands out an idle connection when one is left, else starts a new
// one; Release() takes back a connection whose last response was complete and
// reusable. Idle connections are watched: if etcd closes one (or sends
// anything unasked), it is freed at once, so a restarted etcd leaves no stale
// entries behind. Single-threaded: belongs to one event loop.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <vector>

namespace tlsproxy::proxy {

class UpstreamPool {
 public:
  // `address` is the upstream's resolved socket address.
  UpstreamPool(event_base* base, const sockaddr_storage& address, socklen_t length);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  struct Lease {
    bufferevent* bev = nullptr;  // owned by the caller until Release() or bufferevent_free()
    bool reused = false;         // true: was idle in the pool; false: connecting now
  };
  // Returns a lease with a null bev when a socket cannot even be created.
  Lease Acquire();

  // Gives back a connected bufferevent with nothing pending in either
  // direction. The pool owns it afterwards.
  void Release(bufferevent* bev);

  // Resolves "host" + port to one address (loopback names only in practice).
  static bool Resolve(const std::string& host, uint16_t port, sockaddr_storage* out,
                      socklen_t* length);

 private:
  static void OnIdleActivity(bufferevent* bev, void* self);
  static void OnIdleEvent(bufferevent* bev, short what, void* self);
  void Drop(bufferevent* bev);

  static constexpr size_t kMaxIdle = 128;
  event_base* base_;
  sockaddr_storage address_;
  socklen_t length_;
  std::vector<bufferevent*> idle_;
};

}  // namespace tlsproxy::proxy
