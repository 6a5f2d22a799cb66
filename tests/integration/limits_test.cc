// Size limits, each answered with a JSON body and nothing forwarded:
// a body over max_body_bytes is 413, a request head over max_header_bytes
// is 431, and a request line that alone is too long is 414.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

constexpr std::size_t kMaxBody = 1024;
constexpr std::size_t kMaxHeader = 4096;

class LimitsTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.max_body_bytes = kMaxBody;
    options.max_header_bytes = kMaxHeader;
    StartShared(options);
  }
  static std::string RootAuth() { return BasicAuthHeader("root", kRootPassword) + "\r\n"; }
};

TEST_F(LimitsTest, BodyOverTheLimitIs413) {
  const std::string key = "/" + UniqueName("big");
  const HttpResponse response =
      HttpsPut(port(), "/v2/keys" + key, std::string(2 * kMaxBody, 'a'), "root", kRootPassword);
  EXPECT_TRUE(IsJsonError(response, 413));
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(LimitsTest, ChunkedBodyOverTheLimitIs413) {
  const std::string key = "/" + UniqueName("bigchunks");
  std::string body = "6\r\nvalue=\r\n";
  const std::string chunk(256, 'b');
  for (int i = 0; i < 8; ++i) body += "100\r\n" + chunk + "\r\n";
  body += "0\r\n\r\n";
  const RawResponse response =
      RawTls(port(), "PUT /v2/keys" + key + " HTTP/1.1\r\nHost: localhost\r\n" + RootAuth() +
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n" +
                         body);
  EXPECT_TRUE(IsJsonError(response, 413)) << response.raw;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(LimitsTest, BodyUnderTheLimitPasses) {
  const std::string key = "/" + UniqueName("small");
  const std::string value(kMaxBody - 16, 'c');
  const HttpResponse response = HttpsPut(port(), "/v2/keys" + key, value, "root", kRootPassword);
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(etcd().ValueOf(key), value);
}

TEST_F(LimitsTest, HeaderBlockOverTheLimitIs431) {
  const std::string key = "/" + UniqueName("bighead");
  const RawResponse one_header =
      RawTls(port(), "PUT /v2/keys" + key + " HTTP/1.1\r\nHost: localhost\r\n" + RootAuth() +
                         "X-Filler: " + std::string(kMaxHeader + 100, 'h') +
                         "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         "Content-Length: 7\r\n\r\nvalue=v");
  EXPECT_TRUE(IsJsonError(one_header, 431)) << one_header.raw.substr(0, 300);
  EXPECT_TRUE(etcd().Missing(key));

  std::string many;
  for (int i = 0; many.size() <= kMaxHeader; ++i) {
    many += "X-Header-" + std::to_string(i) + ": " + std::string(40, 'm') + "\r\n";
  }
  const RawResponse many_headers = RawTls(
      port(), "GET /version HTTP/1.1\r\nHost: localhost\r\n" + many + "Connection: close\r\n\r\n");
  EXPECT_TRUE(IsJsonError(many_headers, 431)) << many_headers.raw.substr(0, 300);
}

TEST_F(LimitsTest, HeaderBlockUnderTheLimitPasses) {
  const RawResponse response =
      RawTls(port(), "GET /version HTTP/1.1\r\nHost: localhost\r\nX-Filler: " +
                         std::string(kMaxHeader / 2, 'h') + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(response.status, 200) << response.raw.substr(0, 300);
}

TEST_F(LimitsTest, LongUrlIs414) {
  const std::string key = "/" + UniqueName("longurl");
  const RawResponse query =
      RawTls(port(), "PUT /v2/keys" + key + "?value=" + std::string(kMaxHeader + 100, 'u') +
                         " HTTP/1.1\r\nHost: localhost\r\n" + RootAuth() +
                         "Content-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(IsJsonError(query, 414)) << query.raw.substr(0, 300);
  EXPECT_TRUE(etcd().Missing(key));

  const HttpResponse path = HttpsGet(port(), "/v2/keys/" + std::string(kMaxHeader + 100, 'p'));
  EXPECT_TRUE(IsJsonError(path, 414));
}

}  // namespace
}  // namespace tlsproxy::integration
