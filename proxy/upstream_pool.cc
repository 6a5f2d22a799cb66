#include "proxy/upstream_pool.h"

#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>

namespace tlsproxy::proxy {

UpstreamPool::UpstreamPool(event_base* base, const sockaddr_storage& address, socklen_t length)
    : base_(base), address_(address), length_(length) {}

UpstreamPool::~UpstreamPool() {
  for (bufferevent* bev : idle_) bufferevent_free(bev);
}

UpstreamPool::Lease UpstreamPool::Acquire() {
  if (!idle_.empty()) {
    bufferevent* bev = idle_.back();
    idle_.pop_back();
    bufferevent_setcb(bev, nullptr, nullptr, nullptr, nullptr);
    return {bev, true};
  }
  bufferevent* bev = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) return {};
  if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr*>(&address_),
                                 static_cast<int>(length_)) != 0) {
    // Immediate failure (e.g. no socket): the caller sees it as a connect error.
    bufferevent_free(bev);
    return {};
  }
  const evutil_socket_t fd = bufferevent_getfd(bev);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return {bev, false};
}

void UpstreamPool::Release(bufferevent* bev) {
  if (idle_.size() >= kMaxIdle) {
    bufferevent_free(bev);
    return;
  }
  // No timeouts to clear: the exchange cleared them at the response head.
  bufferevent_setcb(bev, &UpstreamPool::OnIdleActivity, nullptr, &UpstreamPool::OnIdleEvent, this);
  bufferevent_disable(bev, EV_WRITE);  // re-enabled by a lease only if it must queue bytes
  bufferevent_enable(bev, EV_READ);
  idle_.push_back(bev);
}

void UpstreamPool::OnIdleActivity(bufferevent* bev, void* self) {
  // An idle connection must be silent; anything read means it is unusable.
  static_cast<UpstreamPool*>(self)->Drop(bev);
}

void UpstreamPool::OnIdleEvent(bufferevent* bev, short /*what*/, void* self) {
  static_cast<UpstreamPool*>(self)->Drop(bev);
}

void UpstreamPool::Drop(bufferevent* bev) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), bev), idle_.end());
  bufferevent_free(bev);
}

bool UpstreamPool::Resolve(const std::string& host, uint16_t port, sockaddr_storage* out,
                           socklen_t* length) {
  evutil_addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  evutil_addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (evutil_getaddrinfo(host.c_str(), service.c_str(), &hints, &result) != 0 || !result) {
    return false;
  }
  std::memcpy(out, result->ai_addr, result->ai_addrlen);
  *length = static_cast<socklen_t>(result->ai_addrlen);
  evutil_freeaddrinfo(result);
  return true;
}

}  // namespace tlsproxy::proxy
