// The admin listener: after a known mix of requests, /metrics shows exactly
// the counts they should produce; /healthz follows etcd; /readyz says ready.
#include <signal.h>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// The value of the metric line that starts with `series` + " ", or -1.
double MetricValue(const std::string& text, const std::string& series) {
  const std::string needle = "\n" + series + " ";
  const size_t at = text.find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + needle.size()));
}

TEST(MetricsTest, CountsAKnownMixExactly) {
  Stack stack;
  ProxyOptions options;
  options.admin_port = FreePort();
  ASSERT_TRUE(stack.Start(options));
  const uint16_t port = stack.port();
  const std::string key = "/conftool/" + UniqueName("metrics");

  EXPECT_EQ(HttpsPut(port, "/v2/keys" + key, "v", "conftool", kConftoolPassword).status, 201);
  EXPECT_EQ(HttpsGet(port, "/v2/keys" + key).status, 200);
  EXPECT_EQ(HttpsGet(port, "/v2/keys" + key).status, 200);
  EXPECT_TRUE(IsUnauthorized(HttpsPut(port, "/v2/keys" + key, "anon")));
  EXPECT_TRUE(IsForbidden(
      HttpsPut(port, "/v2/keys/" + UniqueName("top"), "x", "conftool", kConftoolPassword)));
  EXPECT_TRUE(IsUnauthorized(HttpsGet(port, "/v2/keys" + key, "conftool", "wrong")));
  EXPECT_TRUE(IsJsonError(HttpsGet(port, "/v2/keys/a/../b"), 400));

  const HttpResponse metrics = AdminGet(stack.proxy.admin_port(), "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error;
  const std::string& text = metrics.body;
  const std::string p = "etcd_tlsproxy_";
  EXPECT_EQ(MetricValue(text, p + "requests_total{method_class=\"write\",status=\"201\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "requests_total{method_class=\"read\",status=\"200\"}"), 2);
  EXPECT_EQ(MetricValue(text, p + "requests_total{method_class=\"write\",status=\"401\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "requests_total{method_class=\"write\",status=\"403\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "requests_total{method_class=\"read\",status=\"401\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "requests_total{method_class=\"read\",status=\"400\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "acl_denials_total{rule=\"/conftool\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "acl_denials_total{rule=\"/\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "auth_failures_total{reason=\"wrong_password\"}"), 1);
  EXPECT_EQ(MetricValue(text, p + "upstream_latency_seconds_count"), 3);
  EXPECT_EQ(MetricValue(text, p + "request_duration_seconds_count"), 7);
  EXPECT_EQ(MetricValue(text, p + "tls_handshakes_total"), 7);
  EXPECT_EQ(MetricValue(text, p + "watches"), 0);
  EXPECT_GT(MetricValue(text, p + "server_certificate_expiry_timestamp_seconds"), 1.7e9);

  // Reloads are counted by result.
  ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
  for (int i = 0; i < 100; ++i) {
    if (stack.proxy.Logs().find("reloaded") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  const std::string after = AdminGet(stack.proxy.admin_port(), "/metrics").body;
  EXPECT_EQ(MetricValue(after, p + "config_reloads_total{result=\"success\"}"), 1);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(MetricsTest, HealthFollowsEtcdAndReadyWhenListening) {
  Stack stack;
  ProxyOptions options;
  options.admin_port = FreePort();
  ASSERT_TRUE(stack.Start(options));
  EXPECT_EQ(AdminGet(stack.proxy.admin_port(), "/readyz").status, 200);
  HttpResponse health = AdminGet(stack.proxy.admin_port(), "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(health.body.find("\"health\":true"), std::string::npos) << health.body;

  stack.etcd.Stop();
  health = AdminGet(stack.proxy.admin_port(), "/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_NE(health.body.find("reason"), std::string::npos) << health.body;
  // The TLS listener says the same thing etcd's absence means there: 502.
  EXPECT_TRUE(IsJsonError(HttpsGet(stack.port(), "/v2/keys/x"), 502));

  ASSERT_TRUE(stack.etcd.Start());
  EXPECT_EQ(AdminGet(stack.proxy.admin_port(), "/healthz").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(MetricsTest, EtcdMetricsStillForwardedOnTheTlsListener) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const HttpResponse metrics = HttpsGet(stack.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("etcd_server_has_leader"), std::string::npos);
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
