// The proxy's own metrics, rendered in Prometheus text format on the admin
// listener. Every metric name is declared here, once, with the
// `etcd_tlsproxy_` prefix: they are a stable interface for dashboards.
//
// Thread-safe: shared by every worker; each update takes a short lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::proxy {

class Histogram {
 public:
  void Observe(double seconds);
  // Appends the _bucket/_sum/_count lines for `name`.
  void Render(const std::string& name, std::string* out) const;

 private:
  static const std::vector<double>& Bounds();
  std::vector<uint64_t> counts_ = std::vector<uint64_t>(Bounds().size(), 0);
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  // `method_class` is "read" or "write"; `status` the status sent.
  void CountRequest(std::string_view method_class, int status);
  void CountAclDenial(const std::string& rule);
  // reason: "wrong_password", "malformed_header", "several_headers".
  void CountAuthFailure(std::string_view reason);
  // kind: "connect", "timeout", "closed", "malformed".
  void CountUpstreamError(std::string_view kind);
  void ObserveUpstreamLatency(double seconds);
  void ObserveRequestLatency(double seconds);
  void ConnectionOpened() { ++open_connections_; }
  int64_t open_connections() const { return open_connections_; }
  void CountRefusedConnection() { ++refused_connections_; }
  void ConnectionClosed() { --open_connections_; }
  void WatchOpened() { ++open_watches_; }
  void WatchClosed() { --open_watches_; }
  void CountHandshake() { ++handshakes_; }
  // reason: a short OpenSSL reason ("certificate verify failed", ...) or "closed".
  void CountHandshakeFailure(std::string_view reason);
  void CountReload(bool ok);
  void SetCertificateExpiry(std::time_t not_after) { certificate_expiry_ = not_after; }

  std::string Render() const;

 private:
  mutable std::mutex mutex_;  // guards the maps and histograms
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> acl_denials_;
  std::map<std::string, uint64_t> auth_failures_;
  std::map<std::string, uint64_t> upstream_errors_;
  std::map<std::string, uint64_t> handshake_failures_;
  std::map<std::string, uint64_t> reloads_;
  Histogram upstream_latency_;
  Histogram request_latency_;
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> open_watches_{0};
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> refused_connections_{0};
  std::atomic<std::time_t> certificate_expiry_{0};
};

}  // namespace tlsproxy::proxy
