// A verified client certificate's CN is an identity: the conftool
// certificate writes /conftool with no password, the root certificate writes
// anywhere. A certificate from a CA the proxy does not trust never names
// anyone, even though its CN is "root".
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class ClientCertIdentityTest : public SharedProxyTest {};

HttpsRequest PutAs(const std::string& client, const std::string& key, const std::string& value) {
  HttpsRequest request;
  request.method = "PUT";
  request.path = "/v2/keys" + key;
  request.body = "value=" + value;
  request.client = client;
  return request;
}

TEST_F(ClientCertIdentityTest, ConftoolCertificateWritesUnderConftool) {
  const std::string key = "/conftool/" + UniqueName("cert");
  const HttpResponse response = Https(port(), PutAs("conftool", key, "bycert"));
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "bycert");
}

TEST_F(ClientCertIdentityTest, ConftoolCertificateIsRefusedElsewhere) {
  for (const std::string& key : {"/" + UniqueName("cert"), "/conftool/secret/" + UniqueName("c")}) {
    const HttpResponse response = Https(port(), PutAs("conftool", key, "x"));
    EXPECT_TRUE(IsForbidden(response)) << key;
    EXPECT_TRUE(etcd().Missing(key)) << key;
  }
}

TEST_F(ClientCertIdentityTest, RootCertificateWritesAnywhere) {
  const std::string key = "/conftool/secret/" + UniqueName("cert");
  const HttpResponse response = Https(port(), PutAs("root", key, "r"));
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "r");
}

TEST_F(ClientCertIdentityTest, CertificateAndPasswordEitherIdentityAllows) {
  // conftool's certificate with root's password: root is listed on /.
  const std::string key = "/" + UniqueName("both");
  HttpsRequest request = PutAs("conftool", key, "b");
  request.user = "root";
  request.password = kRootPassword;
  const HttpResponse response = Https(port(), request);
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "b");
}

TEST_F(ClientCertIdentityTest, UntrustedCaCertificateIsNoIdentity) {
  // require_client_cert is false: the rogue certificate (CN=root, another
  // CA) must not identify; the client is anonymous.
  const std::string key = "/" + UniqueName("rogue");
  const HttpResponse write = Https(port(), PutAs("rogue", key, "pwned"));
  EXPECT_TRUE(IsUnauthorized(write)) << "error: " << write.error;
  EXPECT_TRUE(etcd().Missing(key));

  ASSERT_TRUE(etcd().Put(key, "public"));
  HttpsRequest read;
  read.path = "/v2/keys" + key;
  read.client = "rogue";
  const HttpResponse response = Https(port(), read);
  EXPECT_EQ(response.status, 200) << response.body << response.error;
}

TEST_F(ClientCertIdentityTest, UntrustedCaCertificateNeverWrites) {
  // Whatever the proxy does with the handshake, nothing is written.
  const std::string key = "/conftool/secret/" + UniqueName("rogue");
  const HttpResponse write = Https(port(), PutAs("rogue", key, "pwned"));
  EXPECT_TRUE(write.status == 0 || write.status == 401) << write.status << " " << write.body;
  EXPECT_TRUE(etcd().Missing(key));
}

}  // namespace
}  // namespace tlsproxy::integration
