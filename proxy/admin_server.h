// The plain-HTTP admin listener (loopback by default): GET /metrics (the
// proxy's own, Prometheus text), GET /healthz (200 while etcd answers its
// /health, 503 with the reason otherwise), GET /readyz (200 once listening
// with a valid config). Built on libevent's evhttp: it serves three fixed
// pages to local scrapers, which is exactly what evhttp is good at.
#pragma once

#include <event2/event.h>
#include <event2/http.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "proxy/metrics.h"

namespace tlsproxy::proxy {

// True when etcd's GET /health answer says healthy: status 200 and a JSON
// object whose "health" is "true" (etcd 3.x sends {"health":"true"}, a
// string). Malformed JSON, "false" or anything else is unhealthy.
bool EtcdReportsHealthy(int status, std::string_view body);

class AdminServer {
 public:
  // Binds `address`; returns nullptr and sets `error` on failure.
  static std::unique_ptr<AdminServer> Create(event_base* base, const config::HostPort& address,
                                             const config::HostPort& upstream, Metrics& metrics,
                                             std::string* error);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void SetReady(bool ready) { ready_ = ready; }

 private:
  AdminServer(event_base* base, const config::HostPort& upstream, Metrics& metrics);
  static void OnRequest(evhttp_request* request, void* self);
  void CheckHealth(evhttp_request* request);

  event_base* base_;
  config::HostPort upstream_;
  Metrics& metrics_;
  evhttp* http_ = nullptr;
  bool ready_ = false;
};

}  // namespace tlsproxy::proxy
