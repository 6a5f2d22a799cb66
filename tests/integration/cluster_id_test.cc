// The proxy's own v2 refusals carry etcd's cluster ID (X-Etcd-Cluster-Id)
// as etcd's own responses do, so that python-etcd does not log "etcd
// response did not contain a cluster ID" on every refusal: none before etcd
// has answered anything, exactly the ID etcd reports afterwards, from every
// worker (each request below is a new connection, spread over two workers).
#include <algorithm>
#include <cctype>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// The cluster ID as etcd itself reports it, asked directly (no proxy).
std::string EtcdClusterId(const EtcdServer& etcd) {
  return etcd.Request("GET", "/v2/keys/").Header("x-etcd-cluster-id");
}

// How many X-Etcd-Cluster-Id lines a raw response head has.
size_t ClusterIdLines(const RawResponse& response) {
  std::string head = response.head;
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t count = 0;
  for (size_t at = head.find("\r\nx-etcd-cluster-id:"); at != std::string::npos;
       at = head.find("\r\nx-etcd-cluster-id:", at + 1)) {
    ++count;
  }
  return count;
}

ProxyOptions TwoWorkers() {
  ProxyOptions options;
  options.extra_yaml = "workers: 2\n";
  return options;
}

TEST(ClusterIdTest, RefusalsCarryTheIdOnceEtcdHasAnswered) {
  Stack stack;
  ASSERT_TRUE(stack.Start(TwoWorkers()));
  const uint16_t port = stack.port();
  const std::string key = "/v2/keys/conftool/" + UniqueName("cid");

  // Nothing has reached etcd yet: no cluster ID to give.
  const HttpResponse early = HttpsPut(port, key, "pwned");
  ASSERT_TRUE(IsUnauthorized(early));
  EXPECT_EQ(early.headers.count("x-etcd-cluster-id"), 0u);

  const std::string cluster_id = EtcdClusterId(stack.etcd);
  ASSERT_FALSE(cluster_id.empty());
  ASSERT_EQ(HttpsGet(port, "/v2/keys/").status, 200);  // etcd has answered once

  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const HttpResponse anonymous = HttpsPut(port, key, "pwned");
    EXPECT_TRUE(IsUnauthorized(anonymous));
    EXPECT_EQ(anonymous.Header("x-etcd-cluster-id"), cluster_id);
    const HttpResponse wrong_password = HttpsGet(port, key, "conftool", "wrong");
    EXPECT_TRUE(IsUnauthorized(wrong_password));
    EXPECT_EQ(wrong_password.Header("x-etcd-cluster-id"), cluster_id);
    const HttpResponse forbidden =
        HttpsPut(port, "/v2/keys/" + UniqueName("top"), "pwned", "conftool", kConftoolPassword);
    EXPECT_TRUE(IsForbidden(forbidden));
    EXPECT_EQ(forbidden.Header("x-etcd-cluster-id"), cluster_id);
  }
  // Exactly one such header, also on the proxy's other v2 refusals.
  const RawResponse raw = RawTls(port, "PUT " + key + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(raw.status, 401) << raw.head;
  EXPECT_EQ(ClusterIdLines(raw), 1u) << raw.head;
  const HttpResponse bad_path = HttpsGet(port, "/v2/keys/a/../b");
  EXPECT_TRUE(IsJsonError(bad_path, 400));
  EXPECT_EQ(bad_path.Header("x-etcd-cluster-id"), cluster_id);
  // etcd gone: the 502 still names the cluster last seen.
  stack.etcd.Stop();
  const HttpResponse gone = HttpsGet(port, key);
  EXPECT_TRUE(IsJsonError(gone, 502));
  EXPECT_EQ(gone.Header("x-etcd-cluster-id"), cluster_id);
  EXPECT_TRUE(stack.proxy.Alive());
}

TEST(ClusterIdTest, ReadOnlyRefusalCarriesTheIdOnceEtcdHasAnswered) {
  Stack stack;
  ProxyOptions options = TwoWorkers();
  options.read_only = true;
  ASSERT_TRUE(stack.Start(options));
  const uint16_t port = stack.port();
  const std::string key = "/v2/keys/conftool/" + UniqueName("cid");

  const HttpResponse early = HttpsPut(port, key, "pwned", "root", kRootPassword);
  ASSERT_TRUE(IsReadOnlyRefusal(early));
  EXPECT_EQ(early.headers.count("x-etcd-cluster-id"), 0u);

  const std::string cluster_id = EtcdClusterId(stack.etcd);
  ASSERT_FALSE(cluster_id.empty());
  ASSERT_EQ(HttpsGet(port, "/v2/keys/").status, 200);

  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const HttpResponse read_only = HttpsPut(port, key, "pwned", "root", kRootPassword);
    EXPECT_TRUE(IsReadOnlyRefusal(read_only));
    EXPECT_EQ(read_only.Header("x-etcd-cluster-id"), cluster_id);
  }
  EXPECT_TRUE(stack.etcd.Missing(key.substr(std::string("/v2/keys").size())));
  EXPECT_TRUE(stack.proxy.Alive());
}

}  // namespace
}  // namespace tlsproxy::integration
