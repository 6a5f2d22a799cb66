// Faults the proxy must ride out: etcd killed under load, clients that
// vanish mid-request and mid-watch a thousand times, two thousand slow
// connections, and an access log on a full disk.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

size_t OpenDescriptors(pid_t pid) {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++count;
  }
  return count;
}

long RssKib(pid_t pid) {
  const std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

// A TLS client that can stop half way: no certificate checks (this is about
// the proxy's resources, not its identity).
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    static SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~RawClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);  // no close_notify: the client just vanishes
    if (fd_ >= 0) close(fd_);
    ERR_clear_error();
  }
  bool ok() const { return ok_; }
  bool Send(const std::string& bytes) {
    return ok_ && SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }
  // Reads until `text` has arrived (bounded by the 5 s receive timeout).
  bool ReadUntil(const std::string& text) {
    std::string got;
    char buffer[4096];
    while (ok_ && got.find(text) == std::string::npos) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) return false;
      got.append(buffer, static_cast<size_t>(n));
    }
    return ok_;
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

// Waits (bounded) until the proxy holds at most `limit` descriptors.
size_t SettleDescriptors(pid_t pid, size_t limit) {
  size_t now = OpenDescriptors(pid);
  for (int i = 0; i < 200 && now > limit; ++i) {
    std::this_thread::sleep_for(50ms);
    now = OpenDescriptors(pid);
  }
  return now;
}

TEST(FaultsTest, ClientsVanishingMidRequestAndMidWatchLeakNothing) {
  NoAsanQuarantine no_quarantine;
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const pid_t pid = stack.proxy.pid();
  // Warm up (pool, TLS), then take the baseline.
  EXPECT_EQ(HttpsGet(stack.port(), "/v2/keys/").status, 200);
  const size_t fds_before = SettleDescriptors(pid, 0);
  const long rss_before = RssKib(pid);

  int completed = 0;
  for (int i = 0; i < 500; ++i) {
    {
      RawClient mid_request(stack.port());
      completed += mid_request.Send(
          "PUT /v2/keys/eventlogging/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nvalue=");
    }
    {
      RawClient mid_watch(stack.port());
      completed += mid_watch.Send("GET /v2/keys/" + UniqueName("vanish") +
                                  "?wait=true HTTP/1.1\r\nHost: x\r\n\r\n") &&
                   mid_watch.ReadUntil("\r\n\r\n");  // the watch is in etcd now
    }
  }
  EXPECT_EQ(completed, 1000);
  const size_t fds_after = SettleDescriptors(pid, fds_before);
  EXPECT_LE(fds_after, fds_before) << "descriptors before " << fds_before;
  // Bounded growth (allocator noise; leaks themselves are caught by
  // LeakSanitizer, which makes the proxy's exit status, checked by Stop(),
  // non-zero).
  EXPECT_LT(RssKib(pid) - rss_before, 32 * 1024) << "RSS before " << rss_before << " KiB";
  // etcd holds no abandoned watchers either: each cancelled one was closed.
  // etcd drops a watcher once it notices its connection closed, which can
  // come a moment after the proxy's descriptors settle: wait, bounded.
  HttpResponse stats;
  for (int attempt = 0; attempt < 100; ++attempt) {
    stats = stack.etcd.Request("GET", "/v2/stats/store");
    if (stats.body.find("\"watchers\":0") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(stats.body.find("\"watchers\":0"), std::string::npos) << stats.body;
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(FaultsTest, TwoThousandSlowConnectionsDoNotStopOthers) {
  NoAsanQuarantine no_quarantine;
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const pid_t pid = stack.proxy.pid();
  const long rss_before = RssKib(pid);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 2000; ++i) {
    slow.push_back(std::make_unique<RawClient>(stack.port()));
    slow.back()->Send("GET /v2/keys/x HTTP/1.1\r\nHost: ");  // and then nothing
  }
  // Normal clients are served meanwhile.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  const long rss_held = RssKib(pid);
  // Bounded: about what 2000 idle TLS connections cost, well under 100 KiB each.
  EXPECT_LT(rss_held - rss_before, 2000 * 100) << "RSS before " << rss_before << " KiB";
  slow.clear();
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(FaultsTest, EtcdKilledUnderLoadGives502ThenRecovers) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 5000 && !stop; ++i) {
        const long status = HttpsGet(stack.port(), "/v2/keys/").status;
        if (status != 200 && status != 502) ++unexpected;
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  stack.etcd.Signal(SIGKILL);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(IsJsonError(HttpsGet(stack.port(), "/v2/keys/"), 502));
  stack.etcd.Stop();  // reaps the killed process
  ASSERT_TRUE(stack.etcd.Start());
  stop = true;
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(HttpsGet(stack.port(), "/v2/keys/").status, 200);
  EXPECT_TRUE(stack.proxy.Alive());
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(FaultsTest, AccessLogOnAFullDiskKeepsServingAndReportsOnce) {
  Stack stack;
  ProxyOptions options;
  // /dev/full fails every write with ENOSPC, as a full disk does.
  options.extra_yaml = "";
  ASSERT_TRUE(stack.etcd.Start());
  options.upstream_port = stack.etcd.client_port();
  std::string yaml = ProxyConfigYaml(options, stack.proxy.port());
  const std::string stderr_log = "access_log: stderr";
  yaml.replace(yaml.find(stderr_log), stderr_log.size(), "access_log: /dev/full");
  ASSERT_TRUE(stack.proxy.StartWithYaml(yaml));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  const std::string logs = stack.proxy.Logs();
  size_t reports = 0;
  for (size_t at = logs.find("access log /dev/full"); at != std::string::npos;
       at = logs.find("access log /dev/full", at + 1)) {
    ++reports;
  }
  EXPECT_EQ(reports, 1u) << logs;
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
