// One event loop serving client connections: its own listening sockets
// (SO_REUSEPORT, so the kernel spreads new connections over the workers),
// its own upstream connection pool and its own set of connections. Workers
// share only immutable state (the Runtime) and the thread-safe Metrics.
//
// Each worker keeps its own reference to the Runtime in force, so taking it
// for a request needs no lock: SetRuntime() (a reload, on the main thread)
// hands a new one over through the worker's eventfd, and the worker's
// thread installs it. The old one is released when the last request that
// holds it ends.
//
// Create() binds before returning, on the caller's thread; Run() is the
// thread's body; RequestDrain() and SetRuntime() may be called from any
// thread; everything else runs on the worker's thread.
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
#include "proxy/upstream_h2.h"
#include "proxy/upstream_pool.h"

namespace tlsproxy::proxy {

class Connection;

struct EventBaseDeleter {
  void operator()(event_base* base) const { event_base_free(base); }
};
struct ListenerDeleter {
  void operator()(evconnlistener* listener) const { evconnlistener_free(listener); }
};
struct EventDeleter {
  void operator()(event* ev) const { event_free(ev); }
};

class Worker {
 public:
  // `on_stopped` runs on the worker's thread when its loop has ended.
  static std::unique_ptr<Worker> Create(int index, std::shared_ptr<const Runtime> runtime,
                                        Metrics& metrics, std::function<void()> on_stopped,
                                        std::string* error);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Run();
  // Thread-safe: stop accepting, drain, end the loop when the last
  // connection has gone or `timeout_seconds` have passed.
  void RequestDrain(size_t timeout_seconds);
  // Thread-safe: the Runtime for requests that start from now on.
  void SetRuntime(std::shared_ptr<const Runtime> runtime);

  int index() const { return index_; }
  event_base* base() const { return base_.get(); }
  // The Runtime in force; copy the pointer to keep it for a request.
  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  UpstreamPool& pool() { return *pool_; }
  UpstreamH2Pool& h2_pool() { return *h2_pool_; }
  Metrics& metrics() { return metrics_; }
  WorkerStats& stats() { return stats_; }
  bool draining() const { return draining_; }

  // Connections register themselves on creation and leave on destruction.
  void Add(Connection* connection);
  void Remove(Connection* connection);

 private:
  Worker(int index, std::shared_ptr<const Runtime> runtime, Metrics& metrics)
      : index_(index),
        runtime_(std::move(runtime)),
        metrics_(metrics),
        stats_(metrics.AddWorker()) {}
  bool Listen(const config::HostPort& address, std::string* error);
  void StartDrain();
  void Wake();

  static void OnAccept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address, int length,
                       void* self);
  static void OnWake(evutil_socket_t, short, void* self);
  static void OnDrainTimeout(evutil_socket_t, short, void* self);

  const int index_;
  std::shared_ptr<const Runtime> runtime_;
  Metrics& metrics_;
  WorkerStats& stats_;
  std::function<void()> on_stopped_;
  std::unique_ptr<event_base, EventBaseDeleter> base_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<UpstreamH2Pool> h2_pool_;
  std::vector<std::unique_ptr<evconnlistener, ListenerDeleter>> listeners_;
  // Other threads wake the loop through this eventfd (its loop has no locks)
  // after leaving a request in the mailbox below.
  int wake_fd_ = -1;
  std::unique_ptr<event, EventDeleter> wake_event_;
  std::mutex mailbox_mutex_;
  std::shared_ptr<const Runtime> next_runtime_;  // guarded by mailbox_mutex_
  std::atomic<bool> drain_requested_{false};
  std::unique_ptr<event, EventDeleter> drain_timer_;
  std::atomic<size_t> drain_timeout_seconds_{10};
  std::unordered_set<Connection*> connections_;
  bool draining_ = false;
};

}  // namespace tlsproxy::proxy
