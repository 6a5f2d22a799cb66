// Connection upgrades (websocket, h2c) and CONNECT are refused with 400 and
// not forwarded: the proxy would lose sight of what flows afterwards.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class UpgradeTest : public SharedProxyTest {};

TEST_F(UpgradeTest, WebsocketIsRefused) {
  const RawResponse response =
      RawTls(port(), "GET /v2/keys/" + UniqueName("ws") +
                         "?wait=true HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                         "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_TRUE(IsJsonError(response, 400)) << response.raw;
}

TEST_F(UpgradeTest, V3WatchWebsocketIsRefusedEvenForRoot) {
  const RawResponse response =
      RawTls(port(), "GET /v3/watch HTTP/1.1\r\nHost: localhost\r\n" +
                         BasicAuthHeader("root", kRootPassword) +
                         "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_TRUE(IsJsonError(response, 400)) << response.raw;
}

TEST_F(UpgradeTest, H2cUpgradeWithABodyIsNotForwarded) {
  const std::string key = "/" + UniqueName("h2c");
  const RawResponse response =
      RawTls(port(), "PUT /v2/keys" + key + " HTTP/1.1\r\nHost: localhost\r\n" +
                         BasicAuthHeader("root", kRootPassword) +
                         "\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                         "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         "Content-Length: 7\r\n\r\nvalue=v");
  EXPECT_TRUE(IsJsonError(response, 400)) << response.raw;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(UpgradeTest, ConnectIsRefused) {
  const RawResponse response = RawTls(
      port(), "CONNECT 127.0.0.1:" + std::to_string(etcd().client_port()) +
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + BasicAuthHeader("root", kRootPassword) +
                  "\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(IsJsonError(response, 400)) << response.raw;
  EXPECT_EQ(response.raw.find("etcdserver"), std::string::npos) << response.raw;
}

}  // namespace
}  // namespace tlsproxy::integration
