// SIGTERM and SIGINT stop the proxy cleanly: exit status 0, also with a
// long-poll watch still open, and within a bounded time.
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.Start()); }

  ProxyOptions Options() const {
    ProxyOptions options;
    options.upstream_port = etcd_.client_port();
    return options;
  }

  EtcdServer etcd_;
};

TEST_F(SignalsTest, SigtermExitsZero) {
  ProxyProcess proxy;
  ASSERT_TRUE(proxy.Start(Options()));
  EXPECT_EQ(HttpsGet(proxy.port(), "/version").status, 200);
  EXPECT_TRUE(proxy.Stop(SIGTERM));
  EXPECT_EQ(HttpsGet(proxy.port(), "/version").status, 0);
}

TEST_F(SignalsTest, SigintExitsZero) {
  ProxyProcess proxy;
  ASSERT_TRUE(proxy.Start(Options()));
  EXPECT_EQ(HttpsGet(proxy.port(), "/version").status, 200);
  EXPECT_TRUE(proxy.Stop(SIGINT));
}

TEST_F(SignalsTest, SigtermWithAnOpenWatchExitsZero) {
  ProxyProcess proxy;
  ASSERT_TRUE(proxy.Start(Options()));
  HttpsRequest watch;
  watch.path = "/v2/keys/" + UniqueName("signal") + "?wait=true";
  watch.timeout = 20s;
  HttpResponse response;
  std::thread watcher([&] { response = Https(proxy.port(), watch); });
  std::this_thread::sleep_for(500ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(proxy.Stop(SIGTERM));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  watcher.join();
  // Cut short or ended: either way no event was delivered.
  EXPECT_EQ(response.body.find("\"action\""), std::string::npos) << response.body;
}

}  // namespace
}  // namespace tlsproxy::integration
