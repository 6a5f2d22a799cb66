// TLS session resumption as load generators and clients that reconnect use
// it: one OpenSSL client object, SSL_clear between connections (wrk's
// pattern), one request per connection. TLS 1.3 tickets are single-use for
// OpenSSL clients, so every resumed handshake must hand out a fresh ticket;
// otherwise every other connection is a full handshake (twice the client's
// CPU per connection, as the benchmark once showed).
#include "tests/integration/harness.h"
#include "tests/integration/resuming_client.h"

namespace tlsproxy::integration {
namespace {

TEST(SessionResumptionTest, EveryReconnectResumes) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  ResumingClient client;
  const ResumingClient::Round first = client.Connect(stack.port());
  ASSERT_TRUE(first.ok) << first.why;
  EXPECT_EQ(first.status, 200);
  EXPECT_FALSE(first.resumed);
  int resumed = 0;
  constexpr int kReconnects = 6;
  for (int i = 0; i < kReconnects; ++i) {
    const ResumingClient::Round round = client.Connect(stack.port());
    ASSERT_TRUE(round.ok) << round.why;
    EXPECT_EQ(round.status, 200);
    if (round.resumed) ++resumed;
  }
  EXPECT_EQ(resumed, kReconnects) << "reconnects that did a full handshake: "
                                  << kReconnects - resumed;
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
