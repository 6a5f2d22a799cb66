// Under systemd (Type=notify) the proxy says what it is doing on the
// NOTIFY_SOCKET datagram socket: READY=1 once every listener is bound,
// RELOADING=1 with MONOTONIC_USEC and then READY=1 with a STATUS that says
// whether a reload was applied or refused (naming the key and line), and
// STOPPING=1 when it drains. The test binds a socket of its own and hands
// its path to the proxy; no service manager is involved.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

using Clock = std::chrono::steady_clock;

// One notification: its "KEY=value" lines as a map.
using Message = std::map<std::string, std::string>;

Message ParseMessage(const std::string& datagram) {
  Message fields;
  size_t start = 0;
  while (start < datagram.size()) {
    size_t end = datagram.find('\n', start);
    if (end == std::string::npos) end = datagram.size();
    const std::string line = datagram.substr(start, end - start);
    const size_t equals = line.find('=');
    if (equals != std::string::npos) fields[line.substr(0, equals)] = line.substr(equals + 1);
    start = end + 1;
  }
  return fields;
}

// An AF_UNIX datagram socket bound in a temporary directory: the
// NOTIFY_SOCKET a service manager would give the proxy.
class NotifySocket {
 public:
  NotifySocket() {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = dir_.File("notify");
    std::memcpy(address.sun_path, path.c_str(), std::min(path.size(), sizeof address.sun_path - 1));
    bound_ = fd_ >= 0 && path.size() < sizeof address.sun_path &&
             bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  std::string Environment() const { return "NOTIFY_SOCKET=" + dir_.File("notify"); }
  // Every datagram received so far, for failure messages.
  const std::string& history() const { return history_; }

  // Reads notifications until one has `key`=`value`, and returns it; nullopt
  // when none arrives within `timeout`.
  std::optional<Message> WaitFor(const std::string& key, const std::string& value,
                                 std::chrono::milliseconds timeout = 20s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd ready{fd_, POLLIN, 0};
      if (poll(&ready, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
      char buffer[4096];
      const ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) continue;
      const std::string datagram(buffer, static_cast<size_t>(got));
      history_ += "[" + datagram + "]\n";
      Message message = ParseMessage(datagram);
      const auto field = message.find(key);
      if (field != message.end() && field->second == value) return message;
    }
    return std::nullopt;
  }

 private:
  TempDir dir_;
  int fd_ = -1;
  bool bound_ = false;
  std::string history_;
};

uint64_t MonotonicMicroseconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
}

// The 1-based number of the line of `yaml` that contains `text`.
int LineOf(const std::string& yaml, const std::string& text) {
  const size_t at = yaml.find(text);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + at, '\n'));
}

// A proxy started with NOTIFY_SOCKET pointing at `notify`; etcd is not
// needed (nothing listens on the upstream port).
::testing::AssertionResult SpawnNotifying(ProxyProcess& proxy, const NotifySocket& notify,
                                          const ProxyOptions& options) {
  if (!notify.bound()) return ::testing::AssertionFailure() << "cannot bind the notify socket";
  proxy.SetExtraEnvironment({notify.Environment()});
  return proxy.Spawn(ProxyConfigYaml(options, proxy.port()));
}

ProxyOptions Options() {
  ProxyOptions options;
  options.upstream_port = FreePort();
  return options;
}

TEST(SystemdNotifyTest, ReadyOnceListeningAndStoppingOnSigterm) {
  NotifySocket notify;
  ProxyProcess proxy;
  ASSERT_TRUE(SpawnNotifying(proxy, notify, Options()));
  const std::optional<Message> ready = notify.WaitFor("READY", "1");
  ASSERT_TRUE(ready) << notify.history() << proxy.Logs();
  // By the time READY=1 is sent the listener is bound: connecting works at once.
  const int fd = TcpConnect(proxy.port());
  EXPECT_GE(fd, 0) << "READY=1 came before the listener accepted connections";
  if (fd >= 0) close(fd);
  EXPECT_NE(ready->count("STATUS"), 0u) << notify.history();

  ASSERT_TRUE(proxy.Stop(SIGTERM));
  EXPECT_TRUE(notify.WaitFor("STOPPING", "1", 5s)) << notify.history();
}

TEST(SystemdNotifyTest, ReloadSaysWhetherItWasAppliedAndWhyNot) {
  NotifySocket notify;
  ProxyProcess proxy;
  ProxyOptions options = Options();
  ASSERT_TRUE(SpawnNotifying(proxy, notify, options));
  ASSERT_TRUE(notify.WaitFor("READY", "1")) << notify.history() << proxy.Logs();
  const std::string good = ReadFile(proxy.config_path());

  // A good file: RELOADING=1 stamped with the monotonic clock, then READY=1, applied.
  const uint64_t before = MonotonicMicroseconds();
  ASSERT_TRUE(proxy.Signal(SIGHUP));
  const std::optional<Message> reloading = notify.WaitFor("RELOADING", "1");
  ASSERT_TRUE(reloading) << notify.history() << proxy.Logs();
  const uint64_t after = MonotonicMicroseconds();
  ASSERT_NE(reloading->count("MONOTONIC_USEC"), 0u) << notify.history();
  const uint64_t stamp = std::stoull(reloading->at("MONOTONIC_USEC"));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  std::optional<Message> done = notify.WaitFor("READY", "1");
  ASSERT_TRUE(done) << notify.history() << proxy.Logs();
  EXPECT_NE(done->at("STATUS").find("applied"), std::string::npos) << done->at("STATUS");

  // A typo: refused, and the status names the key and its line.
  const std::string typo = good + "publc_reads: false\n";
  WriteFile(proxy.config_path(), typo);
  ASSERT_TRUE(proxy.Signal(SIGHUP));
  ASSERT_TRUE(notify.WaitFor("RELOADING", "1")) << notify.history() << proxy.Logs();
  done = notify.WaitFor("READY", "1");
  ASSERT_TRUE(done) << notify.history() << proxy.Logs();
  const std::string& refused = done->at("STATUS");
  EXPECT_NE(refused.find("refused"), std::string::npos) << refused;
  EXPECT_NE(refused.find("publc_reads (line " + std::to_string(LineOf(typo, "publc_reads")) + ")"),
            std::string::npos)
      << refused;

  // A TLS setting OpenSSL refuses is refused the same way.
  options.tls_yaml = "  groups: [X25519, P-999]\n";
  const std::string bad_group = ProxyConfigYaml(options, proxy.port());
  WriteFile(proxy.config_path(), bad_group);
  ASSERT_TRUE(proxy.Signal(SIGHUP));
  ASSERT_TRUE(notify.WaitFor("RELOADING", "1")) << notify.history() << proxy.Logs();
  done = notify.WaitFor("READY", "1");
  ASSERT_TRUE(done) << notify.history() << proxy.Logs();
  EXPECT_NE(done->at("STATUS").find("refused"), std::string::npos) << done->at("STATUS");
  EXPECT_NE(done->at("STATUS").find("tls.groups (line " +
                                    std::to_string(LineOf(bad_group, "groups:")) + ")"),
            std::string::npos)
      << done->at("STATUS");

  EXPECT_TRUE(proxy.Alive());
  EXPECT_EQ(HttpsGet(proxy.port(), "/version").status, 502);  // still serving; no etcd behind
  ASSERT_TRUE(proxy.Stop(SIGTERM));
  EXPECT_TRUE(notify.WaitFor("STOPPING", "1", 5s)) << notify.history();
}

}  // namespace
}  // namespace tlsproxy::integration
