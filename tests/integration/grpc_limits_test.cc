// gRPC under the proxy-wide switches and limits: `v3: off` and `v3:
// admin_only` apply to gRPC as to the JSON gateway; the stream limit the
// proxy advertises; timeouts.idle closes an HTTP/2 connection with no
// stream open, never one with a watch open.
#include <thread>

#include "tests/integration/h2_client.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

TEST(GrpcLimitsTest, V3OffRefusesEveryCall) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "v3: off\n";
  ASSERT_TRUE(stack.Start(options));
  auto root = Connect(stack.port(), "root");
  ASSERT_TRUE(root);
  const std::string key = "/" + UniqueName("v3-off");
  const H2Client::Stream put = root->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "x")));
  EXPECT_EQ(put.GrpcStatus(), 7) << put.Describe();
  const H2Client::Stream range = root->Call(kRangePath, GrpcFrame(RangeRequestBytes(key)));
  EXPECT_EQ(range.GrpcStatus(), 7) << range.Describe();
  EXPECT_EQ(stack.etcd.V3ValueOf(key), std::nullopt);
  EXPECT_NE(stack.proxy.Logs().find("rule=\"v3:off\""), std::string::npos);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(GrpcLimitsTest, V3AdminOnlyLetsOnlyTheRootRule) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "v3: admin_only\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/conftool/" + UniqueName("admin-only");
  auto conftool = Connect(stack.port(), "conftool");
  ASSERT_TRUE(conftool);
  const H2Client::Stream refused = conftool->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "c")));
  EXPECT_EQ(refused.GrpcStatus(), 7) << refused.Describe();
  EXPECT_EQ(stack.etcd.V3ValueOf(key), std::nullopt);
  auto root = Connect(stack.port(), "root");
  ASSERT_TRUE(root);
  const H2Client::Stream put = root->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "r")));
  EXPECT_EQ(put.GrpcStatus(), 0) << put.Describe();
  EXPECT_EQ(stack.etcd.V3ValueOf(key), "r");
  EXPECT_TRUE(stack.proxy.Stop());
}

// The proxy advertises 128 concurrent streams, and serves that many open
// Watch streams on one connection.
TEST(GrpcLimitsTest, OneConnectionCarries128Streams) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  auto client = Connect(stack.port(), "root");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->RunUntil([&] {
    return nghttp2_session_get_remote_settings(client->session(),
                                               NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 128;
  }));
  const std::string key = "/" + UniqueName("many");
  std::vector<int32_t> watches;
  for (int i = 0; i < 128; ++i) {
    const int32_t id = client->Open(GrpcHeaders(kWatchPath));
    ASSERT_GT(id, 0);
    client->Send(id, GrpcFrame(WatchCreateBytes(key)));
    watches.push_back(id);
  }
  const auto created = [&] {
    for (const int32_t id : watches) {
      if (GrpcMessages(client->stream(id).data).empty()) return false;
    }
    return true;
  };
  EXPECT_TRUE(client->RunUntil(created, 20s));
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(GrpcLimitsTest, IdleTimeoutClosesOnlyConnectionsWithNoStream) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "timeouts: {idle: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  auto idle = Connect(stack.port(), "root");
  auto watching = Connect(stack.port(), "root");
  ASSERT_TRUE(idle && watching);
  const H2Client::Stream put =
      idle->Call(kPutPath, GrpcFrame(PutRequestBytes("/" + UniqueName("idle"), "v")));
  EXPECT_EQ(put.GrpcStatus(), 0) << put.Describe();
  const int32_t watch = watching->Open(GrpcHeaders(kWatchPath));
  watching->Send(watch, GrpcFrame(WatchCreateBytes("/" + UniqueName("quiet"))));
  ASSERT_TRUE(
      watching->RunUntil([&] { return !GrpcMessages(watching->stream(watch).data).empty(); }));
  // The idle one goes (bounded wait); the one with a quiet watch stays.
  EXPECT_TRUE(idle->RunUntil([&] { return idle->connection_closed(); }, 10s));
  watching->RunUntil([] { return false; }, 2500ms);
  EXPECT_FALSE(watching->connection_closed());
  EXPECT_FALSE(watching->stream(watch).closed);
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
