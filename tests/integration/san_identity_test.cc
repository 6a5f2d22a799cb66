// tls.identity (issue 14) against a real etcd: a verified client
// certificate's name comes from a URI SAN (tls.identity_prefix stripped), a
// DNS SAN or the CN, in the configured order, and then decides like any
// identity, over v2 and gRPC. Several names of the chosen kind, a URI
// outside the prefix, a name with a control byte or an over-long one give
// no identity: the handshake succeeds and the client is anonymous (401 on a
// write, public reads still work). The access log shows SAN names escaped.
// The certificates are described in scripts/make-certs.sh.
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/access_log_reader.h"
#include "tests/integration/etcdctl_v3.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// The proxy's default ACL (harness.h): /: [root], /conftool: [root,
// conftool], /conftool/secret: [root], /eventlogging: [].
ProxyOptions IdentityOptions(const std::string& identity) {
  ProxyOptions options;
  options.tls_yaml = "  identity: " + identity +
                     "\n"
                     "  identity_prefix: \"spiffe://example.org/ns/prod/sa/\"\n";
  return options;
}

HttpsRequest PutAs(const std::string& client, const std::string& key) {
  HttpsRequest put;
  put.method = "PUT";
  put.path = "/v2/keys" + key;
  put.body = "value=by-" + client;
  put.client = client;
  return put;
}

// One v2 PUT by a client certificate under a prefix (the key is made
// unique), and what must come of it.
struct Write {
  std::string client;
  std::string under;     // "/conftool/", "/": the key is under + a unique name
  std::string identity;  // the access log's identity: "cert:NAME", or "-" for none
  bool allowed;          // 201 and etcd has the value; else 403 (an identity)
                         // or 401 (none), and etcd has no key
};

void ExpectWrites(const ProxyProcess& proxy, const EtcdServer& etcd,
                  const std::vector<Write>& writes) {
  for (const Write& write : writes) {
    const std::string key = write.under + UniqueName("san");
    SCOPED_TRACE(write.client + " PUT " + key);
    const long status = write.allowed ? 201 : write.identity == "-" ? 401 : 403;
    const size_t offset = proxy.Logs().size();
    const HttpResponse response = Https(proxy.port(), PutAs(write.client, key));
    EXPECT_EQ(response.status, status) << response.body << response.error;
    const std::optional<AccessFields> line = AccessLineOf(proxy, offset, "PUT", "/v2/keys" + key);
    ASSERT_TRUE(line);
    EXPECT_EQ(line->at("identity"), write.identity);
    EXPECT_EQ(line->at("status"), std::to_string(status));
    if (write.allowed) {
      EXPECT_EQ(etcd.ValueOf(key), "by-" + write.client);
    } else {
      EXPECT_TRUE(etcd.Missing(key));
    }
  }
}

constexpr bool kAllowed = true;
constexpr bool kRefused = false;

// --- identity: uri_san, one proxy for the suite --------------------------------------

class UriSanIdentityTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() { StartShared(IdentityOptions("uri_san")); }
};

TEST_F(UriSanIdentityTest, UriNameWritesUnderItsRuleOnly) {
  ExpectWrites(proxy(), etcd(),
               {
                   {"uri-conftool", "/conftool/", "cert:conftool", kAllowed},
                   {"uri-conftool", "/", "cert:conftool", kRefused},
                   {"uri-conftool", "/conftool/secret/", "cert:conftool", kRefused},
                   // CN=root, URI .../sa/nobody: the URI decides, and names nobody on a rule.
                   {"root-uri-nobody", "/", "cert:nobody", kRefused},
               });
}

TEST_F(UriSanIdentityTest, CommonNameIsNotReadWhenNotListed) {
  ExpectWrites(proxy(), etcd(),
               {
                   // CN=conftool and CN=root, no URI SAN: only uri_san is configured.
                   {"conftool", "/conftool/", "-", kRefused},
                   {"root", "/", "-", kRefused},
               });
}

TEST_F(UriSanIdentityTest, UnusableNamesGiveNoIdentity) {
  const std::string key = "/conftool/" + UniqueName("public");
  ASSERT_TRUE(etcd().Put(key, "public"));
  // Two URIs, a URI outside the prefix, a line feed, 300 bytes: the
  // handshake succeeds, the client is anonymous.
  for (const std::string client : {"uri-two", "uri-outside", "uri-newline", "uri-long"}) {
    SCOPED_TRACE(client);
    ExpectWrites(proxy(), etcd(), {{client, "/conftool/", "-", kRefused}});
    HttpsRequest read;
    read.path = "/v2/keys" + key;
    read.client = client;
    const HttpResponse response = Https(port(), read);
    EXPECT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_TRUE(Contains(response.body, "\"value\":\"public\"")) << response.body;
  }
  EXPECT_FALSE(Contains(proxy().Logs(), "forged")) << "the line feed's tail reached the log";
}

TEST_F(UriSanIdentityTest, UriNameIsEscapedInTheAccessLog) {
  // The URI holds quotes and the byte 0xe9, which OpenSSL reads as U+00E9:
  // the name is the forger CN's, and must not forge a field.
  const std::string key = "/eventlogging/" + UniqueName("forger");
  const size_t offset = proxy().Logs().size();
  const HttpResponse response = Https(port(), PutAs("uri-forger", key));
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  const std::optional<AccessFields> line = AccessLineOf(proxy(), offset, "PUT", "/v2/keys" + key);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->at("identity"), std::string("cert:") + kForgerCommonName);
  EXPECT_EQ(line->at("status"), "201");
  EXPECT_EQ(line->at("rule"), "/eventlogging");
  EXPECT_EQ(etcd().ValueOf(key), "by-uri-forger");
}

TEST_F(UriSanIdentityTest, GrpcUsesTheUriName) {
  const std::string mine = "/conftool/" + UniqueName("grpc");
  const CommandResult put = Etcdctl(port(), "uri-conftool", {"put", mine, "by-uri"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(etcd().V3ValueOf(mine), "by-uri");

  const std::string top = "/" + UniqueName("grpc");
  const CommandResult refused = Etcdctl(port(), "uri-conftool", {"put", top, "x"});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  EXPECT_EQ(etcd().V3ValueOf(top), std::nullopt);

  // Two URIs: anonymous over gRPC too.
  const std::string other = "/conftool/" + UniqueName("grpc");
  const CommandResult anonymous = Etcdctl(port(), "uri-two", {"put", other, "x"});
  EXPECT_NE(anonymous.exit_code, 0) << anonymous.output;
  EXPECT_TRUE(Contains(anonymous.output, "user name is empty")) << anonymous.output;
  EXPECT_EQ(etcd().V3ValueOf(other), std::nullopt);
}

// --- dns_san and ordered lists: a proxy each -----------------------------------------

TEST(IdentityKindsTest, EachConfigurationReadsTheFirstKindPresent) {
  struct Configuration {
    std::string identity;
    std::vector<Write> writes;
  };
  const std::vector<Configuration> configurations = {
      {"dns_san",
       {
           {"dns-conftool", "/conftool/", "cert:conftool", kAllowed},
           {"dns-conftool", "/", "cert:conftool", kRefused},
           // A URI SAN or a CN is not a DNS SAN.
           {"uri-conftool", "/conftool/", "-", kRefused},
           {"conftool", "/conftool/", "-", kRefused},
       }},
      {"[uri_san, cn]",
       {
           // CN=root is never tried: the URI names nobody.
           {"root-uri-nobody", "/", "cert:nobody", kRefused},
           // No URI SAN: the CN, which is listed.
           {"root", "/", "cert:root", kAllowed},
           {"uri-conftool", "/conftool/", "cert:conftool", kAllowed},
       }},
      {"[cn, uri_san]",
       {
           {"root-uri-nobody", "/", "cert:root", kAllowed},
           // Every certificate has a CN: uri-client is on no rule.
           {"uri-conftool", "/conftool/", "cert:uri-client", kRefused},
       }},
  };
  for (const Configuration& configuration : configurations) {
    SCOPED_TRACE("identity: " + configuration.identity);
    Stack stack;
    ASSERT_TRUE(stack.Start(IdentityOptions(configuration.identity)));
    ExpectWrites(stack.proxy, stack.etcd, configuration.writes);
    EXPECT_TRUE(stack.proxy.Stop());
  }
}

}  // namespace
}  // namespace tlsproxy::integration
