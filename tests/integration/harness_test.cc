// The harness itself: ProxyProcess::Start survives a port that another
// process took between FreePort() and the proxy's bind, for the admin port
// as for the listen port.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// Holds a listening socket on 127.0.0.1 (any free port) until destroyed.
class TakenPort {
 public:
  TakenPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~TakenPort() {
    if (fd_ >= 0) close(fd_);
  }
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(HarnessTest, StartRetriesWhenTheAdminPortIsTaken) {
  const TakenPort taken;
  ASSERT_NE(taken.port(), 0);
  Stack stack;
  ProxyOptions options;
  options.admin_port = taken.port();
  ASSERT_TRUE(stack.Start(options));
  EXPECT_NE(stack.proxy.admin_port(), taken.port());
  EXPECT_EQ(AdminGet(stack.proxy.admin_port(), "/readyz").status, 200);
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
