// SIGTERM and SIGINT stop the proxy cleanly: exit status 0, also with a
// long-poll watch still open (which ends with a complete response).
#include <atomic>
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
  ProxyOptions options = Options();
  options.admin_port = FreePort();
  ASSERT_TRUE(proxy.Start(options));
  HttpsRequest watch;
  watch.path = "/v2/keys/" + UniqueName("signal") + "?wait=true";
  watch.timeout = 20s;
  std::atomic<long> head_status{0};
  watch.on_head = [&](long status) { head_status = status; };
  HttpResponse response;
  std::thread watcher([&] { response = Https(proxy.port(), watch); });
  // The watch is open: etcd has answered its head, and the proxy counts it.
  for (int i = 0; i < 200 && head_status == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(head_status.load(), 200) << "no response head within 10 s";
  EXPECT_TRUE(WaitForMetric(proxy.admin_port(), "etcd_tlsproxy_watches", 1));

  EXPECT_TRUE(proxy.Stop(SIGTERM));
  watcher.join();
  // The open watch was ended by the proxy (a complete response, no event),
  // not refused for want of a listener.
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_TRUE(response.error.empty()) << response.error;
  EXPECT_EQ(response.body.find("\"action\""), std::string::npos) << response.body;
}

}  // namespace
}  // namespace tlsproxy::integration
