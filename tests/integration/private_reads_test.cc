// public_reads: false: reads need an identity listed on the winning rule,
// on keys and on the read endpoints outside /v2/keys.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class PrivateReadsTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.public_reads = false;
    StartShared(options);
  }
};

TEST_F(PrivateReadsTest, AnonymousReadIs401) {
  const std::string key = "/conftool/" + UniqueName("private");
  ASSERT_TRUE(etcd().Put(key, "hidden"));
  const HttpResponse response = HttpsGet(port(), "/v2/keys" + key);
  EXPECT_TRUE(IsUnauthorized(response));
  EXPECT_EQ(response.body.find("hidden"), std::string::npos);
}

TEST_F(PrivateReadsTest, ListedIdentityReads) {
  const std::string key = "/conftool/" + UniqueName("private");
  ASSERT_TRUE(etcd().Put(key, "shown"));
  const HttpResponse by_password =
      HttpsGet(port(), "/v2/keys" + key, "conftool", kConftoolPassword);
  EXPECT_EQ(by_password.status, 200) << by_password.body;
  EXPECT_NE(by_password.body.find("shown"), std::string::npos) << by_password.body;

  HttpsRequest by_certificate;
  by_certificate.path = "/v2/keys" + key;
  by_certificate.client = "conftool";
  const HttpResponse response = Https(port(), by_certificate);
  EXPECT_EQ(response.status, 200) << response.body << response.error;
  EXPECT_NE(response.body.find("shown"), std::string::npos) << response.body;
}

TEST_F(PrivateReadsTest, IdentityNotOnTheRuleIs403) {
  const std::string key = "/" + UniqueName("rootonly");
  ASSERT_TRUE(etcd().Put(key, "hidden"));
  const HttpResponse response = HttpsGet(port(), "/v2/keys" + key, "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(response));
  EXPECT_EQ(response.body.find("hidden"), std::string::npos);

  const HttpResponse root = HttpsGet(port(), "/v2/keys" + key, "root", kRootPassword);
  EXPECT_EQ(root.status, 200) << root.body;
}

TEST_F(PrivateReadsTest, ReadEndpointsOutsideKeysFollowTheSetting) {
  for (const std::string path : {"/version", "/v2/members", "/v2/stats/self"}) {
    EXPECT_TRUE(IsUnauthorized(HttpsGet(port(), path))) << path;
    const HttpResponse root = HttpsGet(port(), path, "root", kRootPassword);
    EXPECT_EQ(root.status, 200) << path << ": " << root.body;
  }
}

}  // namespace
}  // namespace tlsproxy::integration
