// Absolute-form request targets (`PUT https://host:port/v2/keys/x
// HTTP/1.1`) go through the same canonicalisation and ACL, and are forwarded
// when allowed.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class AbsoluteFormTest : public SharedProxyTest {
 protected:
  static RawResponse Put(const std::string& path, const std::string& user,
                         const std::string& password) {
    const std::string authority = "localhost:" + std::to_string(port());
    const std::string body = "value=abs";
    return RawTls(port(), "PUT https://" + authority + path +
                              " HTTP/1.1\r\n"
                              "Host: " +
                              authority + "\r\n" + BasicAuthHeader(user, password) +
                              "\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }
};

TEST_F(AbsoluteFormTest, AllowedWriteIsForwarded) {
  const std::string key = "/conftool/" + UniqueName("abs");
  const RawResponse response = Put("/v2/keys" + key, "conftool", kConftoolPassword);
  EXPECT_EQ(response.status, 201) << response.raw;
  EXPECT_EQ(etcd().ValueOf(key), "abs");
}

TEST_F(AbsoluteFormTest, RefusedWriteIsNot) {
  const std::string key = "/" + UniqueName("abs");
  const RawResponse response = Put("/v2/keys" + key, "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(response)) << response.raw;
  EXPECT_TRUE(etcd().Missing(key));

  const std::string secret = "/conftool/secret/" + UniqueName("abs");
  EXPECT_TRUE(IsForbidden(Put("/v2/keys" + secret, "conftool", kConftoolPassword)));
  EXPECT_TRUE(etcd().Missing(secret));
}

TEST_F(AbsoluteFormTest, NonCanonicalPathIs400) {
  const std::string name = UniqueName("abs");
  const RawResponse response = Put("/v2/keys/conftool/../" + name, "conftool", kConftoolPassword);
  EXPECT_TRUE(IsJsonError(response, 400)) << response.raw;
  EXPECT_TRUE(etcd().Missing("/" + name));
}

}  // namespace
}  // namespace tlsproxy::integration
