// Limits that keep one bad peer from hurting everyone: a request head that
// trickles in is cut off with 408; a hung etcd gives 504 to ordinary requests
// while watches wait on; past max_connections new connections are closed and
// the open ones keep working; repeated wrong passwords from one address get
// 429 with Retry-After, and only that address; a TLS handshake that never
// finishes is closed; an etcd whose connect hangs gives 504.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

using Clock = std::chrono::steady_clock;

// A socket that closes itself.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// True when a TCP socket can be bound to [::1] here (no IPv6 loopback
// otherwise: a container without it, or IPv6 turned off).
bool HaveIpv6Loopback() {
  Fd fd(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

// How a connection the peer should close ended.
struct Ending {
  bool closed = false;   // end of stream or reset, within the bound
  std::string how;       // "end of stream", "reset", or what else happened
  std::string received;  // any bytes that came first
  Clock::duration waited{};
};
// Reads `fd` until the peer closes or resets it, or `bound` passes.
Ending AwaitClose(int fd, std::chrono::milliseconds bound) {
  Ending ending;
  const auto start = Clock::now();
  const auto deadline = start + bound;
  ending.how = "still open after " + std::to_string(bound.count()) + " ms";
  while (Clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<long>(1, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      ending.received.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    ending.closed = n == 0 || errno == ECONNRESET;
    ending.how = n == 0 ? "end of stream" : (errno == ECONNRESET ? "reset" : std::strerror(errno));
    break;
  }
  ending.waited = Clock::now() - start;
  return ending;
}

long Milliseconds(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

const std::string kHandshakeTimeouts =
    "etcd_tlsproxy_tls_handshake_failures_total{reason=\"timeout\"}";

// Starts `stack` with a 1 s TLS handshake timeout and an admin listener
// (`stack.proxy.admin_port()`). Returns the handshake-timeout counter before any
// test traffic, or -1 when the stack did not start or /metrics is unreadable.
double StartWithOneSecondHandshake(Stack& stack, ProxyOptions& options) {
  options.admin_port = FreePort();
  options.extra_yaml = "timeouts: {handshake: 1}\n";
  if (!stack.Start(options)) return -1;
  return AdminMetric(stack.proxy.admin_port(), kHandshakeTimeouts);
}

TEST(TimeoutsTest, SlowRequestHeadIsCutOffWith408) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "timeouts: {request_headers: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  // Half a head, then silence: the proxy answers 408 and closes.
  const RawResponse response =
      RawTls(stack.port(), "GET /v2/keys/x HTTP/1.1\r\nHost: x\r\n", std::nullopt, 10s);
  EXPECT_EQ(response.status, 408) << response.raw;
  EXPECT_TRUE(IsJsonWithMessage(response.body)) << response.body;
  // Others are served meanwhile and after.
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, HungEtcdGives504ButWatchesWait) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "timeouts: {upstream_response: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/eventlogging/" + UniqueName("hung");
  // A watch registered before etcd hangs.
  HttpsRequest watch;
  watch.path = "/v2/keys" + key + "?wait=true";
  watch.timeout = 30s;
  std::atomic<bool> head{false};
  watch.on_head = [&](long) { head = true; };
  HttpResponse watched;
  std::thread watcher([&] { watched = Https(stack.port(), watch); });
  for (int i = 0; i < 200 && !head; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(head.load());

  stack.etcd.Signal(SIGSTOP);
  const HttpResponse hung = HttpsGet(stack.port(), "/v2/keys" + key);
  stack.etcd.Signal(SIGCONT);
  EXPECT_TRUE(IsJsonError(hung, 504));

  // The watch outlived the 1 s response timeout and still gets its event.
  ASSERT_TRUE(stack.etcd.Put(key, "after"));
  watcher.join();
  EXPECT_EQ(watched.status, 200) << watched.error;
  EXPECT_NE(watched.body.find("\"value\":\"after\""), std::string::npos) << watched.body;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, PastMaxConnectionsNewOnesAreClosedOthersServed) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "max_connections: 1\n";
  ASSERT_TRUE(stack.Start(options));
  // Hold the one allowed connection open with a watch.
  HttpsRequest watch;
  watch.path = "/v2/keys/" + UniqueName("held") + "?wait=true";
  watch.timeout = 30s;
  std::atomic<bool> head{false};
  watch.on_head = [&](long) { head = true; };
  watch.on_data = [&](const std::string&) { return true; };
  HttpResponse held;
  std::thread holder;
  // The harness's own readiness probe may still count for a moment: retry
  // (bounded) until the watch holds the one slot.
  std::atomic<bool> ended{false};
  for (int attempt = 0; attempt < 20 && !head; ++attempt) {
    if (holder.joinable()) holder.join();
    ended = false;
    holder = std::thread([&] {
      held = Https(stack.port(), watch);
      ended = true;
    });
    for (int i = 0; i < 40 && !head && !ended; ++i) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(head.load()) << held.error;

  const HttpResponse refused = HttpsGet(stack.port(), "/version");
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());

  // The held connection still works: its watch completes.
  ASSERT_TRUE(stack.etcd.Put(watch.path.substr(8, watch.path.find('?') - 8), "v"));
  holder.join();
  EXPECT_EQ(held.status, 200) << held.error;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, RepeatedWrongPasswordsGet429WithRetryAfter) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "auth_throttle: {max_failures: 3, window: 60, backoff: 30}\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/conftool/" + UniqueName("throttle");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(IsUnauthorized(HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", "bad")));
  }
  // Now even the right password waits: guessing is slowed for this address.
  const HttpResponse throttled =
      HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_FALSE(throttled.Header("retry-after").empty());
  EXPECT_TRUE(IsJsonWithMessage(throttled.body));
  EXPECT_TRUE(stack.etcd.Missing(key));
  // Requests without credentials are not slowed.
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_NE(stack.proxy.Logs().find("too many failed authentication attempts"), std::string::npos);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, ThrottledAddressNeverSlowsAValidClientAtAnotherAddress) {
  if (!HaveIpv6Loopback()) {
    GTEST_SKIP() << "no IPv6 loopback here: cannot bind a TCP socket to [::1]";
  }
  EtcdServer etcd;
  ASSERT_TRUE(etcd.Start());
  ProxyOptions options;
  options.upstream_port = etcd.client_port();
  options.extra_yaml = "auth_throttle: {max_failures: 3, window: 60, backoff: 30}\n";
  // One proxy listening on 127.0.0.1:P and [::1]:P. The port is free on
  // 127.0.0.1; if someone holds it on [::1], try another (bounded).
  std::unique_ptr<ProxyProcess> proxy;
  for (int attempt = 0; attempt < 3; ++attempt) {
    proxy = std::make_unique<ProxyProcess>();
    const std::string port = std::to_string(proxy->port());
    std::string yaml = ProxyConfigYaml(options, proxy->port());
    const std::string listen_line = "listen: [\"127.0.0.1:" + port + "\"]\n";
    ASSERT_EQ(yaml.rfind(listen_line, 0), 0u) << yaml;
    yaml.replace(0, listen_line.size(),
                 "listen: [\"127.0.0.1:" + port + "\", \"[::1]:" + port + "\"]\n");
    const ::testing::AssertionResult started = proxy->StartWithYaml(yaml);
    if (started) break;
    ASSERT_NE(proxy->Logs().find("in use"), std::string::npos) << started.message();
    proxy.reset();
  }
  ASSERT_TRUE(proxy != nullptr) << "no free port on both 127.0.0.1 and [::1] in 3 tries";
  const uint16_t port = proxy->port();
  const std::string key = "/conftool/" + UniqueName("throttle-v6");
  const std::string path = "/v2/keys" + key;

  // Three wrong passwords from 127.0.0.1 put that address in back-off...
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(IsUnauthorized(HttpsPut(port, path, "v4", "conftool", "bad")));
  }
  const HttpResponse throttled = HttpsPut(port, path, "v4", "conftool", kConftoolPassword);
  EXPECT_EQ(throttled.status, 429) << throttled.body << throttled.error;
  const std::string retry_after = throttled.Header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  ASSERT_EQ(retry_after.find_first_not_of("0123456789"), std::string::npos) << retry_after;
  EXPECT_GE(std::stol(retry_after), 1);
  EXPECT_LE(std::stol(retry_after), 30);
  EXPECT_TRUE(IsJsonWithMessage(throttled.body));
  EXPECT_TRUE(etcd.Missing(key));

  // ...while the right password from ::1 goes straight through, at once.
  HttpsRequest put;
  put.method = "PUT";
  put.path = path;
  put.body = "value=v6";
  put.user = "conftool";
  put.password = kConftoolPassword;
  put.address = "::1";
  const HttpResponse from_v6 = Https(port, put);
  EXPECT_EQ(from_v6.status, 201) << from_v6.body << from_v6.error;
  EXPECT_EQ(etcd.ValueOf(key), std::optional<std::string>("v6"));
  HttpsRequest get;
  get.path = path;
  get.user = "conftool";
  get.password = kConftoolPassword;
  get.address = "::1";
  const HttpResponse read_v6 = Https(port, get);
  EXPECT_EQ(read_v6.status, 200) << read_v6.body << read_v6.error;
  EXPECT_NE(read_v6.body.find("\"value\":\"v6\""), std::string::npos) << read_v6.body;
  // The requests really came from [::1] (the access log names the client).
  EXPECT_NE(proxy->Logs().find("[::1]:"), std::string::npos) << proxy->Logs();

  // ::1's success does not lift 127.0.0.1's back-off.
  EXPECT_EQ(HttpsPut(port, path, "v4", "conftool", kConftoolPassword).status, 429);
  EXPECT_EQ(etcd.ValueOf(key), std::optional<std::string>("v6"));
  EXPECT_TRUE(proxy->Stop());
}

TEST(TimeoutsTest, UnfinishedTlsHandshakeIsClosed) {
  Stack stack;
  ProxyOptions options;
  const double before = StartWithOneSecondHandshake(stack, options);
  ASSERT_GE(before, 0) << "the stack did not start, or /metrics cannot be read";

  struct Variant {
    const char* name;
    std::string bytes;
  };
  // Silence; then the first bytes of a ClientHello record (handshake, TLS 1.0
  // record version) and silence.
  const Variant variants[] = {{"nothing sent", ""}, {"partial ClientHello", "\x16\x03\x01"}};
  double expected = before;
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.name);
    Fd fd(TcpConnect(stack.port()));
    ASSERT_GE(fd.get(), 0) << std::strerror(errno);
    if (!variant.bytes.empty()) {
      ASSERT_EQ(send(fd.get(), variant.bytes.data(), variant.bytes.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(variant.bytes.size()));
    }
    // A bound, not a timing assertion: the proxy says 1 s.
    const Ending ending = AwaitClose(fd.get(), 15s);
    EXPECT_TRUE(ending.closed) << ending.how;
    EXPECT_TRUE(ending.received.empty())
        << "proxy sent " << ending.received.size() << " bytes before: " << ending.how << " after "
        << Milliseconds(ending.waited) << " ms";
    // Counted (before the close) as a handshake that failed by timeout.
    expected += 1;
    EXPECT_EQ(AdminMetric(stack.proxy.admin_port(), kHandshakeTimeouts), expected);
  }

  // Everyone else is served as before.
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Alive());
  EXPECT_TRUE(stack.proxy.Stop());
}

// A read timeout restarts with every byte: a client that drips its
// ClientHello one byte at a time must still be cut off when the whole
// handshake outlasts timeouts.handshake.
TEST(TimeoutsTest, HandshakeDrippedByteByByteIsClosed) {
  Stack stack;
  ProxyOptions options;
  const double before = StartWithOneSecondHandshake(stack, options);
  ASSERT_GE(before, 0) << "the stack did not start, or /metrics cannot be read";

  Fd fd(TcpConnect(stack.port()));
  ASSERT_GE(fd.get(), 0) << std::strerror(errno);
  // A record header announcing 512 bytes, then one byte every 200 ms: never
  // silent for long, never complete. Bounded at 15 s (the proxy says 1 s).
  const std::string header = "\x16\x03\x01\x02\x00";
  ASSERT_EQ(send(fd.get(), header.data(), header.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(header.size()));
  bool closed = false;
  for (int i = 0; i < 75 && !closed; ++i) {
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char byte;
      closed = recv(fd.get(), &byte, 1, 0) <= 0;
      if (!closed) break;  // the proxy answered something: not expected
      continue;
    }
    const char drip = 0x01;
    closed = send(fd.get(), &drip, 1, MSG_NOSIGNAL) < 0;
  }
  EXPECT_TRUE(closed) << "the dripping handshake was never cut off";
  EXPECT_EQ(AdminMetric(stack.proxy.admin_port(), kHandshakeTimeouts), before + 1);
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, UpstreamConnectThatHangsGives504) {
  // An "etcd" whose accept queue is full: listen(fd, 0), never accept, one
  // connection made and left queued. Linux then drops further SYNs, so the
  // proxy's connect neither succeeds nor fails.
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(listener.get(), 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  ASSERT_EQ(listen(listener.get(), 0), 0);
  const uint16_t upstream_port = ntohs(address.sin_port);
  // Fill the queue until a connect hangs (bounded); keep every socket open.
  std::vector<std::unique_ptr<Fd>> fillers;
  bool hangs = false;
  for (int i = 0; i < 4 && !hangs; ++i) {
    fillers.push_back(
        std::make_unique<Fd>(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)));
    const int fd = fillers.back()->get();
    ASSERT_GE(fd, 0);
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    pollfd p{fd, POLLOUT, 0};
    hangs = rc != 0 && poll(&p, 1, 1500) == 0;
  }
  if (!hangs) {
    GTEST_SKIP() << "connect to a listener with a full accept queue does not hang here";
  }

  ProxyProcess proxy;
  ProxyOptions options;
  options.upstream_port = upstream_port;
  options.admin_port = FreePort();
  options.extra_yaml = "timeouts: {upstream_connect: 1}\n";
  ASSERT_TRUE(proxy.Start(options));

  HttpsRequest get;
  get.path = "/v2/keys/x";
  get.timeout = 15s;  // a bound, not a timing assertion: the proxy says 1 s
  const auto start = Clock::now();
  const HttpResponse response = Https(proxy.port(), get);
  EXPECT_TRUE(IsJsonError(response, 504))
      << "after " << Milliseconds(Clock::now() - start) << " ms";
  EXPECT_EQ(response.Header("content-type").rfind("application/json", 0), 0u)
      << response.Header("content-type");
  EXPECT_NE(response.body.find("timed out connecting to etcd"), std::string::npos) << response.body;
  EXPECT_EQ(
      AdminMetric(proxy.admin_port(), "etcd_tlsproxy_upstream_errors_total{kind=\"timeout\"}"), 1);

  // A write with credentials fares the same; the proxy stays up.
  const HttpResponse put = HttpsPut(proxy.port(), "/v2/keys/conftool/" + UniqueName("hang"), "v",
                                    "conftool", kConftoolPassword);
  EXPECT_TRUE(IsJsonError(put, 504));
  EXPECT_TRUE(proxy.Alive());
  EXPECT_TRUE(proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
