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

std::unique_ptr<Server> Server::Create(std::string config_path,
                                       std::shared_ptr<const Runtime> runtime, std::string* error) {
  std::unique_ptr<Server> server(new Server());
  server->base_.reset(event_base_new());
  if (!server->base_) {
    *error = "cannot create event loop";
    return nullptr;
  }
  server->config_path_ = std::move(config_path);
  server->runtime_ = runtime;
  server->metrics_.SetCertificateExpiry(runtime->tls->NotAfter());
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
  if (config.admin_listen) {
    server->admin_ = AdminServer::Create(server->base(), *config.admin_listen, config.upstream,
                                         server->metrics_, error);
    if (!server->admin_) return nullptr;
    spdlog::info("admin listener on {}", config.admin_listen->text);
  }
  for (int signal_number : {SIGINT, SIGTERM}) {
    event* ev = evsignal_new(server->base(), signal_number, &Server::OnStopSignal, server.get());
    event_add(ev, nullptr);
    server->signals_.emplace_back(ev);
  }
  event* hup = evsignal_new(server->base(), SIGHUP, &Server::OnReloadSignal, server.get());
  event_add(hup, nullptr);
  server->signals_.emplace_back(hup);
  if (server->admin_) server->admin_->SetReady(true);
  return server;
}

void Server::Add(ClientConnection* connection) {
  connections_.insert(connection);
  metrics_.ConnectionOpened();
}

void Server::Remove(ClientConnection* connection) {
  if (connections_.erase(connection) == 0) return;
  metrics_.ConnectionClosed();
  if (draining_ && connections_.empty()) event_base_loopexit(base(), nullptr);
}

bool Server::Reload() {
  Runtime::Result built = Runtime::Build(config_path_);
  if (!built.runtime) {
    for (const auto& problem : built.errors) {
      spdlog::error("reload refused, old configuration stays in force: {}: {}", config_path_,
                    problem.ToString());
    }
    metrics_.CountReload(false);
    return false;
  }
  const config::Config& old_config = *runtime_->config;
  const config::Config& new_config = *built.runtime->config;
  if (new_config.upstream.text != old_config.upstream.text) {
    spdlog::warn("reload: upstream changes take effect at the next restart");
  }
  if (new_config.log.access_log != old_config.log.access_log ||
      new_config.log.access_log != "stderr") {
    // Reopen even when unchanged, so logrotate's HUP starts a new file.
    std::string error;
    std::unique_ptr<AccessLog> log = AccessLog::Open(new_config.log.access_log, &error);
    if (!log) {
      spdlog::error("reload refused, old configuration stays in force: log.access_log: {}", error);
      metrics_.CountReload(false);
      return false;
    }
    access_log_ = std::move(log);
  }
  InstallRuntime(std::move(built.runtime));
  metrics_.CountReload(true);
  spdlog::info("reloaded {}", config_path_);
  return true;
}

void Server::InstallRuntime(std::shared_ptr<const Runtime> runtime) {
  runtime_ = std::move(runtime);
  spdlog::default_logger()->set_level(spdlog::level::from_str(runtime_->config->log.level));
  metrics_.SetCertificateExpiry(runtime_->tls->NotAfter());
}

Server::~Server() {
  // Connections free their bufferevents, which need the event base alive.
  draining_ = false;
  while (!connections_.empty()) delete *connections_.begin();
  listeners_.clear();
  signals_.clear();
  drain_timer_.reset();
  admin_.reset();
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

void Server::StartDrain() {
  if (draining_) return;
  draining_ = true;
  listeners_.clear();
  if (admin_) admin_->SetReady(false);
  const size_t seconds = runtime_->config->drain_timeout_seconds;
  spdlog::info("draining {} connection(s) for up to {} s", connections_.size(), seconds);
  if (connections_.empty()) {
    event_base_loopexit(base(), nullptr);
    return;
  }
  // Copy: connections may leave the set while being told.
  const std::vector<ClientConnection*> open(connections_.begin(), connections_.end());
  for (ClientConnection* connection : open) connection->BeginDrain();
  drain_timer_.reset(evtimer_new(base(), &Server::OnDrainTimeout, this));
  const timeval timeout = {static_cast<time_t>(seconds), 0};
  evtimer_add(drain_timer_.get(), &timeout);
}

void Server::OnDrainTimeout(evutil_socket_t, short, void* self) {
  auto* server = static_cast<Server*>(self);
  spdlog::warn("drain timeout: closing {} connection(s) still busy", server->connections_.size());
  event_base_loopexit(server->base(), nullptr);
}

void Server::OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                      void* self) {
  ClientConnection::Accept(*static_cast<Server*>(self), fd, address, length);
}

void Server::OnStopSignal(evutil_socket_t signal_number, short, void* self) {
  spdlog::info("received signal {}, shutting down", static_cast<int>(signal_number));
  static_cast<Server*>(self)->StartDrain();
}

void Server::OnReloadSignal(evutil_socket_t, short, void* self) {
  spdlog::info("received SIGHUP, reloading");
  static_cast<Server*>(self)->Reload();
}

}  // namespace tlsproxy::proxy
