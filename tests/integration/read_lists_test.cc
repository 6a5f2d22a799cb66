// Read lists (issue 14, the long rule form {write, read}) against a real
// etcd, through v2, the JSON gateway and gRPC: a private prefix stays
// private even with public_reads on, a directory read reaches the private
// rule below it, and a rule without a read list keeps today's meaning.
// Ranges and watches (recursive v2 GETs and watches, directory listings, v3
// ranges, etcdctl get/watch --prefix) need read rights on every rule they
// reach; a reader's watch sees its event. Every refused write is checked in
// etcd directly.
#include <regex>

#include "tests/integration/etcdctl_v3.h"
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
    v3_revision_ = PutInEtcd(stack_.etcd, "/registry/secrets/v3token", "s3");
    ASSERT_GT(v3_revision_, 0);
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

  // The v2 modifiedIndex of `key` in etcd, or -1.
  long ModifiedIndex(const std::string& key) const {
    static const std::regex kIndex("\"modifiedIndex\":([0-9]+)");
    const HttpResponse node = stack_.etcd.Get(key);
    std::smatch match;
    if (node.status != 200 || !std::regex_search(node.body, match, kIndex)) return -1;
    return std::stol(match[1].str());
  }

  // A v2 watch (`?wait=true&recursive=true`) on `dir` from `index` on: an
  // index already written makes the event part of etcd's history, so an
  // allowed watch answers at once.
  HttpResponse RecursiveWatch(const std::string& dir, long index,
                              const std::optional<std::string>& client) {
    HttpsRequest watch;
    watch.path = "/v2/keys" + dir + "?wait=true&recursive=true&waitIndex=" + std::to_string(index);
    watch.client = client;
    watch.timeout = 15s;
    return Https(stack_.port(), watch);
  }

  HttpResponse GatewayRange(const std::string& key, const std::string& end,
                            const std::optional<std::string>& client) {
    HttpsRequest range;
    range.method = "POST";
    range.path = "/v3/kv/range";
    range.body = "{\"key\":\"" + Base64(key) + "\",\"range_end\":\"" + Base64(end) + "\"}";
    range.client = client;
    return Https(stack_.port(), range);
  }

  Stack stack_;
  int64_t v3_revision_ = 0;  // the v3 write of /registry/secrets/v3token
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
  EXPECT_TRUE(IsJsonError(GatewayRange("/registry/", "/registry0", std::nullopt), 401));
  EXPECT_EQ(GatewayRange("/registry/", "/registry0", "root").status, 200);

  const CommandResult refused =
      Etcdctl(stack_.port(), "conftool", {"get", "--prefix", "/registry/"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("permission denied"), std::string::npos) << refused.output;
  const CommandResult allowed =
      Etcdctl(stack_.port(), "conftool", {"get", "--prefix", "/conftool/"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
}

TEST_F(ReadListsTest, V2DirectoryReadsReachingAPrivateRule) {
  // conftool may read / (no read list: public) and /conftool, not
  // /registry/secrets: every listing that reaches it is refused whole.
  for (const std::string path : {"/v2/keys/?recursive=true", "/v2/keys/registry?recursive=true",
                                 "/v2/keys/registry", "/v2/keys/"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(IsForbidden(Get(path, "conftool")));
    const HttpResponse root = Get(path, "root");
    EXPECT_EQ(root.status, 200) << root.body << root.error;
    EXPECT_TRUE(Contains(root.body, "\"key\":\"/registry")) << root.body;
  }
  const HttpResponse everything = Get("/v2/keys/?recursive=true", "root");
  EXPECT_TRUE(Contains(everything.body, "\"value\":\"s\"")) << everything.body;
  // A listing that reaches no private rule is a public read.
  const HttpResponse conftool = Get("/v2/keys/conftool?recursive=true", "conftool");
  EXPECT_EQ(conftool.status, 200) << conftool.body << conftool.error;
  EXPECT_TRUE(Contains(conftool.body, "\"value\":\"c\"")) << conftool.body;
}

TEST_F(ReadListsTest, V2RecursiveWatchReachingAPrivateRule) {
  const long index = ModifiedIndex("/registry/secrets/token");
  ASSERT_GT(index, 0);
  for (const std::string dir : {"/registry", "/"}) {
    SCOPED_TRACE(dir);
    const HttpResponse refused = RecursiveWatch(dir, index, "conftool");
    EXPECT_TRUE(IsForbidden(refused)) << refused.error;
    EXPECT_FALSE(Contains(refused.body, "\"value\":\"s\"")) << refused.body;
    EXPECT_TRUE(IsUnauthorized(RecursiveWatch(dir, index, std::nullopt)));
    const HttpResponse reader = RecursiveWatch(dir, index, "root");
    EXPECT_EQ(reader.status, 200) << reader.body << reader.error;
    EXPECT_TRUE(Contains(reader.body, "\"key\":\"/registry/secrets/token\"")) << reader.body;
  }
  // conftool reads /conftool (its read list), and its watch sees a change.
  ASSERT_TRUE(stack_.etcd.Put("/conftool/y", "changed"));
  const HttpResponse watch = RecursiveWatch("/conftool", ModifiedIndex("/conftool/y"), "conftool");
  EXPECT_EQ(watch.status, 200) << watch.body << watch.error;
  EXPECT_TRUE(Contains(watch.body, "\"value\":\"changed\"")) << watch.body;
}

TEST_F(ReadListsTest, GatewayRangeReachingAPrivateRule) {
  // The whole keyspace under "/" reaches /conftool and /registry/secrets.
  for (const auto& [key, end] : {std::pair<std::string, std::string>{"/", "0"},
                                 std::pair<std::string, std::string>{"/registry/", "/registry0"}}) {
    SCOPED_TRACE(key);
    const HttpResponse refused = GatewayRange(key, end, "conftool");
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_TRUE(Contains(refused.body, "\"code\":7")) << refused.body;
    EXPECT_FALSE(Contains(refused.body, Base64("s3"))) << refused.body;
    const HttpResponse allowed = GatewayRange(key, end, "root");
    EXPECT_EQ(allowed.status, 200) << allowed.body;
    EXPECT_TRUE(Contains(allowed.body, Base64("/registry/secrets/v3token"))) << allowed.body;
  }
}

TEST_F(ReadListsTest, GrpcPrefixGetAndWatchReachingAPrivateRule) {
  const uint16_t port = stack_.port();
  for (const std::string prefix : {"/registry/", "/"}) {
    SCOPED_TRACE(prefix);
    const CommandResult get = Etcdctl(port, "conftool", {"get", "--prefix", prefix});
    EXPECT_EQ(get.exit_code, 1) << get.output;
    EXPECT_TRUE(Contains(get.output, kPermissionDenied)) << get.output;
    EXPECT_FALSE(Contains(get.output, "s3")) << get.output;

    const CommandResult watch = EtcdctlWatch(port, "conftool", prefix, v3_revision_, {"--prefix"});
    EXPECT_EQ(watch.exit_code, 5) << watch.output;
    EXPECT_TRUE(
        Contains(watch.output,
                 "watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: "
                 "permission denied)"))
        << watch.output;
    EXPECT_FALSE(Contains(watch.output, "s3")) << watch.output;
  }
  const CommandResult get = Etcdctl(port, "root", {"get", "--prefix", "/registry/"});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_EQ(get.output, "/registry/secrets/v3token\ns3\n");
  const CommandResult watch = EtcdctlWatch(port, "root", "/registry/", v3_revision_, {"--prefix"});
  EXPECT_TRUE(watch.timed_out) << "the watch ended: " << watch.output;
  EXPECT_EQ(watch.output, "PUT\n/registry/secrets/v3token\ns3\n");
}

TEST_F(ReadListsTest, GrpcReaderIsNotAWriter) {
  ASSERT_GT(PutInEtcd(stack_.etcd, "/conftool/v3", "c3"), 0);
  const CommandResult put = Etcdctl(stack_.port(), "conftool", {"put", "/conftool/v3", "forged"});
  EXPECT_EQ(put.exit_code, 1) << put.output;
  EXPECT_TRUE(Contains(put.output, kPermissionDenied)) << put.output;
  EXPECT_EQ(stack_.etcd.V3ValueOf("/conftool/v3"), "c3");
  const CommandResult get = Etcdctl(stack_.port(), "conftool", {"get", "/conftool/v3"});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_EQ(get.output, "/conftool/v3\nc3\n");
}

}  // namespace
}  // namespace tlsproxy::integration
