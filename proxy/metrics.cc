#include "proxy/metrics.h"

#include <charconv>

namespace tlsproxy::proxy {
namespace {

constexpr char kPrefix[] = "etcd_tlsproxy_";

// Label values come from our own tables or ACL prefixes; escape anyway.
std::string Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The shortest text that reads back as exactly `value` ("0.0005", not
// "0.00050000000000000001" as %.17g gives).
std::string Number(double value) {
  char buffer[400];  // enough for any double in fixed notation
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  return std::string(buffer, result.ptr);
}

void Header(std::string* out, const std::string& name, const char* type, const char* help) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Counter(std::string* out, const char* suffix, const char* label, const char* help,
             const std::map<std::string, uint64_t>& values) {
  const std::string name = std::string(kPrefix) + suffix;
  Header(out, name, "counter", help);
  for (const auto& [key, count] : values) {
    *out += name + "{" + label + "=\"" + Escape(key) + "\"} " + std::to_string(count) + "\n";
  }
}

void Gauge(std::string* out, const char* suffix, const char* help, double value) {
  const std::string name = std::string(kPrefix) + suffix;
  Header(out, name, "gauge", help);
  *out += name + " " + Number(value) + "\n";
}

// One writer: a relaxed load and store is enough, and costs no locked
// instruction on the request path.
template <typename T>
void Bump(std::atomic<T>& value, T by) {
  value.store(value.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

const std::array<double, Histogram::kBuckets>& Histogram::Bounds() {
  static const std::array<double, kBuckets> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return kBounds;
}

void Histogram::Observe(double seconds) {
  const auto& bounds = Bounds();
  for (size_t i = 0; i < kBuckets; ++i) {
    if (seconds <= bounds[i]) Bump<uint64_t>(counts_[i], 1);
  }
  Bump<uint64_t>(count_, 1);
  Bump(sum_, seconds);
}

void Histogram::Snapshot::Add(const Histogram& histogram) {
  for (size_t i = 0; i < kBuckets; ++i) {
    counts[i] += histogram.counts_[i].load(std::memory_order_relaxed);
  }
  count += histogram.count_.load(std::memory_order_relaxed);
  sum += histogram.sum_.load(std::memory_order_relaxed);
}

void Histogram::Snapshot::Render(const std::string& name, std::string* out) const {
  const auto& bounds = Bounds();
  for (size_t i = 0; i < kBuckets; ++i) {
    *out += name + "_bucket{le=\"" + Number(bounds[i]) + "\"} " + std::to_string(counts[i]) + "\n";
  }
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  *out += name + "_sum " + Number(sum) + "\n";
  *out += name + "_count " + std::to_string(count) + "\n";
}

void WorkerStats::CountRequest(std::string_view method_class, int status) {
  const size_t is_write = method_class == "write" ? 1 : 0;
  const int slot = status >= 100 && status < kStatuses ? status : 0;
  Bump<uint64_t>(requests_[is_write][static_cast<size_t>(slot)], 1);
}

void WorkerStats::CountGrpcCall(std::string_view method, int grpc_status) {
  // "/etcdserverpb.KV/Put" -> "KV": the last dotted part of the service.
  const size_t slash = method.find('/', 1);
  std::string_view service = method.substr(0, slash == std::string_view::npos ? 0 : slash);
  const size_t dot = service.rfind('.');
  service = dot == std::string_view::npos ? std::string_view() : service.substr(dot + 1);
  size_t index = kGrpcServices.size() - 1;
  for (size_t i = 0; i + 1 < kGrpcServices.size(); ++i) {
    if (kGrpcServices[i] == service) index = i;
  }
  const int slot =
      grpc_status >= 0 && grpc_status < kGrpcStatuses - 1 ? grpc_status : kGrpcStatuses - 1;
  Bump<uint64_t>(grpc_calls_[index][static_cast<size_t>(slot)], 1);
}

WorkerStats& Metrics::AddWorker() {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_.push_back(std::make_unique<WorkerStats>());
  return *workers_.back();
}

void Metrics::CountAclDenial(const std::string& rule) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++acl_denials_[rule];
}

void Metrics::CountShadowDenial(const std::string& rule) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++shadow_denials_[rule];
}

void Metrics::CountAuthFailure(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++auth_failures_[std::string(reason)];
}

void Metrics::CountUpstreamError(std::string_view kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++upstream_errors_[std::string(kind)];
}

void Metrics::CountHandshakeFailure(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++handshake_failures_[std::string(reason)];
}

void Metrics::CountReload(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++reloads_[ok ? "success" : "failure"];
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  const std::string requests = std::string(kPrefix) + "requests_total";
  Header(&out, requests, "counter", "Requests answered, by method class and status.");
  Histogram::Snapshot upstream_latency;
  Histogram::Snapshot request_latency;
  for (size_t is_write = 0; is_write < 2; ++is_write) {
    for (int status = 0; status < WorkerStats::kStatuses; ++status) {
      uint64_t count = 0;
      for (const auto& worker : workers_) {
        count += worker->requests_[is_write][static_cast<size_t>(status)].load(
            std::memory_order_relaxed);
      }
      if (count == 0) continue;
      out += requests + "{method_class=\"" + (is_write ? "write" : "read") + "\",status=\"" +
             std::to_string(status) + "\"} " + std::to_string(count) + "\n";
    }
  }
  const std::string grpc = std::string(kPrefix) + "grpc_calls_total";
  Header(&out, grpc, "counter", "gRPC calls ended, by service and grpc-status (reset: no status).");
  for (size_t service = 0; service < WorkerStats::kGrpcServices.size(); ++service) {
    for (int status = 0; status < WorkerStats::kGrpcStatuses; ++status) {
      uint64_t count = 0;
      for (const auto& worker : workers_) {
        count += worker->grpc_calls_[service][static_cast<size_t>(status)].load(
            std::memory_order_relaxed);
      }
      if (count == 0) continue;
      out += grpc + "{service=\"" + std::string(WorkerStats::kGrpcServices[service]) +
             "\",grpc_status=\"" +
             (status == WorkerStats::kGrpcStatuses - 1 ? std::string("reset")
                                                       : std::to_string(status)) +
             "\"} " + std::to_string(count) + "\n";
    }
  }
  for (const auto& worker : workers_) {
    upstream_latency.Add(worker->upstream_latency_);
    request_latency.Add(worker->request_latency_);
  }
  Counter(&out, "acl_denials_total", "rule", "Requests refused by the ACL, by deciding rule.",
          acl_denials_);
  Counter(&out, "shadow_denials_total", "rule",
          "Requests the ACL would have refused, forwarded in shadow mode, by deciding rule.",
          shadow_denials_);
  Counter(&out, "auth_failures_total", "reason", "Failed basic-auth checks, by reason.",
          auth_failures_);
  Counter(&out, "upstream_errors_total", "kind", "Errors talking to etcd, by kind.",
          upstream_errors_);
  const std::string upstream = std::string(kPrefix) + "upstream_latency_seconds";
  Header(&out, upstream, "histogram", "Time from forwarding a request to etcd's response head.");
  upstream_latency.Render(upstream, &out);
  const std::string total = std::string(kPrefix) + "request_duration_seconds";
  Header(&out, total, "histogram", "Time from a request's first byte to its last response byte.");
  request_latency.Render(total, &out);
  Gauge(&out, "client_connections", "Open client connections.",
        static_cast<double>(open_connections_));
  const std::string refused = std::string(kPrefix) + "refused_connections_total";
  Header(&out, refused, "counter",
         "Connections closed at once because max_connections was reached.");
  out += refused + " " + std::to_string(refused_connections_.load()) + "\n";
  Gauge(&out, "watches",
        "Open watches (v2 long polls and streams, v3 gateway watch streams, each gRPC watch etcd "
        "created).",
        static_cast<double>(open_watches_));
  const std::string handshakes = std::string(kPrefix) + "tls_handshakes_total";
  Header(&out, handshakes, "counter", "Completed TLS handshakes.");
  out += handshakes + " " + std::to_string(handshakes_.load()) + "\n";
  Counter(&out, "tls_handshake_failures_total", "reason", "Failed TLS handshakes, by reason.",
          handshake_failures_);
  Counter(&out, "config_reloads_total", "result", "Configuration reloads, by result.", reloads_);
  Gauge(&out, "server_certificate_expiry_timestamp_seconds",
        "Expiry (notAfter) of the server certificate, as a Unix time.",
        static_cast<double>(certificate_expiry_));
  return out;
}

}  // namespace tlsproxy::proxy
