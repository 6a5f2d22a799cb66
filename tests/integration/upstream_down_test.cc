// etcd down: 502 with a JSON body, quickly; etcd back: requests succeed
// again through the same proxy process, with no restart.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

TEST(UpstreamDownTest, BadGatewayThenRecovery) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string key = "/conftool/" + UniqueName("updown");
  // Warm the upstream connection pool first.
  ASSERT_EQ(HttpsPut(stack.port(), "/v2/keys" + key, "before", "root", kRootPassword).status, 201);
  ASSERT_EQ(HttpsGet(stack.port(), "/v2/keys" + key).status, 200);

  stack.etcd.Stop();
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse read = HttpsGet(stack.port(), "/v2/keys" + key);
  EXPECT_TRUE(IsJsonError(read, 502));
  const HttpResponse write =
      HttpsPut(stack.port(), "/v2/keys" + key, "during", "root", kRootPassword);
  EXPECT_TRUE(IsJsonError(write, 502));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "502 should not wait for a timeout";
  EXPECT_TRUE(stack.proxy.Alive());

  ASSERT_TRUE(stack.etcd.Start());
  EXPECT_EQ(stack.etcd.ValueOf(key), "before");
  // The first request after the restart must already work (no stale pooled
  // connection answered with an error).
  const HttpResponse again = HttpsGet(stack.port(), "/v2/keys" + key);
  EXPECT_EQ(again.status, 200) << again.body << again.error;
  EXPECT_NE(again.body.find("\"value\":\"before\""), std::string::npos) << again.body;
  const HttpResponse written =
      HttpsPut(stack.port(), "/v2/keys" + key, "after", "root", kRootPassword);
  EXPECT_EQ(written.status, 200) << written.body << written.error;
  EXPECT_EQ(stack.etcd.ValueOf(key), "after");
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(UpstreamDownTest, NoEtcdAtAllIs502) {
  ProxyProcess proxy;
  ProxyOptions options;
  options.upstream_port = FreePort();  // nothing listens there
  ASSERT_TRUE(proxy.Start(options));
  EXPECT_TRUE(IsJsonError(HttpsGet(proxy.port(), "/v2/keys/x"), 502));
  EXPECT_TRUE(IsJsonError(HttpsGet(proxy.port(), "/version"), 502));
  EXPECT_TRUE(proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
