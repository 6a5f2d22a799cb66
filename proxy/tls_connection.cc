#include "proxy/tls_connection.h"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "proxy/http1_session.h"
#include "proxy/http2_session.h"
#include "proxy/tls_context.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {
namespace {

std::string AddressText(const sockaddr* address, std::string* ip_out) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    port = ntohs(in->sin_port);
    *ip_out = ip;
    return *ip_out + ":" + std::to_string(port);
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    port = ntohs(in6->sin6_port);
    *ip_out = ip;
    return "[" + *ip_out + "]:" + std::to_string(port);
  }
  *ip_out = ip;
  return ip;
}

}  // namespace

void TlsConnection::Accept(Worker& worker, evutil_socket_t fd, const sockaddr* address,
                           int /*length*/) {
  const Runtime& runtime = *worker.runtime();
  if (worker.metrics().open_connections() >=
      static_cast<int64_t>(runtime.config->max_connections)) {
    // Full: refuse this one cleanly (a TCP close before any TLS byte) and
    // keep serving the connections already open.
    worker.metrics().CountRefusedConnection();
    evutil_closesocket(fd);
    return;
  }
  SSL* ssl = runtime.tls->NewSsl();
  if (ssl == nullptr) {
    evutil_closesocket(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bufferevent* bev = bufferevent_openssl_socket_new(
      worker.base(), fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    SSL_free(ssl);
    evutil_closesocket(fd);
    return;
  }
  std::string ip;
  std::string peer = AddressText(address, &ip);
  auto* connection = new TlsConnection(worker, bev, ip, peer);
  worker.Add(connection);
}

TlsConnection::TlsConnection(Worker& worker, bufferevent* bev, std::string peer_ip,
                             std::string peer)
    : worker_(worker), bev_(bev), peer_ip_(std::move(peer_ip)), peer_(std::move(peer)) {
  bufferevent_setcb(bev_, nullptr, nullptr, &TlsConnection::OnEvent, this);
  handshake_deadline_ = evtimer_new(worker.base(), &TlsConnection::OnHandshakeDeadline, this);
  const timeval deadline = {static_cast<time_t>(worker.runtime()->config->timeouts.handshake), 0};
  if (handshake_deadline_ != nullptr) evtimer_add(handshake_deadline_, &deadline);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

TlsConnection::~TlsConnection() {
  if (handshake_deadline_ != nullptr) event_free(handshake_deadline_);
  if (bev_ != nullptr) {
    // Best effort close_notify; the socket is non-blocking and closes next.
    SSL* ssl = bufferevent_openssl_get_ssl(bev_);
    if (ssl != nullptr) SSL_shutdown(ssl);
    bufferevent_free(bev_);
  }
  worker_.Remove(this);  // a no-op after a hand-over
}

void TlsConnection::BeginDrain() { ScheduleDestroy(); }

void TlsConnection::OnHandshakeDone() {
  worker_.metrics().CountHandshake();
  event_free(handshake_deadline_);
  handshake_deadline_ = nullptr;
  SSL* ssl = bufferevent_openssl_get_ssl(bev_);
  std::optional<std::string> cert_user =
      TlsContext::VerifiedClientName(ssl, worker_.runtime()->config->tls);
  bufferevent* bev = bev_;
  bev_ = nullptr;
  if (TlsContext::NegotiatedHttp2(ssl)) {
    Http2Session::Start(worker_, bev, peer_, std::move(cert_user));
  } else {
    Http1Session::Start(worker_, bev, peer_ip_, peer_, std::move(cert_user));
  }
  // The session registered the socket with the worker; this object leaves
  // only now, so a draining worker never sees its last connection go.
  worker_.Remove(this);
  ScheduleDestroy();
}

void TlsConnection::OnHandshakeFailed(const char* reason) {
  worker_.metrics().CountHandshakeFailure(reason);
  spdlog::info("{}: TLS handshake failed: {}", peer_, reason);
  ScheduleDestroy();
}

void TlsConnection::ScheduleDestroy() {
  if (destroying_) return;
  destroying_ = true;
  if (bev_ != nullptr) {
    bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
    bufferevent_disable(bev_, EV_READ | EV_WRITE);
  }
  const timeval now = {0, 0};
  event_base_once(worker_.base(), -1, EV_TIMEOUT, &TlsConnection::OnDestroy, this, &now);
}

// ---- libevent callbacks ----------------------------------------------------

void TlsConnection::OnEvent(bufferevent* /*bev*/, short what, void* context) {
  auto* self = static_cast<TlsConnection*>(context);
  if (what & BEV_EVENT_CONNECTED) return self->OnHandshakeDone();
  const unsigned long error = bufferevent_get_openssl_error(self->bev_);
  const char* reason = error != 0 ? ERR_reason_error_string(error) : nullptr;
  if (reason == nullptr) reason = (what & BEV_EVENT_TIMEOUT) ? "timeout" : "closed";
  self->OnHandshakeFailed(reason);
}

void TlsConnection::OnHandshakeDeadline(evutil_socket_t, short, void* context) {
  auto* self = static_cast<TlsConnection*>(context);
  if (self->destroying_) return;
  self->OnHandshakeFailed("timeout");
}

void TlsConnection::OnDestroy(evutil_socket_t, short, void* context) {
  delete static_cast<TlsConnection*>(context);
}

}  // namespace tlsproxy::proxy
