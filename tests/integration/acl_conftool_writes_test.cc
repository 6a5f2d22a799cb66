// conftool is listed on /conftool only: it writes there and nowhere else,
// not on the root rule and not under the more specific /conftool/secret.
// Every refusal is checked in etcd.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class ConftoolWritesTest : public SharedProxyTest {};

TEST_F(ConftoolWritesTest, WritesUnderConftool) {
  const std::string key = "/conftool/" + UniqueName("pool") + "/node1";
  const HttpResponse created = HttpsPut(port(), "/v2/keys" + key + "?prevExist=false",
                                        "{\"pooled\":\"yes\"}", "conftool", kConftoolPassword);
  EXPECT_EQ(created.status, 201) << created.body << created.error;
  EXPECT_EQ(etcd().ValueOf(key), "{\"pooled\":\"yes\"}");

  const HttpResponse deleted = HttpsDelete(port(), "/v2/keys" + key, "conftool", kConftoolPassword);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(ConftoolWritesTest, RefusedOnTheRootRule) {
  const std::string key = "/" + UniqueName("outside");
  const HttpResponse response =
      HttpsPut(port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(response));
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(ConftoolWritesTest, RefusedUnderTheMoreSpecificSecretRule) {
  const std::string key = "/conftool/secret/" + UniqueName("s");
  const HttpResponse put = HttpsPut(port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(put));
  EXPECT_TRUE(etcd().Missing(key));

  ASSERT_TRUE(etcd().Put(key, "keep"));
  const HttpResponse deleted = HttpsDelete(port(), "/v2/keys" + key, "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(deleted));
  EXPECT_EQ(etcd().ValueOf(key), "keep");
}

TEST_F(ConftoolWritesTest, PostOnTheRootKeyIsRefused) {
  // nginx had no `location` for /v2/keys without a slash: it fell to `/`.
  for (const std::string path : {"/v2/keys", "/v2/keys/"}) {
    HttpsRequest request;
    request.method = "POST";
    request.path = path;
    request.body = "value=" + UniqueName("inorder");
    request.user = "conftool";
    request.password = kConftoolPassword;
    EXPECT_TRUE(IsForbidden(Https(port(), request))) << path;
    EXPECT_EQ(etcd().Get("/").body.find(request.body.substr(6)), std::string::npos) << path;
  }
}

TEST_F(ConftoolWritesTest, MethodsOtherThanReadsAreWrites) {
  const std::string key = "/" + UniqueName("method");
  ASSERT_TRUE(etcd().Put(key, "keep"));
  for (const std::string method : {"PUT", "POST", "DELETE", "PATCH"}) {
    HttpsRequest request;
    request.method = method;
    request.path = "/v2/keys" + key;
    request.body = "value=changed";
    request.user = "conftool";
    request.password = kConftoolPassword;
    EXPECT_TRUE(IsForbidden(Https(port(), request))) << method;
    EXPECT_EQ(etcd().ValueOf(key), "keep") << method;
  }
}

}  // namespace
}  // namespace tlsproxy::integration
