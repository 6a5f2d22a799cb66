// Outside /v2/keys: reads of /version, /health, /metrics, /v2/stats/...,
// /v2/members... and /v2/machines are public (public_reads: true);
// everything else (v3 gateway, member changes, /v2/auth, unknown paths)
// needs an identity on the `/` rule. In the nginx setup `POST /v3/kv/put`
// wrote any key anonymously. (How v3 bodies are decided key by key, and the
// gateway-shaped refusals, belong to the v3 tests; here only that v3 writes
// and admin calls need credentials, answered with JSON.)
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class NonKeyEndpointsTest : public SharedProxyTest {
 protected:
  static HttpsRequest Post(const std::string& path, const std::string& json) {
    HttpsRequest request;
    request.method = "POST";
    request.path = path;
    request.body = json;
    request.headers = {"Content-Type: application/json"};
    return request;
  }
  static std::string V3Put(const std::string& key, const std::string& value) {
    return "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64(value) + "\"}";
  }
};

TEST_F(NonKeyEndpointsTest, ReadEndpointsArePublic) {
  for (const std::string path :
       {"/version", "/health", "/metrics", "/v2/members", "/v2/members/leader", "/v2/machines",
        "/v2/stats/self", "/v2/stats/store", "/v2/stats/leader"}) {
    const HttpResponse response = HttpsGet(port(), path);
    EXPECT_EQ(response.status, 200) << path << ": " << response.body << response.error;
    EXPECT_FALSE(response.body.empty()) << path;
  }
  EXPECT_NE(HttpsGet(port(), "/version").body.find("etcdserver"), std::string::npos);
  EXPECT_NE(HttpsGet(port(), "/health").body.find("\"health\":\"true\""), std::string::npos);
}

TEST_F(NonKeyEndpointsTest, V3PutWithoutCredentialsIs401) {
  for (const std::string path : {"/v3/kv/put", "/v3beta/kv/put", "/v3alpha/kv/put"}) {
    const std::string key = "/" + UniqueName("v3");
    EXPECT_TRUE(IsJsonError(Https(port(), Post(path, V3Put(key, "pwned"))), 401)) << path;
    EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt) << path;
  }
}

TEST_F(NonKeyEndpointsTest, V3PutOutsideConftoolNeedsRoot) {
  const std::string key = "/" + UniqueName("v3");
  HttpsRequest as_conftool = Post("/v3/kv/put", V3Put(key, "x"));
  as_conftool.user = "conftool";
  as_conftool.password = kConftoolPassword;
  EXPECT_TRUE(IsJsonError(Https(port(), as_conftool), 403));
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);

  HttpsRequest as_root = Post("/v3/kv/put", V3Put(key, "by-root"));
  as_root.user = "root";
  as_root.password = kRootPassword;
  const HttpResponse response = Https(port(), as_root);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(etcd().V3ValueOf(key), "by-root");
}

TEST_F(NonKeyEndpointsTest, V3DeleteOfEverythingNeedsCredentials) {
  const std::string key = "/" + UniqueName("v3");
  ASSERT_EQ(etcd().Request("POST", "/v3/kv/put", V3Put(key, "keep")).status, 200);
  // key "\0" with range_end "\0": every key.
  const std::string everything = "{\"key\":\"AA==\",\"range_end\":\"AA==\"}";
  EXPECT_TRUE(IsJsonError(Https(port(), Post("/v3/kv/deleterange", everything)), 401));
  HttpsRequest as_conftool = Post("/v3/kv/deleterange", everything);
  as_conftool.user = "conftool";
  as_conftool.password = kConftoolPassword;
  EXPECT_TRUE(IsJsonError(Https(port(), as_conftool), 403));
  EXPECT_EQ(etcd().V3ValueOf(key), "keep");
}

TEST_F(NonKeyEndpointsTest, V3AdminCallsNeedTheRootRule) {
  // A lease revoke deletes every key attached to the lease; auth enable
  // would lock everyone out.
  for (const std::string path :
       {"/v3/lease/revoke", "/v3/auth/enable", "/v3/lease/leases", "/v3/maintenance/defragment"}) {
    EXPECT_TRUE(IsJsonError(Https(port(), Post(path, "{}")), 401)) << path;
    HttpsRequest as_conftool = Post(path, "{}");
    as_conftool.user = "conftool";
    as_conftool.password = kConftoolPassword;
    EXPECT_TRUE(IsJsonError(Https(port(), as_conftool), 403)) << path;
  }
}

TEST_F(NonKeyEndpointsTest, V3StatusAndMemberListAreReadsLikeV2StatsAndMembers) {
  // public_reads (on here) lets anyone read them, as /v2/stats and /v2/members.
  for (const std::string path : {"/v3/maintenance/status", "/v3/cluster/member/list"}) {
    const HttpResponse response = Https(port(), Post(path, "{}"));
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_NE(response.body.find("\"header\""), std::string::npos) << path << ": " << response.body;
  }
}

TEST_F(NonKeyEndpointsTest, MemberChangesNeedCredentials) {
  const std::string before = etcd().Request("GET", "/v2/members").body;
  EXPECT_TRUE(IsUnauthorized(
      Https(port(), Post("/v2/members", "{\"peerURLs\":[\"http://127.0.0.1:1\"]}"))));
  HttpsRequest remove;
  remove.method = "DELETE";
  remove.path = "/v2/members/1234";
  EXPECT_TRUE(IsUnauthorized(Https(port(), remove)));
  HttpsRequest as_conftool = Post("/v2/members", "{\"peerURLs\":[\"http://127.0.0.1:1\"]}");
  as_conftool.user = "conftool";
  as_conftool.password = kConftoolPassword;
  EXPECT_TRUE(IsForbidden(Https(port(), as_conftool)));
  EXPECT_EQ(etcd().Request("GET", "/v2/members").body, before);
}

TEST_F(NonKeyEndpointsTest, AuthAndUnknownPathsNeedCredentials) {
  for (const std::string path : {"/v2/auth/enable", "/v2/auth/users", "/v2/auth/roles/root",
                                 "/debug/vars", "/nope", "/v2/keysX", "/v2"}) {
    EXPECT_TRUE(IsUnauthorized(HttpsGet(port(), path))) << path;
    EXPECT_TRUE(IsForbidden(HttpsGet(port(), path, "conftool", kConftoolPassword))) << path;
  }
  HttpsRequest enable;
  enable.method = "PUT";
  enable.path = "/v2/auth/enable";
  EXPECT_TRUE(IsUnauthorized(Https(port(), enable)));
  EXPECT_EQ(etcd().Request("GET", "/v2/auth/enable").body.find("true"), std::string::npos);
}

}  // namespace
}  // namespace tlsproxy::integration
