// Pins how the per-worker counters add up in /metrics: requests by method
// class and status, and the latency histograms, summed over every worker.
#include "proxy/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace tlsproxy::proxy {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, WorkerCountersAddUpAtScrape) {
  Metrics metrics;
  WorkerStats& first = metrics.AddWorker();
  WorkerStats& second = metrics.AddWorker();
  first.CountRequest("read", 200);
  first.CountRequest("read", 200);
  second.CountRequest("read", 200);
  second.CountRequest("write", 403);
  second.CountRequest("write", 1000);  // out of range: counted as status 0
  first.ObserveRequestLatency(0.0001);
  second.ObserveRequestLatency(2);
  second.ObserveUpstreamLatency(0.003);

  const std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_requests_total{method_class=\"read\",status=\"200\"} 3"))
      << text;
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_requests_total{method_class=\"write\",status=\"403\"} 1"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_requests_total{method_class=\"write\",status=\"0\"} 1"));
  EXPECT_EQ(text.find("method_class=\"write\",status=\"200\""), std::string::npos);
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_request_duration_seconds_bucket{le=\"2.5\"} 2"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_request_duration_seconds_count 2"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_request_duration_seconds_sum 2.0001"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_upstream_latency_seconds_bucket{le=\"0.0025\"} 0"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_upstream_latency_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_TRUE(Has(text, "etcd_tlsproxy_upstream_latency_seconds_bucket{le=\"+Inf\"} 1"));
}

}  // namespace
}  // namespace tlsproxy::proxy
