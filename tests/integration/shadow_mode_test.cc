// `enforce: shadow` against a real etcd: a request the ACL would refuse is
// forwarded anyway (etcd has the write), and its own access line says
// shadow_denied=<would-be status> with the rule that would have refused it,
// counted in shadow_denials_total{rule}. An allowed request is neither
// marked nor counted. Shadow mode relaxes nothing else: a wrong password is
// still a 401, read_only still refuses every write (107), and start-up and
// --check say loudly that it is on.
#include <string>
#include <vector>

#include "tests/integration/access_log_reader.h"
#include "tests/integration/etcdctl_v3.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// The access line of the one `method` request on `path` logged after
// byte `offset`; its fields, or none (the test has failed).
AccessFields LineOf(const ProxyProcess& proxy, size_t offset, const std::string& method,
                    const std::string& path) {
  return AccessLineOf(proxy, offset, method, path).value_or(AccessFields{});
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
  // Anonymous write under "/": enforcing, a 401. In shadow, etcd has it.
  const std::string elsewhere = "/" + UniqueName("elsewhere");
  size_t offset = stack_.proxy.Logs().size();
  EXPECT_EQ(HttpsPut(stack_.port(), "/v2/keys" + elsewhere, "anonymous").status, 201);
  EXPECT_EQ(stack_.etcd.ValueOf(elsewhere), "anonymous");
  AccessFields line = LineOf(stack_.proxy, offset, "PUT", "/v2/keys" + elsewhere);
  EXPECT_EQ(line["status"], "201");
  EXPECT_EQ(line["identity"], "-");
  EXPECT_EQ(line["rule"], "/");
  EXPECT_EQ(line["shadow_denied"], "401");
  // A listed user outside its prefix: would be 403.
  const std::string other = "/" + UniqueName("other");
  offset = stack_.proxy.Logs().size();
  EXPECT_EQ(HttpsPut(stack_.port(), "/v2/keys" + other, "c", "conftool", kConftoolPassword).status,
            201);
  EXPECT_EQ(stack_.etcd.ValueOf(other), "c");
  line = LineOf(stack_.proxy, offset, "PUT", "/v2/keys" + other);
  EXPECT_EQ(line["identity"], "basic:conftool");
  EXPECT_EQ(line["rule"], "/");
  EXPECT_EQ(line["shadow_denied"], "403");
  EXPECT_TRUE(WaitForMetric(stack_.proxy.admin_port(),
                            "etcd_tlsproxy_shadow_denials_total{rule=\"/\"}", 2));
  EXPECT_EQ(Metric("etcd_tlsproxy_acl_denials_total{rule=\"/\"}"), 0);
}

TEST_F(ShadowModeTest, AnAllowedRequestIsNeitherMarkedNorCounted) {
  Start();
  const std::string key = "/conftool/" + UniqueName("allowed");
  const size_t offset = stack_.proxy.Logs().size();
  EXPECT_EQ(HttpsPut(stack_.port(), "/v2/keys" + key, "v", "conftool", kConftoolPassword).status,
            201);
  const AccessFields line = LineOf(stack_.proxy, offset, "PUT", "/v2/keys" + key);
  EXPECT_EQ(line.count("shadow_denied"), 0u);
  EXPECT_EQ(line.count("status"), 1u);
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
  EXPECT_TRUE(Contains(put.output, kPermissionDenied)) << put.output;
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
  size_t offset = stack_.proxy.Logs().size();
  EXPECT_EQ(Https(stack_.port(), put).status, 200);
  EXPECT_EQ(stack_.etcd.V3ValueOf(gateway_key), "g");
  AccessFields line = LineOf(stack_.proxy, offset, "POST", "/v3/kv/put");
  EXPECT_EQ(line["status"], "200");
  EXPECT_EQ(line["shadow_denied"], "401");
  // gRPC: conftool's certificate outside /conftool would be 7.
  const std::string grpc_key = "/" + UniqueName("grpc");
  offset = stack_.proxy.Logs().size();
  const CommandResult grpc_put = Etcdctl(stack_.port(), "conftool", {"put", grpc_key, "r"});
  EXPECT_EQ(grpc_put.exit_code, 0) << grpc_put.output;
  EXPECT_EQ(stack_.etcd.V3ValueOf(grpc_key), "r");
  line = LineOf(stack_.proxy, offset, "GRPC", "/etcdserverpb.KV/Put");
  EXPECT_EQ(line["identity"], "cert:conftool");
  EXPECT_EQ(line["grpc_status"], "0");
  EXPECT_EQ(line["key"], grpc_key);
  EXPECT_EQ(line["rule"], "/");
  EXPECT_EQ(line["shadow_denied"], "7");
  EXPECT_TRUE(WaitForMetric(stack_.proxy.admin_port(),
                            "etcd_tlsproxy_shadow_denials_total{rule=\"/\"}", 2));
}

// Each Watch create has its own access line: a create the ACL would refuse
// reaches etcd, which creates the watch.
TEST_F(ShadowModeTest, AWouldBeRefusedWatchCreateIsForwardedAndMarked) {
  Start(/*read_only=*/false, /*public_reads=*/false);
  const std::string key = "/" + UniqueName("watched");
  const size_t offset = stack_.proxy.Logs().size();
  const CommandResult watch = WatchThroughProxy(stack_.port(), "conftool", key, 0, 10);
  EXPECT_TRUE(Contains(watch.output, "created 0 canceled=0")) << watch.output;
  AccessFields line = LineOf(stack_.proxy, offset, "WATCH", "/etcdserverpb.Watch/Watch");
  EXPECT_EQ(line["grpc_status"], "0");
  EXPECT_EQ(line["key"], key);
  EXPECT_EQ(line["rule"], "/");
  EXPECT_EQ(line["shadow_denied"], "7");
}

TEST_F(ShadowModeTest, StartUpAndCheckSayShadowModeIsOn) {
  Start();
  // A request served means the workers run: start-up has logged by then.
  EXPECT_EQ(HttpsGet(stack_.port(), "/version").status, 200);
  EXPECT_TRUE(Contains(stack_.proxy.Logs(), "SHADOW MODE (enforce: shadow, line"))
      << stack_.proxy.Logs();
  ProxyOptions options;
  options.upstream_port = 2378;
  options.extra_yaml = "enforce: shadow\n";
  const CheckResult check = RunCheck(ProxyConfigYaml(options, 2379));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_TRUE(Contains(check.output, "WARNING: SHADOW MODE")) << check.output;
  options.extra_yaml = "";
  const CheckResult enforcing = RunCheck(ProxyConfigYaml(options, 2379));
  EXPECT_FALSE(Contains(enforcing.output, "SHADOW")) << enforcing.output;
  EXPECT_TRUE(Contains(enforcing.output, "\"/conftool\" (line ")) << enforcing.output;
}

}  // namespace
}  // namespace tlsproxy::integration
