#include "proxy/worker.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/tls_connection.h"

namespace tlsproxy::proxy {
namespace {

constexpr int kBacklog = 1024;

// A non-blocking listening socket shared with the other workers through
// SO_REUSEPORT. IPv6 sockets are IPv6-only so that "0.0.0.0:P" and "[::]:P"
// can both be listed, as in the nginx setup.
// SO_REUSEPORT would also let this process share a port with another
// program that set it (a second proxy, say), each silently getting part of
// the connections. So the first worker first binds a plain socket: if the
// address is taken, that fails as it would without SO_REUSEPORT.
bool AddressIsFree(const sockaddr_storage& address, socklen_t length, std::string* error) {
  const evutil_socket_t fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  const bool free = bind(fd, reinterpret_cast<const sockaddr*>(&address), length) == 0;
  if (!free) *error = std::strerror(errno);
  close(fd);
  return free;
}

evutil_socket_t BindSocket(const sockaddr_storage& address, socklen_t length, std::string* error) {
  const evutil_socket_t fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (address.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      evutil_make_socket_nonblocking(fd) != 0) {
    *error = std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

// An epoll loop that applies interest changes only when epoll_wait runs, so
// the add-then-remove of a write event that completes at once (every small
// response) costs no epoll_ctl at all. Without locks: only the worker's own
// thread touches it (RequestDrain goes through an eventfd), and libevent's
// lock and unlock around every event cost about 2% of a proxied request.
event_base* NewEventBase() {
  event_config* config = event_config_new();
  if (config == nullptr) return nullptr;
  event_config_set_flag(config, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
  event_base* base = event_base_new_with_config(config);
  event_config_free(config);
  return base;
}

}  // namespace

std::unique_ptr<Worker> Worker::Create(int index, std::shared_ptr<const Runtime> runtime,
                                       Metrics& metrics, std::function<void()> on_stopped,
                                       std::string* error) {
  std::unique_ptr<Worker> worker(new Worker(index, std::move(runtime), metrics));
  worker->on_stopped_ = std::move(on_stopped);
  worker->base_.reset(NewEventBase());
  if (!worker->base_) {
    *error = "cannot create event loop";
    return nullptr;
  }
  const config::Config& config = *worker->runtime_->config;
  sockaddr_storage upstream;
  socklen_t upstream_length = 0;
  if (!UpstreamPool::Resolve(config.upstream.host, config.upstream.port, &upstream,
                             &upstream_length)) {
    *error = "upstream: cannot resolve " + config.upstream.text;
    return nullptr;
  }
  worker->pool_ = std::make_unique<UpstreamPool>(worker->base(), upstream, upstream_length);
  worker->h2_pool_ = std::make_unique<UpstreamH2Pool>(worker->base(), upstream, upstream_length);
  for (const config::HostPort& address : config.listen) {
    if (!worker->Listen(address, error)) return nullptr;
  }
  worker->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (worker->wake_fd_ < 0) {
    *error = std::string("cannot create eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  worker->wake_event_.reset(event_new(worker->base(), worker->wake_fd_, EV_READ | EV_PERSIST,
                                      &Worker::OnWake, worker.get()));
  if (!worker->wake_event_ || event_add(worker->wake_event_.get(), nullptr) != 0) {
    *error = "cannot watch the worker's eventfd";
    return nullptr;
  }
  return worker;
}

Worker::~Worker() {
  // Connections free their bufferevents, which need the event base alive.
  draining_ = false;
  while (!connections_.empty()) delete *connections_.begin();
  listeners_.clear();
  wake_event_.reset();
  drain_timer_.reset();
  pool_.reset();
  h2_pool_.reset();
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool Worker::Listen(const config::HostPort& address, std::string* error) {
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!UpstreamPool::Resolve(address.host, address.port, &storage, &length)) {
    *error = "listen (line " + std::to_string(address.line) + "): cannot resolve " + address.text;
    return false;
  }
  std::string why;
  if (index_ == 0 && !AddressIsFree(storage, length, &why)) {
    *error = "listen (line " + std::to_string(address.line) + "): cannot bind " + address.text +
             ": " + why;
    return false;
  }
  const evutil_socket_t fd = BindSocket(storage, length, &why);
  if (fd < 0) {
    *error = "listen (line " + std::to_string(address.line) + "): cannot bind " + address.text +
             ": " + why;
    return false;
  }
  evconnlistener* listener = evconnlistener_new(
      base(), &Worker::OnAccept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, kBacklog, fd);
  if (listener == nullptr) {
    close(fd);
    *error = "listen: cannot listen on " + address.text + ": " + std::strerror(errno);
    return false;
  }
  listeners_.emplace_back(listener);
  if (index_ == 0) spdlog::info("listening on {}", address.text);
  return true;
}

void Worker::Run() {
  event_base_dispatch(base());
  if (on_stopped_) on_stopped_();
}

void Worker::RequestDrain(size_t timeout_seconds) {
  drain_timeout_seconds_ = timeout_seconds;
  drain_requested_ = true;
  Wake();
}

void Worker::SetRuntime(std::shared_ptr<const Runtime> runtime) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    next_runtime_ = std::move(runtime);
  }
  Wake();
}

// A write can only fail if the eventfd's counter is full, and then a
// wake-up is pending anyway.
void Worker::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof one);
}

void Worker::OnWake(evutil_socket_t fd, short, void* context) {
  auto* self = static_cast<Worker*>(context);
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t got = read(fd, &count, sizeof count);
  std::shared_ptr<const Runtime> next;
  {
    std::lock_guard<std::mutex> lock(self->mailbox_mutex_);
    next.swap(self->next_runtime_);
  }
  // The old Runtime is released here unless a request still holds it.
  if (next) self->runtime_ = std::move(next);
  if (self->drain_requested_) self->StartDrain();
}

void Worker::StartDrain() {
  if (draining_) return;
  draining_ = true;
  listeners_.clear();
  if (connections_.empty()) {
    event_base_loopexit(base(), nullptr);
    return;
  }
  // Copy: connections may leave the set while being told.
  const std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* connection : open) connection->BeginDrain();
  drain_timer_.reset(evtimer_new(base(), &Worker::OnDrainTimeout, this));
  const timeval timeout = {static_cast<time_t>(drain_timeout_seconds_.load()), 0};
  evtimer_add(drain_timer_.get(), &timeout);
}

void Worker::OnDrainTimeout(evutil_socket_t, short, void* self) {
  auto* worker = static_cast<Worker*>(self);
  spdlog::warn("drain timeout: closing {} connection(s) still busy", worker->connections_.size());
  event_base_loopexit(worker->base(), nullptr);
}

void Worker::Add(Connection* connection) {
  connections_.insert(connection);
  metrics_.ConnectionOpened();
}

void Worker::Remove(Connection* connection) {
  if (connections_.erase(connection) == 0) return;
  metrics_.ConnectionClosed();
  if (draining_ && connections_.empty()) event_base_loopexit(base(), nullptr);
}

void Worker::OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                      void* self) {
  TlsConnection::Accept(*static_cast<Worker*>(self), fd, address, length);
}

}  // namespace tlsproxy::proxy
