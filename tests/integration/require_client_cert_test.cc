// tls.require_client_cert: true: no valid client certificate, no handshake
// (so no request at all, not even a read or a request with a good
// password); a trusted certificate works as usual.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class RequireClientCertTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.require_client_cert = true;
    StartShared(options);
  }
};

TEST_F(RequireClientCertTest, NoCertificateNoHandshake) {
  const std::string key = "/" + UniqueName("nocert");
  const HttpResponse write = HttpsPut(port(), "/v2/keys" + key, "x", "root", kRootPassword);
  EXPECT_EQ(write.status, 0) << write.body;
  EXPECT_FALSE(write.error.empty());
  EXPECT_TRUE(etcd().Missing(key));

  const HttpResponse read = HttpsGet(port(), "/version");
  EXPECT_EQ(read.status, 0) << read.body;

  const RawResponse raw =
      RawTls(port(), "GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.status, 0) << raw.raw;
}

TEST_F(RequireClientCertTest, UntrustedCaCertificateNoHandshake) {
  const std::string key = "/" + UniqueName("rogue");
  HttpsRequest request;
  request.method = "PUT";
  request.path = "/v2/keys" + key;
  request.body = "value=x";
  request.client = "rogue";
  const HttpResponse write = Https(port(), request);
  EXPECT_EQ(write.status, 0) << write.body;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(RequireClientCertTest, TrustedCertificateWorks) {
  const std::string key = "/conftool/" + UniqueName("cert");
  HttpsRequest request;
  request.method = "PUT";
  request.path = "/v2/keys" + key;
  request.body = "value=ok";
  request.client = "conftool";
  const HttpResponse write = Https(port(), request);
  EXPECT_EQ(write.status, 201) << write.body << write.error;
  EXPECT_EQ(etcd().ValueOf(key), "ok");

  HttpsRequest read;
  read.path = "/v2/keys" + key;
  read.client = "conftool";
  EXPECT_EQ(Https(port(), read).status, 200);
}

}  // namespace
}  // namespace tlsproxy::integration
