// The event loop and what it shares: the listening sockets, the upstream
// connection pool, the access log, the metrics, the admin listener, the
// current Runtime, and the set of open client connections.
//
// Create() binds every `listen` address (and admin_listen) before returning,
// so a port in use is a start-up error, not a surprise later. Run() serves
// until SIGINT or SIGTERM, then drains: it stops accepting, ends open
// watches with a clean end of stream, lets other requests in flight finish
// for up to drain_timeout, and returns 0 after closing everything it opened.
// SIGHUP rebuilds the Runtime from the config file; only a fully valid new
// set replaces the old one, which then serves new connections and the next
// request on kept-alive ones. Requests in flight keep the set they began with.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/admin_server.h"
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

class Server {
 public:
  // `config_path` is re-read on SIGHUP.
  static std::unique_ptr<Server> Create(std::string config_path,
                                        std::shared_ptr<const Runtime> runtime, std::string* error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int Run();

  event_base* base() const { return base_.get(); }
  std::shared_ptr<const Runtime> runtime() const { return runtime_; }
  UpstreamPool& pool() { return *pool_; }
  AccessLog& access_log() { return *access_log_; }
  Metrics& metrics() { return metrics_; }
  bool draining() const { return draining_; }

  // Connections register themselves on creation and leave on destruction.
  void Add(ClientConnection* connection);
  void Remove(ClientConnection* connection);

  // Re-reads the config file; keeps the old set if the new one is invalid.
  // Returns whether the new set is in force.
  bool Reload();

 private:
  Server() = default;
  bool Listen(const config::HostPort& address, std::string* error);
  void StartDrain();
  void InstallRuntime(std::shared_ptr<const Runtime> runtime);

  static void OnAccept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address, int length,
                       void* self);
  static void OnStopSignal(evutil_socket_t signal, short, void* self);
  static void OnReloadSignal(evutil_socket_t signal, short, void* self);
  static void OnDrainTimeout(evutil_socket_t, short, void* self);

  // Members are destroyed in reverse order; ~Server() frees connections,
  // listeners and the pool explicitly first, while the event base is alive.
  std::unique_ptr<event_base, EventBaseDeleter> base_;
  std::string config_path_;
  std::shared_ptr<const Runtime> runtime_;
  Metrics metrics_;
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<UpstreamPool> pool_;
  std::vector<std::unique_ptr<evconnlistener, ListenerDeleter>> listeners_;
  std::vector<std::unique_ptr<event, EventDeleter>> signals_;
  std::unique_ptr<event, EventDeleter> drain_timer_;
  std::unordered_set<ClientConnection*> connections_;
  bool draining_ = false;
};

}  // namespace tlsproxy::proxy
