// Logins across the proxies of a 3-member cluster: a token is signed by the
// proxy that issued it, so another proxy accepts it only when they share a
// key (token_key_file). Without one each proxy makes its own random key and
// refuses the others' tokens (status 16, on which clientv3 logs in again).
#include <signal.h>

#include <thread>

#include "tests/integration/cluster.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

CommandResult TokenSteps(uint16_t port, const std::string& steps) {
  return RunCommand({"/usr/bin/python3", std::string(TLSPROXY_PYTHON_DIR) + "/grpc_token.py",
                     std::to_string(port), TestCertificates().ca, "", "", steps},
                    {}, 30s);
}

bool Has(const CommandResult& result, const std::string& text) {
  return result.output.find(text) != std::string::npos;
}

std::string Login() {
  return "[\"login\",\"conftool\",\"" + std::string(kConftoolPassword) + "\"]";
}

std::string Put(const std::string& key, const std::string& value) {
  return "[\"put\",\"" + key + "\",\"" + value + "\",[\"$login\"]]";
}

// Adds `line` to proxy i's config and reloads it; false if it did not apply.
bool Reconfigure(ProxyProcess& proxy, const std::string& line) {
  WriteFile(proxy.config_path(), ReadFile(proxy.config_path()) + line + "\n");
  const auto count = [&proxy] {
    const std::string logs = proxy.Logs();
    size_t n = 0;
    for (size_t at = logs.find("reloaded"); at != std::string::npos;
         at = logs.find("reloaded", at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t before = count();
  if (!proxy.Signal(SIGHUP)) return false;
  for (int i = 0; i < 200; ++i) {
    if (count() > before) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class GrpcClusterLoginTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Cluster::Start(cluster_)); }
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(GrpcClusterLoginTest, TokenFromOneProxyWorksOnAnotherOnlyWithASharedKey) {
  const std::vector<uint16_t> ports = cluster_->proxy_ports();
  const std::string key = "/conftool/" + UniqueName("cluster-token");

  // Own random keys: proxy 1 refuses proxy 0's token.
  const CommandResult apart =
      TokenSteps(ports[0], "[" + Login() + "," + Put(key, "on-0") + ",[\"connect\"," +
                               std::to_string(ports[1]) + "]," + Put(key, "on-1") + "]");
  EXPECT_TRUE(Has(apart, R"({"ok": true, "step": "put"})")) << apart.output;
  EXPECT_TRUE(Has(
      apart,
      R"({"code": "UNAUTHENTICATED", "details": "etcdserver: invalid auth token", "ok": false, "step": "put"})"))
      << apart.output;
  EXPECT_EQ(cluster_->member(1).V3ValueOf(key), "on-0");

  // One key for all three, as a cluster is meant to run.
  TempDir dir;
  const std::string key_file = dir.File("token.key");
  WriteFile(key_file, "5f0c3b9e2a7d41c8b6e9f03a1d2c4b5e6f708192a3b4c5d6e7f8091a2b3c4d5e\n");
  for (int i = 0; i < kClusterMembers; ++i) {
    ASSERT_TRUE(Reconfigure(cluster_->proxy(i), "token_key_file: \"" + key_file + "\""))
        << cluster_->proxy(i).Logs();
  }
  const CommandResult shared =
      TokenSteps(ports[0], "[" + Login() + ",[\"connect\"," + std::to_string(ports[1]) + "]," +
                               Put(key, "on-1") + ",[\"connect\"," + std::to_string(ports[2]) +
                               "]," + Put(key, "on-2") + "]");
  EXPECT_FALSE(Has(shared, "UNAUTHENTICATED")) << shared.output;
  EXPECT_EQ(cluster_->member(0).V3ValueOf(key), "on-2");

  // etcdctl with all three endpoints: clientv3 spreads its calls over them
  // and carries the token of whichever proxy it logged in at.
  const Certificates& certs = TestCertificates();
  std::string endpoints;
  for (uint16_t port : ports) {
    endpoints +=
        (endpoints.empty() ? "" : ",") + std::string("https://localhost:") + std::to_string(port);
  }
  for (int i = 0; i < 6; ++i) {
    const std::string value = "etcdctl-" + std::to_string(i);
    const CommandResult put =
        RunCommand({"/usr/bin/etcdctl", "--endpoints=" + endpoints, "--cacert=" + certs.ca,
                    std::string("--user=conftool:") + kConftoolPassword, "--dial-timeout=3s",
                    "--command-timeout=5s", "put", key, value},
                   {"ETCDCTL_API=3"}, 20s);
    EXPECT_EQ(put.exit_code, 0) << put.output;
    EXPECT_FALSE(Has(put, "invalid auth token")) << put.output;
    EXPECT_EQ(cluster_->member(2).V3ValueOf(key), value);
  }
}

}  // namespace
}  // namespace tlsproxy::integration
