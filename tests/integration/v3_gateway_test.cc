// The v3 JSON gateway is protected by key: the keys in each body are checked
// against the same ACL table as v2 keys, and every refused write is checked
// in etcd directly.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class V3GatewayTest : public SharedProxyTest {
 protected:
  static HttpResponse Post(const std::string& path, const std::string& body,
                           const std::string& user = "", const std::string& password = "") {
    HttpsRequest request;
    request.method = "POST";
    request.path = path;
    request.body = body;
    if (!user.empty()) {
      request.user = user;
      request.password = password;
    }
    return Https(port(), request);
  }
  static std::string PutBody(const std::string& key, const std::string& value) {
    return "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64(value) + "\"}";
  }
  static bool IsPermissionDenied(const HttpResponse& response) {
    return response.status == 403 && TrimRight(response.body) ==
                                         "{\"code\":7,\"error\":\"etcdserver: permission denied\","
                                         "\"message\":\"etcdserver: permission denied\"}";
  }
};

TEST_F(V3GatewayTest, PutUnderOwnPrefixAllowedElsewhereRefused) {
  const std::string mine = "/conftool/" + UniqueName("v3");
  EXPECT_EQ(Post("/v3/kv/put", PutBody(mine, "ok"), "conftool", kConftoolPassword).status, 200);
  EXPECT_EQ(etcd().V3ValueOf(mine), "ok");

  const std::string other = "/" + UniqueName("v3top");
  const HttpResponse refused =
      Post("/v3/kv/put", PutBody(other, "no"), "conftool", kConftoolPassword);
  EXPECT_TRUE(IsPermissionDenied(refused)) << refused.status << " " << refused.body;
  EXPECT_EQ(etcd().V3ValueOf(other), std::nullopt);

  const HttpResponse anonymous = Post("/v3/kv/put", PutBody(mine, "anon"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.body.find("\"code\":16"), std::string::npos) << anonymous.body;
  EXPECT_EQ(etcd().V3ValueOf(mine), "ok");
}

TEST_F(V3GatewayTest, V3BetaPrefixIsCheckedToo) {
  const std::string other = "/" + UniqueName("beta");
  EXPECT_TRUE(IsPermissionDenied(
      Post("/v3beta/kv/put", PutBody(other, "no"), "conftool", kConftoolPassword)));
  EXPECT_EQ(etcd().V3ValueOf(other), std::nullopt);
}

TEST_F(V3GatewayTest, RangeThatSpillsOverAProtectedPrefixIsRefused) {
  const std::string secret = "/conftool/secret/" + UniqueName("s");
  ASSERT_EQ(Post("/v3/kv/put", PutBody(secret, "keep"), "root", kRootPassword).status, 200);
  // Delete every key under /conftool/: reaches /conftool/secret.
  const std::string body =
      "{\"key\":\"" + Base64("/conftool/") + "\",\"range_end\":\"" + Base64("/conftool0") + "\"}";
  EXPECT_TRUE(IsPermissionDenied(Post("/v3/kv/deleterange", body, "conftool", kConftoolPassword)));
  EXPECT_EQ(etcd().V3ValueOf(secret), "keep");
  // "\0" as range_end: every key from /conftool/ on, far beyond the prefix.
  const std::string all = "{\"key\":\"" + Base64("/conftool/") + "\",\"range_end\":\"AA==\"}";
  EXPECT_TRUE(IsPermissionDenied(Post("/v3/kv/deleterange", all, "conftool", kConftoolPassword)));
  EXPECT_EQ(etcd().V3ValueOf(secret), "keep");
  // Reads are public.
  EXPECT_EQ(Post("/v3/kv/range", all).status, 200);
}

TEST_F(V3GatewayTest, TxnWithAHiddenWriteIsRefused) {
  const std::string mine = "/conftool/" + UniqueName("txn");
  const std::string secret = "/conftool/secret/" + UniqueName("txn");
  const std::string body =
      "{\"compare\":[],\"success\":[{\"request_put\":" + PutBody(mine, "a") +
      "},{\"request_txn\":{\"success\":[{\"request_put\":" + PutBody(secret, "b") + "}]}}]}";
  EXPECT_TRUE(IsPermissionDenied(Post("/v3/kv/txn", body, "conftool", kConftoolPassword)));
  EXPECT_EQ(etcd().V3ValueOf(mine), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(secret), std::nullopt);
}

TEST_F(V3GatewayTest, LeaseRevokeNeedsTheRootRule) {
  const HttpResponse grant = Post("/v3/lease/grant", "{\"TTL\":60}", "root", kRootPassword);
  ASSERT_EQ(grant.status, 200) << grant.body;
  EXPECT_TRUE(
      IsPermissionDenied(Post("/v3/lease/revoke", "{\"ID\":1}", "conftool", kConftoolPassword)));
}

TEST_F(V3GatewayTest, MalformedBodiesAre400AndNotForwarded) {
  const std::string key = "/conftool/" + UniqueName("bad");
  for (const std::string& body :
       {std::string("{\"key\":"), std::string("{\"key\":\"!!!\"}"), std::string("[1]"),
        "{\"key\":\"" + Base64(key) + "\",\"bogus\":1}"}) {
    const HttpResponse response = Post("/v3/kv/put", body, "conftool", kConftoolPassword);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_NE(response.body.find("\"code\":3"), std::string::npos) << response.body;
  }
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

}  // namespace
}  // namespace tlsproxy::integration
