// gRPC calls across the proxy's life events, with real gRPC clients
// (grpcio through python3-etcd3's stubs, etcdctl v3): SIGTERM ends an open
// Watch with UNAVAILABLE and the proxy exits 0; etcd going away ends open
// calls with UNAVAILABLE and calls succeed again once it is back; a reload
// keeps open watches and applies to new calls; metrics count calls and
// watches.
#include <signal.h>

#include <future>
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// etcdctl v3 through the proxy with `who`'s certificate.
CommandResult EtcdctlAs(uint16_t port, const std::string& who,
                        const std::vector<std::string>& command) {
  const Certificates& certs = TestCertificates();
  std::vector<std::string> argv = {"/usr/bin/etcdctl",
                                   "--endpoints=https://localhost:" + std::to_string(port),
                                   "--cacert=" + certs.ca,
                                   "--cert=" + certs.ClientCert(who),
                                   "--key=" + certs.ClientKey(who),
                                   "--dial-timeout=3s",
                                   "--command-timeout=5s"};
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, {"ETCDCTL_API=3"}, 20s);
}

// A v3 write straight to etcd, not through the proxy.
bool PutDirect(const EtcdServer& etcd, const std::string& key, const std::string& value) {
  return RunCommand({"/usr/bin/etcdctl", "--endpoints=" + etcd.client_url(), "put", key, value},
                    {"ETCDCTL_API=3"}, 20s)
             .exit_code == 0;
}

// Waits (bounded) until the proxy's log has `text`.
bool WaitForLog(const ProxyProcess& proxy, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    if (proxy.Logs().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(GrpcLifecycleTest, SigtermEndsAnOpenWatchWithUnavailableAndExitsZero) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string key = "/conftool/" + UniqueName("drain");
  auto watch = std::async(std::launch::async,
                          [&] { return WatchThroughProxy(stack.port(), "root", key, 1, 20); });
  ASSERT_TRUE(WaitForLog(stack.proxy, "method=WATCH")) << stack.proxy.Logs();
  EXPECT_TRUE(stack.proxy.Stop(SIGTERM));  // exit status 0
  const CommandResult result = watch.get();
  EXPECT_NE(result.output.find("created 0 canceled=0"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("status UNAVAILABLE etcd-tlsproxy is shutting down"),
            std::string::npos)
      << result.output;
}

TEST(GrpcLifecycleTest, EtcdDownIsUnavailableAndCallsWorkOnceItIsBack) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string key = "/conftool/" + UniqueName("down");
  auto watch = std::async(std::launch::async,
                          [&] { return WatchThroughProxy(stack.port(), "root", key, 1, 20); });
  ASSERT_TRUE(WaitForLog(stack.proxy, "method=WATCH")) << stack.proxy.Logs();
  stack.etcd.Stop();
  const CommandResult ended = watch.get();
  EXPECT_NE(ended.output.find("status UNAVAILABLE etcd is unavailable"), std::string::npos)
      << ended.output;

  const CommandResult refused = EtcdctlAs(stack.port(), "root", {"put", key, "while-down"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("code = Unavailable desc = etcd is unavailable"), std::string::npos)
      << refused.output;

  ASSERT_TRUE(stack.etcd.Start());
  EXPECT_EQ(stack.etcd.V3ValueOf(key), std::nullopt);
  CommandResult put;
  for (int i = 0; i < 20; ++i) {  // etcd may take a moment to elect itself again
    put = EtcdctlAs(stack.port(), "root", {"put", key, "back"});
    if (put.exit_code == 0) break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(stack.etcd.V3ValueOf(key), "back");
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(GrpcLifecycleTest, ReloadKeepsOpenWatchesAndAppliesToNewCalls) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string key = "/eventlogging/" + UniqueName("reload");
  auto watch = std::async(std::launch::async,
                          [&] { return WatchThroughProxy(stack.port(), "conftool", key, 2, 20); });
  ASSERT_TRUE(WaitForLog(stack.proxy, "method=WATCH")) << stack.proxy.Logs();
  ASSERT_EQ(EtcdctlAs(stack.port(), "conftool", {"put", key, "before"}).exit_code, 0);

  // /eventlogging closed to everyone but root; reads private too.
  std::string yaml = ReadFile(stack.proxy.config_path());
  const std::string open = "\"/eventlogging\": []";
  yaml.replace(yaml.find(open), open.size(), "\"/eventlogging\": [root]");
  WriteFile(stack.proxy.config_path(), yaml);
  ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
  ASSERT_TRUE(WaitForLog(stack.proxy, "reloaded")) << stack.proxy.Logs();

  const CommandResult refused = EtcdctlAs(stack.port(), "conftool", {"put", key, "after"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("permission denied"), std::string::npos) << refused.output;
  EXPECT_EQ(stack.etcd.V3ValueOf(key), "before");

  // The watch made under the old config goes on and sees root's write.
  ASSERT_EQ(EtcdctlAs(stack.port(), "root", {"put", key, "by-root"}).exit_code, 0);
  const CommandResult seen = watch.get();
  EXPECT_NE(seen.output.find("event " + key + " by-root"), std::string::npos) << seen.output;
  EXPECT_NE(seen.output.find("done"), std::string::npos) << seen.output;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(GrpcLifecycleTest, MetricsCountCallsByServiceAndStatusAndWatches) {
  Stack stack;
  ProxyOptions options;
  options.admin_port = FreePort();
  ASSERT_TRUE(stack.Start(options));
  const uint16_t admin = stack.proxy.admin_port();
  const std::string key = "/conftool/" + UniqueName("metrics");
  const std::string outside = "/" + UniqueName("metrics");
  EXPECT_NE(EtcdctlAs(stack.port(), "conftool", {"put", outside, "x"}).exit_code, 0);
  EXPECT_EQ(stack.etcd.V3ValueOf(outside), std::nullopt);
  EXPECT_TRUE(
      WaitForMetric(admin, "etcd_tlsproxy_grpc_calls_total{service=\"KV\",grpc_status=\"7\"}", 1));

  auto watch = std::async(std::launch::async,
                          [&] { return WatchThroughProxy(stack.port(), "conftool", key, 1, 20); });
  EXPECT_TRUE(WaitForMetric(admin, "etcd_tlsproxy_watches", 1));
  EXPECT_TRUE(PutDirect(stack.etcd, key, "v"));
  const CommandResult seen = watch.get();
  EXPECT_NE(seen.output.find("event " + key + " v"), std::string::npos) << seen.output;
  EXPECT_TRUE(WaitForMetric(admin, "etcd_tlsproxy_watches", 0));
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
