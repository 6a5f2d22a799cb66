// The proxy's own metrics, rendered in Prometheus text format on the admin
// listener. Every metric name is declared here, once, with the
// `etcd_tlsproxy_` prefix: they are a stable interface for dashboards.
//
// Thread-safe. What every request updates (requests by class and status,
// the two latency histograms) lives in a WorkerStats per worker, written
// only by that worker's thread without a lock and added up when /metrics is
// scraped. The rest (refusals, errors, handshakes, reloads: per connection or
// rarer) is shared, with a short lock for the labelled counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::proxy {

// A latency histogram with one writer thread and any number of readers:
// the writer updates with relaxed loads and stores (no lock, no atomic
// read-modify-write); a reader sees each value whole, possibly one
// observation behind the others.
class Histogram {
 public:
  static constexpr size_t kBuckets = 16;
  void Observe(double seconds);  // the owning thread only

  // A plain copy, for adding up the workers' histograms.
  struct Snapshot {
    std::array<uint64_t, kBuckets> counts{};
    uint64_t count = 0;
    double sum = 0;
    void Add(const Histogram& histogram);
    // Appends the _bucket/_sum/_count lines for `name`.
    void Render(const std::string& name, std::string* out) const;
  };

 private:
  static const std::array<double, kBuckets>& Bounds();
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// What one worker's requests add to the metrics. Written by that worker's
// thread only; read by the scrape on the main thread.
class WorkerStats {
 public:
  // `method_class` is "read" or "write"; `status` the status sent (a status
  // outside 100-599 is counted as 0).
  void CountRequest(std::string_view method_class, int status);
  // One gRPC call: `method` is its :path ("/etcdserverpb.KV/Put", counted
  // under its service, "KV"); `grpc_status` 0-16, or -1 for a reset stream.
  void CountGrpcCall(std::string_view method, int grpc_status);
  void ObserveUpstreamLatency(double seconds) { upstream_latency_.Observe(seconds); }
  void ObserveRequestLatency(double seconds) { request_latency_.Observe(seconds); }

 private:
  friend class Metrics;
  static constexpr int kStatuses = 600;
  std::array<std::array<std::atomic<uint64_t>, kStatuses>, 2> requests_{};  // [write][status]
  // gRPC services as counted; the last is "other" (unknown services).
  static constexpr std::array<std::string_view, 10> kGrpcServices = {
      "KV",   "Watch", "Lease",    "Cluster", "Maintenance",
      "Auth", "Lock",  "Election", "Health",  "other"};
  static constexpr int kGrpcStatuses = 18;  // 0-16, and 17 for "reset"
  std::array<std::array<std::atomic<uint64_t>, kGrpcStatuses>, kGrpcServices.size()> grpc_calls_{};
  Histogram upstream_latency_;
  Histogram request_latency_;
};

class Metrics {
 public:
  // One WorkerStats per worker, owned here and alive as long as this.
  WorkerStats& AddWorker();

  void CountAclDenial(const std::string& rule);
  // A request the ACL would have refused, forwarded under `enforce: shadow`.
  void CountShadowDenial(const std::string& rule);
  // reason: "throttled", "wrong_password", "malformed_header", "several_headers".
  void CountAuthFailure(std::string_view reason);
  // kind: "connect", "timeout", "response_timeout", "closed", "malformed".
  void CountUpstreamError(std::string_view kind);
  void ConnectionOpened() { ++open_connections_; }
  int64_t open_connections() const { return open_connections_; }
  void CountRefusedConnection() { ++refused_connections_; }
  void ConnectionClosed() { --open_connections_; }
  void WatchOpened() { ++open_watches_; }
  void WatchClosed() { --open_watches_; }
  void CountHandshake() { ++handshakes_; }
  // reason: a short OpenSSL reason ("certificate verify failed", ...),
  // "timeout" or "closed".
  void CountHandshakeFailure(std::string_view reason);
  void CountReload(bool ok);
  void SetCertificateExpiry(std::time_t not_after) { certificate_expiry_ = not_after; }

  std::string Render() const;

 private:
  mutable std::mutex mutex_;  // guards the maps and workers_
  std::vector<std::unique_ptr<WorkerStats>> workers_;
  std::map<std::string, uint64_t> acl_denials_;
  std::map<std::string, uint64_t> shadow_denials_;
  std::map<std::string, uint64_t> auth_failures_;
  std::map<std::string, uint64_t> upstream_errors_;
  std::map<std::string, uint64_t> handshake_failures_;
  std::map<std::string, uint64_t> reloads_;
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> open_watches_{0};
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> refused_connections_{0};
  std::atomic<std::time_t> certificate_expiry_{0};
};

}  // namespace tlsproxy::proxy
