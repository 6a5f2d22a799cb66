// The ACL decides on the key etcd will act on: the path is percent-decoded
// once; dot segments, empty segments, an encoded '/', a backslash or a NUL
// are refused with 400 (JSON) before any ACL decision and never forwarded,
// even for root. A single trailing slash names the same key.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class PathChecksTest : public SharedProxyTest {
 protected:
  // Sends PUT <target> as root (who may write anywhere) over a raw TLS
  // connection, exactly as written.
  static RawResponse RawPut(const std::string& target, const std::string& user,
                            const std::string& password) {
    const std::string body = "value=v";
    return RawTls(port(), "PUT " + target +
                              " HTTP/1.1\r\n"
                              "Host: localhost\r\n" +
                              BasicAuthHeader(user, password) +
                              "\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) +
                              "\r\n"
                              "Connection: close\r\n"
                              "\r\n" +
                              body);
  }
  // True when no key anywhere in etcd has `marker` in its name.
  static bool EtcdNeverSaw(const std::string& marker) {
    const HttpResponse tree = etcd().Get("/?recursive=true");
    return tree.status == 200 && tree.body.find(marker) == std::string::npos;
  }
};

TEST_F(PathChecksTest, NonCanonicalPathsAre400AndNotForwarded) {
  // Each target, cleaned as etcd (Go) would, names a key containing the
  // marker; "%s" is replaced by a fresh marker.
  const char* const kTargets[] = {
      "/v2/keys/%s/../%s-x",
      "/v2/keys/%s/..",
      "/v2/keys/conftool/../%s",
      "/v2/keys/conftool/%2e%2e/%s",
      "/v2/keys/conftool/%2E%2E/%s",
      "/v2/keys/conftool/.%2e/%s",
      "/v2/keys/%s/./x",
      "/v2/keys/%s/.",
      "/v2/keys/%s/%2e/x",
      "/v2/keys/%s//x",
      "/v2/keys//%s",
      "/v2/keys/%s//",
      "/v2//keys/%s",
      "/v2/keys/%s%2Fx",
      "/v2/keys/%s%2fx",
      "/v2/keys/%s%00x",
      "/v2/keys/%s\\x",
      "/v2/keys/%s%5Cx",
      "/v2/keys/%s%5cx",
  };
  for (const char* pattern : kTargets) {
    const std::string marker = UniqueName("path");
    std::string target = pattern;
    for (auto at = target.find("%s"); at != std::string::npos; at = target.find("%s")) {
      target.replace(at, 2, marker);
    }
    SCOPED_TRACE(target);
    const RawResponse response = RawPut(target, "root", kRootPassword);
    EXPECT_TRUE(IsJsonError(response, 400)) << response.raw;
    EXPECT_TRUE(EtcdNeverSaw(marker));
  }
}

TEST_F(PathChecksTest, SingleTrailingSlashNamesTheSameKey) {
  const std::string marker = UniqueName("slash");
  const RawResponse response =
      RawPut("/v2/keys/conftool/" + marker + "/", "conftool", kConftoolPassword);
  EXPECT_EQ(response.status, 201) << response.raw;
  EXPECT_EQ(etcd().ValueOf("/conftool/" + marker), "v");
}

TEST_F(PathChecksTest, DecidedOnTheDecodedKey) {
  // %63 is 'c': this is /conftool/<marker> to etcd, so conftool may write it.
  const std::string marker = UniqueName("decoded");
  const RawResponse allowed =
      RawPut("/v2/keys/%63onftool/" + marker, "conftool", kConftoolPassword);
  EXPECT_EQ(allowed.status, 201) << allowed.raw;
  EXPECT_EQ(etcd().ValueOf("/conftool/" + marker), "v");

  // %73 is 's': this is /conftool/secret/<marker>, root's only.
  const std::string secret = UniqueName("decoded");
  const RawResponse refused =
      RawPut("/v2/keys/conftool/%73ecret/" + secret, "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(refused)) << refused.raw;
  EXPECT_TRUE(EtcdNeverSaw(secret));

  // And the /conftoolX boundary holds when spelled with escapes.
  const std::string sibling = UniqueName("decoded");
  const RawResponse boundary =
      RawPut("/v2/keys/conftool%58/" + sibling, "conftool", kConftoolPassword);
  EXPECT_TRUE(IsForbidden(boundary)) << boundary.raw;
  EXPECT_TRUE(EtcdNeverSaw(sibling));
}

TEST_F(PathChecksTest, ProxyStillServesAfterBadPaths) {
  EXPECT_EQ(HttpsGet(port(), "/version").status, 200);
}

}  // namespace
}  // namespace tlsproxy::integration
