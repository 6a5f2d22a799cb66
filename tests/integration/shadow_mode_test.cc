// `enforce: shadow` against a real etcd: a request the ACL would refuse is
// forwarded anyway (etcd has the write), and its own access line says
// shadow_denied=<would-be status> with the rule that would have refused it,
// counted in shadow_denials_total{rule}. An allowed request is neither
// marked nor counted. Shadow mode relaxes nothing else: a wrong password is
// still a 401, read_only still refuses every write (107), and start-up and
// --check say loudly that it is on.
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The proxy's log (access lines go to stderr) once a line contains every
// one of `parts`; waits at most 5 s, since the line is written after the
// response has been sent.
::testing::AssertionResult LogHasLine(const ProxyProcess& proxy,
                                      const std::vector<std::string>& parts) {
  std::string logs;
  for (int attempt = 0; attempt < 100; ++attempt) {
    logs = proxy.Logs();
    std::istringstream lines(logs);
    std::string line;
    while (std::getline(lines, line)) {
      bool all = true;
      for (const std::string& part : parts) all = all && Contains(line, part);
      if (all) return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(50ms);
  }
  std::string wanted;
  for (const std::string& part : parts) wanted += " [" + part + "]";
  return ::testing::AssertionFailure() << "no log line with" << wanted << " in:\n" << logs;
}

// The access line of a request for `path` (quoted as logged).
std::string LineFor(const ProxyProcess& proxy, const std::string& path) {
  std::istringstream lines(proxy.Logs());
  std::string line, found;
  while (std::getline(lines, line)) {
    if (Contains(line, " access ") && Contains(line, "path=\"" + path + "\"")) found = line;
  }
  return found;
}

CommandResult Etcdctl(uint16_t port, const std::string& who,
                      const std::vector<std::string>& command) {
  const Certificates& certs = TestCertificates();
  std::vector<std::string> argv = {
      "/usr/bin/etcdctl", "--endpoints=https://localhost:" + std::to_string(port),
      "--cacert=" + certs.ca, "--cert=" + certs.ClientCert(who), "--key=" + certs.ClientKey(who)};
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, {"ETCDCTL_API=3"}, 20s);
}

class ShadowModeTest : public ::testing::Test {
 protected:
  void Start(bool read_only = false, bool public_reads = true) {
    ProxyOptions options;
    options.admin_port = FreePort();
    options.read_only = read_only;
    options.public_reads = public_reads;
    options.extra_yaml = "enforce: shadow\n";
    ASSERT_TRUE(stack_.Start(options));
  }
  void TearDown() override { EXPECT_TRUE(stack_.proxy.Stop()); }
  double Metric(const std::string& series) {
    return AdminMetric(stack_.proxy.admin_port(), series);
  }

  Stack stack_;
};

TEST_F(ShadowModeTest, AWouldBeRefusalIsForwardedMarkedAndCounted) {
  Start();
  const std::string elsewhere = "/" + UniqueName("elsewhere");
  // Anonymous write under "/": enforcing, a 401. In shadow, etcd has it.
  EXPECT_EQ(HttpsPut(stack_.port(), "/v2/keys" + elsewhere, "anonymous").status, 201);
  EXPECT_EQ(stack_.etcd.ValueOf(elsewhere), "anonymous");
  EXPECT_TRUE(LogHasLine(stack_.proxy, {"path=\"/v2/keys" + elsewhere + "\"", "status=201",
                                        "rule=\"/\" shadow_denied=401"}));
  // A listed user outside its prefix: would be 403.
  const std::string other = "/" + UniqueName("other");
  EXPECT_EQ(HttpsPut(stack_.port(), "/v2/keys" + other, "c", "conftool", kConftoolPassword).status,
            201);
  EXPECT_EQ(stack_.etcd.ValueOf(other), "c");
  EXPECT_TRUE(LogHasLine(stack_.proxy, {"identity=\"basic:conftool\"",
                                        "path=\"/v2/keys" + other + "\"", "shadow_denied=403"}));
  EXPECT_TRUE(WaitForMetric(stack_.proxy.admin_port(),
                            "etcd_tlsproxy_shadow_denials_total{rule=\"/\"}", 2));
  EXPECT_EQ(Metric("etcd_tlsproxy_acl_denials_total{rule=\"/\"}"), 0);
}

TEST_F(ShadowModeTest, AnAllowedRequestIsNeitherMarkedNorCounted) {
  Start();
  const std::string key = "/conftool/" + UniqueName("allowed");
  EXPECT_EQ(HttpsPut(stack_.port(), "/v2/keys" + key, "v", "conftool", kConftoolPassword).status,
            201);
  EXPECT_TRUE(LogHasLine(stack_.proxy, {"path=\"/v2/keys" + key + "\"", "status=201"}));
  EXPECT_FALSE(Contains(LineFor(stack_.proxy, "/v2/keys" + key), "shadow_denied"));
  EXPECT_EQ(Metric("etcd_tlsproxy_shadow_denials_total{rule=\"/conftool\"}"), 0);
}

TEST_F(ShadowModeTest, AWrongPasswordIsStillRefused) {
  Start();
  const std::string key = "/conftool/" + UniqueName("wrong");
  EXPECT_TRUE(IsUnauthorized(HttpsPut(stack_.port(), "/v2/keys" + key, "v", "conftool", "wrong")));
  EXPECT_TRUE(stack_.etcd.Missing(key));
  HttpsRequest put;
  put.method = "POST";
  put.path = "/v3/kv/put";
  put.body = "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64("v") + "\"}";
  put.user = "conftool";
  put.password = "wrong";
  EXPECT_TRUE(IsJsonError(Https(stack_.port(), put), 401));
  EXPECT_EQ(stack_.etcd.V3ValueOf(key), std::nullopt);
  EXPECT_EQ(Metric("etcd_tlsproxy_shadow_denials_total{rule=\"/conftool\"}"), 0);
}

TEST_F(ShadowModeTest, ReadOnlyStillRefusesEveryWrite) {
  Start(/*read_only=*/true);
  const std::string key = "/conftool/" + UniqueName("ro");
  EXPECT_TRUE(IsReadOnlyRefusal(HttpsPut(stack_.port(), "/v2/keys" + key, "v")));
  EXPECT_TRUE(
      IsReadOnlyRefusal(HttpsPut(stack_.port(), "/v2/keys" + key, "v", "root", kRootPassword)));
  EXPECT_TRUE(stack_.etcd.Missing(key));
  const CommandResult put = Etcdctl(stack_.port(), "root", {"put", key, "v"});
  EXPECT_NE(put.exit_code, 0) << put.output;
  EXPECT_EQ(stack_.etcd.V3ValueOf(key), std::nullopt);
}

TEST_F(ShadowModeTest, GatewayAndGrpcWouldBeRefusalsAreForwardedAndMarked) {
  Start();
  // The JSON gateway: an anonymous put would be 401.
  const std::string gateway_key = "/" + UniqueName("gateway");
  HttpsRequest put;
  put.method = "POST";
  put.path = "/v3/kv/put";
  put.body = "{\"key\":\"" + Base64(gateway_key) + "\",\"value\":\"" + Base64("g") + "\"}";
  EXPECT_EQ(Https(stack_.port(), put).status, 200);
  EXPECT_EQ(stack_.etcd.V3ValueOf(gateway_key), "g");
  EXPECT_TRUE(LogHasLine(stack_.proxy, {"path=\"/v3/kv/put\"", "status=200", "shadow_denied=401"}));
  // gRPC: conftool's certificate outside /conftool would be 7.
  const std::string grpc_key = "/" + UniqueName("grpc");
  const CommandResult grpc_put = Etcdctl(stack_.port(), "conftool", {"put", grpc_key, "r"});
  EXPECT_EQ(grpc_put.exit_code, 0) << grpc_put.output;
  EXPECT_EQ(stack_.etcd.V3ValueOf(grpc_key), "r");
  EXPECT_TRUE(
      LogHasLine(stack_.proxy, {"method=GRPC", "path=\"/etcdserverpb.KV/Put\"", "grpc_status=0",
                                "key=\"" + grpc_key + "\"", "rule=\"/\" shadow_denied=7"}));
  EXPECT_TRUE(WaitForMetric(stack_.proxy.admin_port(),
                            "etcd_tlsproxy_shadow_denials_total{rule=\"/\"}", 2));
}

// Each Watch create has its own access line: a create the ACL would refuse
// reaches etcd, which creates the watch.
TEST_F(ShadowModeTest, AWouldBeRefusedWatchCreateIsForwardedAndMarked) {
  Start(/*read_only=*/false, /*public_reads=*/false);
  const std::string key = "/" + UniqueName("watched");
  const CommandResult watch = WatchThroughProxy(stack_.port(), "conftool", key, 0, 10);
  EXPECT_TRUE(Contains(watch.output, "created 0 canceled=0")) << watch.output;
  EXPECT_TRUE(LogHasLine(stack_.proxy, {"method=WATCH", "grpc_status=0", "key=\"" + key + "\"",
                                        "rule=\"/\" shadow_denied=7"}));
}

TEST_F(ShadowModeTest, StartUpAndCheckSayShadowModeIsOn) {
  Start();
  EXPECT_TRUE(LogHasLine(stack_.proxy, {"SHADOW MODE (enforce: shadow", "refuses nothing"}));
  ProxyOptions options;
  options.upstream_port = 2378;
  options.extra_yaml = "enforce: shadow\n";
  const CheckResult check = RunCheck(ProxyConfigYaml(options, 2379));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_TRUE(Contains(check.output, "WARNING: SHADOW MODE")) << check.output;
  options.extra_yaml = "";
  EXPECT_FALSE(Contains(RunCheck(ProxyConfigYaml(options, 2379)).output, "SHADOW")) << check.output;
}

}  // namespace
}  // namespace tlsproxy::integration
