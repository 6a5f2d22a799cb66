// A wrong password, an unknown user or a malformed Authorization header is
// 401 on every path, read or write, even on a rule with an empty list and
// even when a valid client certificate comes with it.
#include <cctype>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class WrongPasswordTest : public SharedProxyTest {};

TEST_F(WrongPasswordTest, ReadIs401) {
  const std::string key = "/" + UniqueName("read");
  ASSERT_TRUE(etcd().Put(key, "v"));
  EXPECT_TRUE(IsUnauthorized(HttpsGet(port(), "/v2/keys" + key, "root", "wrong")));
  EXPECT_TRUE(IsUnauthorized(HttpsGet(port(), "/v2/keys" + key, "conftool", kRootPassword)));
  EXPECT_TRUE(IsUnauthorized(HttpsGet(port(), "/v2/keys" + key, "mallory", "x")));
  EXPECT_TRUE(IsUnauthorized(HttpsGet(port(), "/version", "root", "wrong")));
}

TEST_F(WrongPasswordTest, WriteIs401AndNothingChanges) {
  for (const std::string prefix : {"", "/conftool", "/eventlogging"}) {
    const std::string key = prefix + "/" + UniqueName("write");
    EXPECT_TRUE(IsUnauthorized(HttpsPut(port(), "/v2/keys" + key, "x", "root", "wrong"))) << key;
    EXPECT_TRUE(IsUnauthorized(HttpsPut(port(), "/v2/keys" + key, "x", "mallory", "x"))) << key;
    EXPECT_TRUE(etcd().Missing(key)) << key;
  }
}

TEST_F(WrongPasswordTest, ValidCertificateDoesNotRescueAWrongPassword) {
  const std::string key = "/conftool/" + UniqueName("cert");
  ASSERT_TRUE(etcd().Put(key, "keep"));
  for (const std::string client : {"root", "conftool"}) {
    HttpsRequest write;
    write.method = "PUT";
    write.path = "/v2/keys" + key;
    write.body = "value=changed";
    write.client = client;
    write.user = "root";
    write.password = "wrong";
    EXPECT_TRUE(IsUnauthorized(Https(port(), write))) << client;
    EXPECT_EQ(etcd().ValueOf(key), "keep") << client;

    HttpsRequest read = write;
    read.method = "GET";
    read.body.clear();
    EXPECT_TRUE(IsUnauthorized(Https(port(), read))) << client;
  }
}

TEST_F(WrongPasswordTest, MalformedAuthorizationIs401) {
  const std::string key = "/eventlogging/" + UniqueName("malformed");
  for (const std::string& header :
       {std::string("Authorization: Basic !!!notbase64"),
        "Authorization: Basic " + Base64("no-colon"), std::string("Authorization: Basic"),
        "Authorization: Basic " + Base64(":")}) {
    HttpsRequest request;
    request.method = "PUT";
    request.path = "/v2/keys" + key;
    request.body = "value=x";
    request.headers = {header};
    EXPECT_TRUE(IsUnauthorized(Https(port(), request))) << header;
    EXPECT_TRUE(etcd().Missing(key)) << header;
  }
}

TEST_F(WrongPasswordTest, PasswordIsCaseSensitiveAndExact) {
  const std::string key = "/" + UniqueName("exact");
  std::string upper = kRootPassword;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& password : {upper, std::string(kRootPassword) + "x",
                                      std::string(kRootPassword).substr(1), std::string()}) {
    EXPECT_TRUE(IsUnauthorized(HttpsPut(port(), "/v2/keys" + key, "x", "root", password)))
        << "'" << password << "'";
  }
  EXPECT_TRUE(etcd().Missing(key));
}

}  // namespace
}  // namespace tlsproxy::integration
