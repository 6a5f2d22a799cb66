// The v3 JSON gateway is protected by key: the keys in each body are checked
// against the same ACL table as v2 keys, and every refused write is checked
// in etcd directly.
#include <regex>

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
  // A lease granted in etcd directly; its ID as the gateway prints int64s
  // (a JSON string), or "" when etcd did not grant one.
  static std::string GrantLeaseInEtcd() {
    const HttpResponse grant = etcd().Request("POST", "/v3/lease/grant", "{\"TTL\":600}");
    return Int64Field(grant, "ID");
  }
  // The seconds left on lease `id` in etcd (asked directly): -1 when it does
  // not exist, -2 when etcd's answer cannot be read.
  static long LeaseTtlInEtcd(const std::string& id) {
    const HttpResponse ttl =
        etcd().Request("POST", "/v3/lease/timetolive", "{\"ID\":\"" + id + "\"}");
    const std::string value = Int64Field(ttl, "TTL");
    return value.empty() ? -2 : std::stol(value);
  }
  // The int64 `field` of a 200 gateway response ("" when absent).
  static std::string Int64Field(const HttpResponse& response, const std::string& field) {
    const std::regex pattern("\"" + field + "\":\"(-?[0-9]+)\"");
    std::smatch match;
    if (response.status != 200 || !std::regex_search(response.body, match, pattern)) return "";
    return match[1].str();
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
  const std::string id = GrantLeaseInEtcd();
  ASSERT_FALSE(id.empty());
  ASSERT_GT(LeaseTtlInEtcd(id), 0);
  const std::string revoke = "{\"ID\":\"" + id + "\"}";
  EXPECT_TRUE(IsPermissionDenied(Post("/v3/lease/revoke", revoke, "conftool", kConftoolPassword)));
  EXPECT_GT(LeaseTtlInEtcd(id), 0) << "the refused revoke reached etcd";
  // The same request with the root rule does revoke it: the refusal above
  // was the ACL's, not a malformed request's.
  const HttpResponse revoked = Post("/v3/lease/revoke", revoke, "root", kRootPassword);
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(LeaseTtlInEtcd(id), -1);
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

namespace tlsproxy::integration {
namespace {

// With public_reads off, v3 reads are checked by key too: a watch or a range
// that reaches /conftool/secret needs root, one inside /conftool does not.
class V3PrivateReadsTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.public_reads = false;
    StartShared(options);
  }
  static HttpResponse Post(const std::string& path, const std::string& body,
                           const std::string& user, const std::string& password,
                           bool stop_at_first_data = false) {
    HttpsRequest request;
    request.method = "POST";
    request.path = path;
    request.body = body;
    if (!user.empty()) {
      request.user = user;
      request.password = password;
    }
    request.timeout = 10s;
    if (stop_at_first_data) {
      // A watch streams forever: its first message (the "created" event)
      // is all the test needs.
      request.on_data = [](const std::string& received) { return received.empty(); };
    }
    return Https(port(), request);
  }
  static std::string Range(const std::string& key, const std::string& end) {
    return "{\"key\":\"" + Base64(key) + "\",\"range_end\":\"" + Base64(end) + "\"}";
  }
};

TEST_F(V3PrivateReadsTest, RangeByRule) {
  EXPECT_EQ(Post("/v3/kv/range", Range("/conftool/a", "/conftool/b"), "conftool", kConftoolPassword)
                .status,
            200);
  const HttpResponse spill =
      Post("/v3/kv/range", Range("/conftool/", "/conftool0"), "conftool", kConftoolPassword);
  EXPECT_EQ(spill.status, 403) << spill.body;
  EXPECT_NE(spill.body.find("\"code\":7"), std::string::npos) << spill.body;
  EXPECT_EQ(Post("/v3/kv/range", Range("/conftool/", "/conftool0"), "root", kRootPassword).status,
            200);
}

TEST_F(V3PrivateReadsTest, WatchByRule) {
  const std::string inside =
      "{\"create_request\":{\"key\":\"" + Base64("/conftool/" + UniqueName("w")) + "\"}}";
  const HttpResponse allowed = Post("/v3/watch", inside, "conftool", kConftoolPassword, true);
  EXPECT_EQ(allowed.status, 200) << allowed.body << allowed.error;
  EXPECT_NE(allowed.body.find("\"created\":true"), std::string::npos) << allowed.body;

  const std::string secret = "{\"create_request\":{\"key\":\"" + Base64("/conftool/secret/") +
                             "\",\"range_end\":\"" + Base64("/conftool/secret0") + "\"}}";
  const HttpResponse refused = Post("/v3/watch", secret, "conftool", kConftoolPassword, true);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("\"code\":7"), std::string::npos) << refused.body;
  const HttpResponse anonymous = Post("/v3/watch", inside, "", "", true);
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
}

}  // namespace
}  // namespace tlsproxy::integration
