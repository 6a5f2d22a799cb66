#include "proxy/server.h"

#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/client_connection.h"

namespace tlsproxy::proxy {
namespace {

constexpr int kBacklog = 1024;

// A non-blocking listening socket; IPv6 sockets are IPv6-only so that
// "0.0.0.0:P" and "[::]:P" can both be listed, as in the nginx setup.
evutil_socket_t BindSocket(const sockaddr_storage& address, socklen_t length, std::string* error) {
  const evutil_socket_t fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      evutil_make_socket_nonblocking(fd) != 0) {
    *error = std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::unique_ptr<Server> Server::Create(std::shared_ptr<const Runtime> runtime, std::string* error) {
  std::unique_ptr<Server> server(new Server());
  server->base_.reset(event_base_new());
  if (!server->base_) {
    *error = "cannot create event loop";
    return nullptr;
  }
  server->runtime_ = runtime;
  const config::Config& config = *runtime->config;
  server->access_log_ = AccessLog::Open(config.log.access_log, error);
  if (!server->access_log_) {
    *error = "log.access_log: " + *error;
    return nullptr;
  }
  sockaddr_storage upstream;
  socklen_t upstream_length = 0;
  if (!UpstreamPool::Resolve(config.upstream.host, config.upstream.port, &upstream,
                             &upstream_length)) {
    *error = "upstream: cannot resolve " + config.upstream.text;
    return nullptr;
  }
  server->pool_ = std::make_unique<UpstreamPool>(server->base(), upstream, upstream_length);
  for (const config::HostPort& address : config.listen) {
    if (!server->Listen(address, error)) return nullptr;
  }
  for (int signal_number : {SIGINT, SIGTERM}) {
    event* ev = evsignal_new(server->base(), signal_number, &Server::OnSignal, server.get());
    event_add(ev, nullptr);
    server->signals_.emplace_back(ev);
  }
  return server;
}

Server::~Server() {
  // Connections free their bufferevents, which need the event base alive.
  while (!connections_.empty()) delete *connections_.begin();
  listeners_.clear();
  signals_.clear();
  pool_.reset();
}

bool Server::Listen(const config::HostPort& address, std::string* error) {
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!UpstreamPool::Resolve(address.host, address.port, &storage, &length)) {
    *error = "listen (line " + std::to_string(address.line) + "): cannot resolve " + address.text;
    return false;
  }
  std::string why;
  const evutil_socket_t fd = BindSocket(storage, length, &why);
  if (fd < 0) {
    *error = "listen (line " + std::to_string(address.line) + "): cannot bind " + address.text +
             ": " + why;
    return false;
  }
  evconnlistener* listener = evconnlistener_new(
      base(), &Server::OnAccept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, kBacklog, fd);
  if (listener == nullptr) {
    close(fd);
    *error = "listen: cannot listen on " + address.text + ": " + std::strerror(errno);
    return false;
  }
  listeners_.emplace_back(listener);
  spdlog::info("listening on {}", address.text);
  return true;
}

int Server::Run() {
  spdlog::info("forwarding to {}", runtime_->config->upstream.text);
  event_base_dispatch(base());
  spdlog::info("stopped");
  return 0;
}

void Server::Stop() {
  listeners_.clear();
  event_base_loopexit(base(), nullptr);
}

void Server::OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                      void* self) {
  ClientConnection::Accept(*static_cast<Server*>(self), fd, address, length);
}

void Server::OnSignal(evutil_socket_t signal_number, short, void* self) {
  spdlog::info("received signal {}, shutting down", static_cast<int>(signal_number));
  static_cast<Server*>(self)->Stop();
}

}  // namespace tlsproxy::proxy
