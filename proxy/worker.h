// One event loop serving client connections: its own listening sockets
// (SO_REUSEPORT, so the kernel spreads new connections over the workers),
// its own upstream connection pool and its own set of connections. Workers
// share only immutable state (the current Runtime, read through
// SharedRuntime) and the thread-safe Metrics.
//
// Create() binds before returning, on the caller's thread; Run() is the
// thread's body; RequestDrain() may be called from any thread.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/metrics.h"
#include "proxy/runtime.h"
#include "proxy/upstream_pool.h"

namespace tlsproxy::proxy {

class ClientConnection;

struct EventBaseDeleter {
  void operator()(event_base* base) const { event_base_free(base); }
};
struct ListenerDeleter {
  void operator()(evconnlistener* listener) const { evconnlistener_free(listener); }
};
struct EventDeleter {
  void operator()(event* ev) const { event_free(ev); }
};

// The Runtime in force. Reload replaces it; each request takes a reference
// when it starts and keeps that set to its end.
class SharedRuntime {
 public:
  explicit SharedRuntime(std::shared_ptr<const Runtime> runtime) : runtime_(std::move(runtime)) {}
  std::shared_ptr<const Runtime> Get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return runtime_;
  }
  void Set(std::shared_ptr<const Runtime> runtime) {
    std::lock_guard<std::mutex> lock(mutex_);
    runtime_ = std::move(runtime);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Runtime> runtime_;
};

class Worker {
 public:
  // `on_stopped` runs on the worker's thread when its loop has ended.
  static std::unique_ptr<Worker> Create(int index, SharedRuntime& runtime, Metrics& metrics,
                                        std::function<void()> on_stopped, std::string* error);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Run();
  // Thread-safe: stop accepting, drain, end the loop when the last
  // connection has gone or `timeout_seconds` have passed.
  void RequestDrain(size_t timeout_seconds);

  event_base* base() const { return base_.get(); }
  std::shared_ptr<const Runtime> runtime() const { return runtime_.Get(); }
  UpstreamPool& pool() { return *pool_; }
  Metrics& metrics() { return metrics_; }
  bool draining() const { return draining_; }

  // Connections register themselves on creation and leave on destruction.
  void Add(ClientConnection* connection);
  void Remove(ClientConnection* connection);

 private:
  Worker(int index, SharedRuntime& runtime, Metrics& metrics)
      : index_(index), runtime_(runtime), metrics_(metrics) {}
  bool Listen(const config::HostPort& address, std::string* error);
  void StartDrain();

  static void OnAccept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address, int length,
                       void* self);
  static void OnDrainRequested(evutil_socket_t, short, void* self);
  static void OnDrainTimeout(evutil_socket_t, short, void* self);

  const int index_;
  SharedRuntime& runtime_;
  Metrics& metrics_;
  std::function<void()> on_stopped_;
  std::unique_ptr<event_base, EventBaseDeleter> base_;
  std::unique_ptr<UpstreamPool> pool_;
  std::vector<std::unique_ptr<evconnlistener, ListenerDeleter>> listeners_;
  int drain_fd_ = -1;  // eventfd: RequestDrain() from another thread wakes the loop
  std::unique_ptr<event, EventDeleter> drain_request_;
  std::unique_ptr<event, EventDeleter> drain_timer_;
  std::atomic<size_t> drain_timeout_seconds_{10};
  std::unordered_set<ClientConnection*> connections_;
  bool draining_ = false;
};

}  // namespace tlsproxy::proxy
