// The event loop and what it shares: the listening sockets, the upstream
// connection pool, the access log, the current Runtime, and the set of open
// client connections.
//
// Create() binds every `listen` address before returning (so a port in use
// is a start-up error, not a surprise later); Run() serves until SIGINT or
// SIGTERM and then returns 0 after closing everything it opened.
#pragma once

#include <event2/event.h>
#include <event2/listener.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/access_log.h"
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
  static std::unique_ptr<Server> Create(std::shared_ptr<const Runtime> runtime, std::string* error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int Run();

  event_base* base() const { return base_.get(); }
  std::shared_ptr<const Runtime> runtime() const { return runtime_; }
  UpstreamPool& pool() { return *pool_; }
  AccessLog& access_log() { return *access_log_; }

  // Connections register themselves on creation and leave on destruction.
  void Add(ClientConnection* connection) { connections_.insert(connection); }
  void Remove(ClientConnection* connection) { connections_.erase(connection); }

 private:
  Server() = default;
  bool Listen(const config::HostPort& address, std::string* error);
  void Stop();

  static void OnAccept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address, int length,
                       void* self);
  static void OnSignal(evutil_socket_t signal, short, void* self);

  // Declaration order is destruction order in reverse: connections and the
  // pool go before the event base they live on.
  std::unique_ptr<event_base, EventBaseDeleter> base_;
  std::shared_ptr<const Runtime> runtime_;
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<UpstreamPool> pool_;
  std::vector<std::unique_ptr<evconnlistener, ListenerDeleter>> listeners_;
  std::vector<std::unique_ptr<event, EventDeleter>> signals_;
  std::unordered_set<ClientConnection*> connections_;
};

}  // namespace tlsproxy::proxy
