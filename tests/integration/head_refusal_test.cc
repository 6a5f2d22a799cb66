// A refusal of a HEAD request is a head only (RFC 9110 section 9.3.2), as
// etcd's own answers to HEAD are: same status and headers, no body. A body
// after it would be read as the start of the next response on a kept-alive
// connection.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

TEST(HeadRefusalTest, RefusedHeadHasNoBodyAndTheConnectionStaysInStep) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  // RawTls stops at the first response it sees complete (by its
  // Content-Length): the 401's 116 body bytes are only covered by the
  // 200 at the end, which closes the connection.
  const std::string pipeline = "HEAD /v2/keys/conftool/x HTTP/1.1\r\nHost: x\r\n" +
                               BasicAuthHeader("conftool", "wrong") +
                               "\r\n\r\n"
                               "HEAD /v2/keys/a/../b HTTP/1.1\r\nHost: x\r\n\r\n"
                               "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const RawResponse response = RawTls(stack.port(), pipeline);
  std::string rest = response.raw;
  for (const char* status : {"HTTP/1.1 401 ", "HTTP/1.1 400 "}) {
    ASSERT_EQ(rest.rfind(status, 0), 0u) << response.raw;
    const size_t end = rest.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << response.raw;
    EXPECT_NE(rest.substr(0, end).find("Content-Length: "), std::string::npos) << response.raw;
    rest = rest.substr(end + 4);  // the next bytes are the next response, not a body
  }
  EXPECT_EQ(rest.rfind("HTTP/1.1 200 ", 0), 0u) << response.raw;
  EXPECT_TRUE(stack.proxy.Alive());
}

}  // namespace
}  // namespace tlsproxy::integration
