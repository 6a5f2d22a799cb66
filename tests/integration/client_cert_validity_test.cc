// A client certificate gives an identity only when it verifies: signed by
// tls.client_ca, within its validity period, not revoked by tls.crl, and
// meant for client authentication. Each bad certificate below has CN=root,
// so a proxy that took its CN would let it write anywhere:
//   revoked     listed in crl.pem (tls.crl)
//   expired     valid 2020-01-01 to 2020-01-02
//   notyet      valid from 2100-01-01
//   rogue       signed by a CA the proxy does not trust
//   serverauth  extendedKeyUsage serverAuth only
//   nosign      keyUsage keyEncipherment only (no digitalSignature)
// With require_client_cert: true the handshake fails (nothing written);
// with false the request goes on anonymously (a root-only write is 401,
// etcd unchanged; a public read still works). The valid root certificate
// works in the same configurations, so these tests can fail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

const std::vector<std::string> kBadCertificates = {"revoked", "expired",    "notyet",
                                                   "rogue",   "serverauth", "nosign"};

HttpsRequest PutAs(const std::string& client, const std::string& key, const std::string& value) {
  HttpsRequest request;
  request.method = "PUT";
  request.path = "/v2/keys" + key;
  request.body = "value=" + value;
  request.client = client;
  return request;
}

// Handshakes with the certificate `client` and reads: the OpenSSL errors
// seen (a refusal shows as "... alert <description>"), or "" when the
// server accepted the certificate. Sends nothing, so that the server's
// alert is read, not a write error.
std::string ServerAlert(uint16_t port, const std::string& client) {
  const Certificates& certs = TestCertificates();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return "SSL_CTX_new failed";
  SSL_CTX_load_verify_locations(ctx, certs.ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_use_certificate_file(ctx, certs.ClientCert(client).c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_use_PrivateKey_file(ctx, certs.ClientKey(client).c_str(), SSL_FILETYPE_PEM);
  std::string errors;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    errors = "connect failed";
  } else {
    timeval timeout{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    ERR_clear_error();
    // TLS 1.3: the client's handshake ends before the server has checked
    // the certificate; its verdict arrives with the first read.
    if (SSL_connect(ssl) == 1) {
      char byte = 0;
      SSL_read(ssl, &byte, 1);
    }
    for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
      char text[256];
      ERR_error_string_n(e, text, sizeof text);
      errors += std::string(text) + "; ";
    }
    SSL_free(ssl);
  }
  if (fd >= 0) close(fd);
  SSL_CTX_free(ctx);
  return errors;
}

// require_client_cert: false, with the CRL.
class ClientCertValidityOptionalTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.require_client_cert = false;
    options.crl = true;
    StartShared(options);
  }

  // The bad certificate `client` is no identity: a write of a root-only key
  // is 401 and etcd is unchanged, over libcurl and over a raw connection.
  void ExpectAnonymous(const std::string& client) {
    SCOPED_TRACE("client certificate " + client);
    const std::string fresh = "/" + UniqueName("cert-" + client);
    const HttpResponse write = Https(port(), PutAs(client, fresh, "pwned"));
    EXPECT_TRUE(IsUnauthorized(write)) << "error: " << write.error;
    EXPECT_TRUE(etcd().Missing(fresh));

    const std::string existing = "/conftool/secret/" + UniqueName("cert-" + client);
    ASSERT_TRUE(etcd().Put(existing, "orig"));
    const HttpResponse overwrite = Https(port(), PutAs(client, existing, "pwned"));
    EXPECT_TRUE(IsUnauthorized(overwrite)) << "error: " << overwrite.error;
    const RawResponse raw = RawTls(
        port(),
        "DELETE /v2/keys" + existing + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        client);
    EXPECT_TRUE(IsUnauthorized(raw)) << raw.raw << raw.error;
    EXPECT_EQ(etcd().ValueOf(existing), "orig");

    // The v3 gateway too: no identity, no write.
    HttpsRequest v3;
    v3.method = "POST";
    v3.path = "/v3/kv/put";
    v3.body = "{\"key\":\"" + Base64(fresh) + "\",\"value\":\"" + Base64("pwned") + "\"}";
    v3.headers = {"Content-Type: application/json"};
    v3.client = client;
    const HttpResponse v3_write = Https(port(), v3);
    EXPECT_EQ(v3_write.status, 401) << v3_write.body << v3_write.error;
    EXPECT_EQ(etcd().V3ValueOf(fresh), std::nullopt);

    // The handshake itself went through: the client is served anonymously.
    HttpsRequest read;
    read.path = "/v2/keys" + existing;
    read.client = client;
    const HttpResponse response = Https(port(), read);
    EXPECT_EQ(response.status, 200) << response.body << response.error;
  }
};

TEST_F(ClientCertValidityOptionalTest, RevokedCertificateIsAnonymous) {
  ExpectAnonymous("revoked");
}
TEST_F(ClientCertValidityOptionalTest, ExpiredCertificateIsAnonymous) {
  ExpectAnonymous("expired");
}
TEST_F(ClientCertValidityOptionalTest, NotYetValidCertificateIsAnonymous) {
  ExpectAnonymous("notyet");
}
TEST_F(ClientCertValidityOptionalTest, WrongCaCertificateIsAnonymous) { ExpectAnonymous("rogue"); }
TEST_F(ClientCertValidityOptionalTest, ServerAuthOnlyCertificateIsAnonymous) {
  ExpectAnonymous("serverauth");
}
TEST_F(ClientCertValidityOptionalTest, NoDigitalSignatureKeyUsageIsAnonymous) {
  ExpectAnonymous("nosign");
}

TEST_F(ClientCertValidityOptionalTest, BadCertificateWithPasswordIsThePasswordsIdentity) {
  // The password still counts; the certificate adds nothing (conftool may
  // not write /conftool/secret, which root's certificate could).
  for (const std::string& client : kBadCertificates) {
    SCOPED_TRACE(client);
    const std::string key = "/conftool/secret/" + UniqueName("cert-" + client);
    HttpsRequest request = PutAs(client, key, "pwned");
    request.user = "conftool";
    request.password = kConftoolPassword;
    const HttpResponse response = Https(port(), request);
    EXPECT_TRUE(IsForbidden(response)) << "error: " << response.error;
    EXPECT_TRUE(etcd().Missing(key));
  }
}

TEST_F(ClientCertValidityOptionalTest, ValidCertificateStillIdentifies) {
  const std::string key = "/conftool/secret/" + UniqueName("cert-valid");
  const HttpResponse response = Https(port(), PutAs("root", key, "by-cert"));
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "by-cert");

  const std::string other = "/" + UniqueName("cert-valid");
  const RawResponse raw = RawTls(port(),
                                 "PUT /v2/keys" + other +
                                     " HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                                     "application/x-www-form-urlencoded\r\nContent-Length: "
                                     "7\r\nConnection: close\r\n\r\nvalue=r",
                                 std::string("root"));
  EXPECT_EQ(raw.status, 201) << raw.raw << raw.error;
  EXPECT_EQ(etcd().ValueOf(other), "r");
}

// require_client_cert: true, with the CRL.
class ClientCertValidityRequiredTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.require_client_cert = true;
    options.crl = true;
    StartShared(options);
  }

  // No handshake with the bad certificate `client`: libcurl fails, a raw
  // client gets no response, even with root's password; nothing is written.
  // `alert` is the TLS alert the proxy sends for this certificate: it
  // shows the certificate was presented and refused for that reason.
  void ExpectNoHandshake(const std::string& client, const std::string& alert) {
    SCOPED_TRACE("client certificate " + client);
    const std::string key = "/" + UniqueName("cert-" + client);
    HttpsRequest request = PutAs(client, key, "pwned");
    request.user = "root";
    request.password = kRootPassword;
    const HttpResponse write = Https(port(), request);
    EXPECT_EQ(write.status, 0) << write.body;
    EXPECT_FALSE(write.error.empty());
    const std::string seen = ServerAlert(port(), client);
    EXPECT_NE(seen.find("alert " + alert), std::string::npos) << seen;

    HttpsRequest read;
    read.path = "/version";
    read.client = client;
    const HttpResponse response = Https(port(), read);
    EXPECT_EQ(response.status, 0) << response.body;

    const RawResponse raw = RawTls(
        port(),
        "PUT /v2/keys" + key +
            " HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: 11\r\n" +
            BasicAuthHeader("root", kRootPassword) + "\r\nConnection: close\r\n\r\nvalue=pwned",
        client);
    EXPECT_EQ(raw.status, 0) << raw.raw;
    EXPECT_TRUE(etcd().Missing(key));
  }
};

TEST_F(ClientCertValidityRequiredTest, RevokedCertificateNoHandshake) {
  ExpectNoHandshake("revoked", "certificate revoked");
}
TEST_F(ClientCertValidityRequiredTest, ExpiredCertificateNoHandshake) {
  ExpectNoHandshake("expired", "certificate expired");
}
TEST_F(ClientCertValidityRequiredTest, NotYetValidCertificateNoHandshake) {
  ExpectNoHandshake("notyet", "bad certificate");
}
TEST_F(ClientCertValidityRequiredTest, WrongCaCertificateNoHandshake) {
  ExpectNoHandshake("rogue", "unknown ca");
}
TEST_F(ClientCertValidityRequiredTest, ServerAuthOnlyCertificateNoHandshake) {
  ExpectNoHandshake("serverauth", "unsupported certificate");
}
TEST_F(ClientCertValidityRequiredTest, NoDigitalSignatureKeyUsageNoHandshake) {
  ExpectNoHandshake("nosign", "unsupported certificate");
}

TEST_F(ClientCertValidityRequiredTest, ValidCertificateWorks) {
  EXPECT_EQ(ServerAlert(port(), "root"), "");
  const std::string key = "/conftool/secret/" + UniqueName("cert-valid");
  const HttpResponse response = Https(port(), PutAs("root", key, "by-cert"));
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "by-cert");

  HttpsRequest read;
  read.path = "/v2/keys" + key;
  read.client = "conftool";
  EXPECT_EQ(Https(port(), read).status, 200);
}

// Without tls.crl the revoked certificate is an ordinary valid one: proof
// that the refusals above come from the CRL (and that it names root).
class ClientCertValidityWithoutCrlTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.require_client_cert = true;
    StartShared(options);
  }
};

TEST_F(ClientCertValidityWithoutCrlTest, RevokedCertificateVerifiesWithoutTheCrl) {
  const std::string key = "/" + UniqueName("cert-nocrl");
  const HttpResponse response = Https(port(), PutAs("revoked", key, "root-by-cert"));
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "root-by-cert");
}

}  // namespace
}  // namespace tlsproxy::integration
