// tls.protocols, tls.ciphers and tls.groups decide what a real OpenSSL
// client can negotiate: a version outside `protocols` fails the handshake,
// TLS 1.2 uses only the configured suites, and the key exchange uses a
// configured group even when the client prefers another.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// What a client saw of one handshake.
struct Handshake {
  bool ok = false;
  std::string error;  // OpenSSL's reason when !ok
  int version = 0;    // TLS1_2_VERSION, TLS1_3_VERSION
  int group = 0;      // NID of the key-exchange group
  std::string cipher;
};

// What the client offers; empty strings mean OpenSSL's defaults.
struct ClientOffer {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string groups;
  std::string ciphers;  // TLS 1.2 suites
};

// One handshake with 127.0.0.1:port as "localhost", verifying the server
// against ca.pem; bounded by 10 s socket timeouts.
Handshake Connect(uint16_t port, const ClientOffer& offer) {
  Handshake result;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), offer.min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), offer.max_version);
  SSL_CTX_load_verify_locations(ctx.get(), TestCertificates().ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!offer.groups.empty()) SSL_CTX_set1_groups_list(ctx.get(), offer.groups.c_str());
  if (!offer.ciphers.empty()) SSL_CTX_set_cipher_list(ctx.get(), offer.ciphers.c_str());
  const int fd = TcpConnect(port);
  if (fd < 0) {
    result.error = "cannot connect";
    return result;
  }
  const timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  ERR_clear_error();
  if (SSL_connect(ssl.get()) == 1) {
    result.ok = true;
    result.version = SSL_version(ssl.get());
    result.group = static_cast<int>(SSL_get_negotiated_group(ssl.get()));
    result.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl.get()));
    SSL_shutdown(ssl.get());
  } else {
    char reason[256];
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    result.error = reason;
  }
  close(fd);
  return result;
}

// A proxy with `tls_yaml` in its `tls` section; etcd is not needed for a
// handshake (nothing listens on the upstream port).
::testing::AssertionResult StartWith(ProxyProcess& proxy, const std::string& tls_yaml) {
  ProxyOptions options;
  options.upstream_port = FreePort();
  options.tls_yaml = tls_yaml;
  return proxy.Start(options);
}

ClientOffer Only(int version) {
  ClientOffer offer;
  offer.min_version = version;
  offer.max_version = version;
  return offer;
}

TEST(TlsSettingsTest, Tls12OnlyRefusesATls13OnlyClient) {
  ProxyProcess proxy;
  ASSERT_TRUE(StartWith(proxy, "  protocols: [TLSv1.2]\n"));
  const Handshake tls13 = Connect(proxy.port(), Only(TLS1_3_VERSION));
  EXPECT_FALSE(tls13.ok) << "a TLS 1.3-only client negotiated " << tls13.version;
  const Handshake any = Connect(proxy.port(), ClientOffer{});
  ASSERT_TRUE(any.ok) << any.error;
  EXPECT_EQ(any.version, TLS1_2_VERSION);
  EXPECT_TRUE(proxy.Stop());
}

TEST(TlsSettingsTest, Tls13OnlyRefusesATls12OnlyClient) {
  ProxyProcess proxy;
  ASSERT_TRUE(StartWith(proxy, "  protocols: [TLSv1.3]\n"));
  const Handshake tls12 = Connect(proxy.port(), Only(TLS1_2_VERSION));
  EXPECT_FALSE(tls12.ok) << "a TLS 1.2-only client negotiated " << tls12.version;
  const Handshake any = Connect(proxy.port(), ClientOffer{});
  ASSERT_TRUE(any.ok) << any.error;
  EXPECT_EQ(any.version, TLS1_3_VERSION);
  EXPECT_TRUE(proxy.Stop());
}

TEST(TlsSettingsTest, DefaultSpeaksBothVersions) {
  ProxyProcess proxy;
  ASSERT_TRUE(StartWith(proxy, ""));
  const Handshake tls12 = Connect(proxy.port(), Only(TLS1_2_VERSION));
  ASSERT_TRUE(tls12.ok) << tls12.error;
  EXPECT_EQ(tls12.version, TLS1_2_VERSION);
  const Handshake tls13 = Connect(proxy.port(), Only(TLS1_3_VERSION));
  ASSERT_TRUE(tls13.ok) << tls13.error;
  EXPECT_EQ(tls13.version, TLS1_3_VERSION);
  // The client prefers X25519 and so does OpenSSL's default list.
  EXPECT_EQ(tls13.group, NID_X25519) << OBJ_nid2sn(tls13.group);
  EXPECT_TRUE(proxy.Stop());
}

TEST(TlsSettingsTest, ConfiguredGroupIsNegotiated) {
  ProxyProcess proxy;
  ASSERT_TRUE(StartWith(proxy, "  groups: [P-256]\n"));
  ClientOffer offer;
  offer.groups = "X25519:P-256";  // X25519 preferred, as most clients do
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    offer.min_version = offer.max_version = version;
    const Handshake handshake = Connect(proxy.port(), offer);
    ASSERT_TRUE(handshake.ok) << handshake.error;
    EXPECT_EQ(handshake.group, NID_X9_62_prime256v1)
        << "version " << version << " negotiated " << OBJ_nid2sn(handshake.group);
  }
  offer.groups = "X25519";  // no group in common
  EXPECT_FALSE(Connect(proxy.port(), offer).ok);
  EXPECT_TRUE(proxy.Stop());
}

TEST(TlsSettingsTest, Tls12UsesOnlyTheConfiguredCiphers) {
  ProxyProcess proxy;
  ASSERT_TRUE(StartWith(proxy, "  ciphers: \"ECDHE-ECDSA-CHACHA20-POLY1305\"\n"));
  const Handshake chosen = Connect(proxy.port(), Only(TLS1_2_VERSION));
  ASSERT_TRUE(chosen.ok) << chosen.error;
  EXPECT_EQ(chosen.cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
  ClientOffer other = Only(TLS1_2_VERSION);
  other.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  EXPECT_FALSE(Connect(proxy.port(), other).ok);
  // TLS 1.3 suites are not governed by tls.ciphers.
  EXPECT_TRUE(Connect(proxy.port(), Only(TLS1_3_VERSION)).ok);
  EXPECT_TRUE(proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
