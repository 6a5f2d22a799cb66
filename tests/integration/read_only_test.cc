// read_only: true: every write, whoever sends it and wherever, is 403 with
// etcd's errorCode 107 body; reads still work.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class ReadOnlyTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.read_only = true;
    StartShared(options);
  }
};

TEST_F(ReadOnlyTest, EveryWriteIsRefusedWith107) {
  const std::string root_key = "/" + UniqueName("ro");
  EXPECT_TRUE(
      IsReadOnlyRefusal(HttpsPut(port(), "/v2/keys" + root_key, "x", "root", kRootPassword)));
  EXPECT_TRUE(etcd().Missing(root_key));

  const std::string conftool_key = "/conftool/" + UniqueName("ro");
  EXPECT_TRUE(IsReadOnlyRefusal(
      HttpsPut(port(), "/v2/keys" + conftool_key, "x", "conftool", kConftoolPassword)));
  EXPECT_TRUE(etcd().Missing(conftool_key));

  const std::string open_key = "/eventlogging/" + UniqueName("ro");
  EXPECT_TRUE(IsReadOnlyRefusal(HttpsPut(port(), "/v2/keys" + open_key, "x")));
  EXPECT_TRUE(etcd().Missing(open_key));

  HttpsRequest by_cert;
  by_cert.method = "POST";
  by_cert.path = "/v2/keys/conftool/" + UniqueName("ro");
  by_cert.body = "value=x";
  by_cert.client = "root";
  EXPECT_TRUE(IsReadOnlyRefusal(Https(port(), by_cert)));
  EXPECT_TRUE(etcd().Missing(by_cert.path.substr(8)));
}

TEST_F(ReadOnlyTest, DeleteIsRefusedAndTheKeyStays) {
  const std::string key = "/conftool/" + UniqueName("ro");
  ASSERT_TRUE(etcd().Put(key, "keep"));
  EXPECT_TRUE(IsReadOnlyRefusal(HttpsDelete(port(), "/v2/keys" + key, "root", kRootPassword)));
  EXPECT_TRUE(IsReadOnlyRefusal(
      HttpsDelete(port(), "/v2/keys/conftool?recursive=true", "root", kRootPassword)));
  EXPECT_EQ(etcd().ValueOf(key), "keep");
}

TEST_F(ReadOnlyTest, V3WriteIsRefused) {
  const std::string key = "/" + UniqueName("v3ro");
  HttpsRequest request;
  request.method = "POST";
  request.path = "/v3/kv/put";
  request.body = "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64("x") + "\"}";
  request.user = "root";
  request.password = kRootPassword;
  // The v3 gateway's refusals have its own JSON shape; the status is 403.
  EXPECT_TRUE(IsJsonError(Https(port(), request), 403));
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(ReadOnlyTest, ReadsStillWork) {
  const std::string key = "/" + UniqueName("ro");
  ASSERT_TRUE(etcd().Put(key, "readable"));
  const HttpResponse response = HttpsGet(port(), "/v2/keys" + key);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_NE(response.body.find("readable"), std::string::npos);
  EXPECT_EQ(HttpsGet(port(), "/version").status, 200);
}

}  // namespace
}  // namespace tlsproxy::integration
