// Read lists (issue 14, the long rule form {write, read}) against a real
// etcd, through v2, the JSON gateway and gRPC: a private prefix stays
// private even with public_reads on, a directory read reaches the private
// rule below it, and a rule without a read list keeps today's meaning.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class ReadListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.etcd.Start());
    ProxyOptions options;
    options.upstream_port = stack_.etcd.client_port();
    std::string yaml = ProxyConfigYaml(options, stack_.proxy.port());
    const size_t from = yaml.find("acls:\n");
    const size_t to = yaml.find("public_reads:");
    ASSERT_TRUE(from != std::string::npos && to != std::string::npos) << yaml;
    yaml.replace(from, to - from,
                 "acls:\n"
                 "  \"/\": [root]\n"
                 "  \"/conftool\": {write: [root], read: [conftool, root]}\n"
                 "  \"/registry/secrets\": {write: [root], read: [root]}\n");
    ASSERT_TRUE(stack_.proxy.StartWithYaml(yaml));
    ASSERT_TRUE(stack_.etcd.Put("/conftool/x", "c"));
    ASSERT_TRUE(stack_.etcd.Put("/registry/secrets/token", "s"));
  }
  void TearDown() override { EXPECT_TRUE(stack_.proxy.Stop()); }

  HttpResponse Get(const std::string& path, const std::optional<std::string>& client,
                   const std::string& user = "") {
    HttpsRequest request;
    request.path = path;
    request.client = client;
    if (!user.empty()) {
      request.user = user;
      request.password = user == "root" ? kRootPassword : kConftoolPassword;
    }
    return Https(stack_.port(), request);
  }

  Stack stack_;
};

TEST_F(ReadListsTest, V2ReadsFollowTheReadLists) {
  EXPECT_TRUE(IsUnauthorized(Get("/v2/keys/conftool/x", std::nullopt)));
  EXPECT_EQ(Get("/v2/keys/conftool/x", "conftool").status, 200);  // a reader, not a writer
  HttpsRequest put;
  put.method = "PUT";
  put.path = "/v2/keys/conftool/x";
  put.body = "value=forged";
  put.client = "conftool";
  EXPECT_TRUE(IsForbidden(Https(stack_.port(), put)));
  EXPECT_EQ(stack_.etcd.ValueOf("/conftool/x"), "c");
  EXPECT_TRUE(IsForbidden(Get("/v2/keys/registry/secrets/token", std::nullopt, "conftool")));
  EXPECT_EQ(Get("/v2/keys/registry/secrets/token", std::nullopt, "root").status, 200);
  // A rule without a read list: public, as before.
  // The root directory lists /registry and /conftool: refused to anyone
  // who may not read both.
  EXPECT_TRUE(IsUnauthorized(Get("/v2/keys/", std::nullopt)));
  EXPECT_TRUE(IsUnauthorized(Get("/v2/keys/registry?recursive=true", std::nullopt)));
  EXPECT_EQ(Get("/v2/keys/registry?recursive=true", std::nullopt, "root").status, 200);
}

TEST_F(ReadListsTest, GatewayAndGrpcRangesNeedReadRights) {
  HttpsRequest range;
  range.method = "POST";
  range.path = "/v3/kv/range";
  range.body =
      "{\"key\":\"" + Base64("/registry/") + "\",\"range_end\":\"" + Base64("/registry0") + "\"}";
  EXPECT_TRUE(IsJsonError(Https(stack_.port(), range), 401));
  range.client = "root";
  EXPECT_EQ(Https(stack_.port(), range).status, 200);

  const Certificates& certs = TestCertificates();
  const CommandResult refused = RunCommand(
      {"/usr/bin/etcdctl", "--endpoints=https://localhost:" + std::to_string(stack_.port()),
       "--cacert=" + certs.ca, "--cert=" + certs.ClientCert("conftool"),
       "--key=" + certs.ClientKey("conftool"), "get", "--prefix", "/registry/"},
      {"ETCDCTL_API=3"}, 20s);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("permission denied"), std::string::npos) << refused.output;
  const CommandResult allowed = RunCommand(
      {"/usr/bin/etcdctl", "--endpoints=https://localhost:" + std::to_string(stack_.port()),
       "--cacert=" + certs.ca, "--cert=" + certs.ClientCert("conftool"),
       "--key=" + certs.ClientKey("conftool"), "get", "--prefix", "/conftool/"},
      {"ETCDCTL_API=3"}, 20s);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
}

}  // namespace
}  // namespace tlsproxy::integration
