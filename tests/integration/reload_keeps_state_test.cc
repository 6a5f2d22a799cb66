// What a SIGHUP (every nightly logrotate sends one) must keep, and what it
// must let go: the auth throttle's back-offs and the TLS sessions survive a
// reload; the access-log file of the old configuration is closed once no
// request uses it any more.
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/resuming_client.h"

namespace tlsproxy::integration {
namespace {

// Sends SIGHUP and waits (bounded) until the proxy has logged `count`
// successful reloads in all.
::testing::AssertionResult Reload(ProxyProcess& proxy, int count) {
  if (auto sent = proxy.Signal(SIGHUP); !sent) return sent;
  for (int i = 0; i < 200; ++i) {
    const std::string logs = proxy.Logs();
    int seen = 0;
    for (size_t at = logs.find("reloaded "); at != std::string::npos;
         at = logs.find("reloaded ", at + 1)) {
      ++seen;
    }
    if (seen >= count) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(50ms);
  }
  return ::testing::AssertionFailure() << "no reload logged:\n" << proxy.Logs();
}

// The files the process `pid` has open, as /proc/<pid>/fd shows them.
std::vector<std::string> OpenFiles(pid_t pid) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    std::error_code link_error;
    const auto target = std::filesystem::read_symlink(entry.path(), link_error);
    if (!link_error) files.push_back(target.string());
  }
  return files;
}

size_t CountOpen(pid_t pid, const std::string& path) {
  size_t count = 0;
  for (const std::string& file : OpenFiles(pid)) {
    if (file.rfind(path, 0) == 0) ++count;  // "(deleted)" may follow
  }
  return count;
}

// One TLS connection kept open between requests (keep-alive).
class KeptAliveConnection {
 public:
  ~KeptAliveConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  bool Open(uint16_t port) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    fd_ = TcpConnect(port);
    if (ctx_ == nullptr || fd_ < 0) return false;
    timeval timeout{10, 0};  // a bound on every read
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    SSL_CTX_load_verify_locations(ctx_, TestCertificates().ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }
  // One request; the status, once the whole response (Content-Length) is in.
  int Get(const std::string& path) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) return 0;
    std::string raw;
    char buffer[4096];
    while (raw.size() < (1u << 20)) {
      const size_t head_end = raw.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const RawResponse parsed = ParseRawResponse(raw);
        const std::string length = parsed.Header("content-length");
        if (!length.empty() && raw.size() >= head_end + 4 + std::stoul(length)) {
          return parsed.status > 0 ? static_cast<int>(parsed.status) : 0;
        }
      }
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) return 0;
      raw.append(buffer, static_cast<size_t>(n));
    }
    return 0;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

TEST(ReloadKeepsStateTest, AuthBackOffSurvivesSighup) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "auth_throttle: {max_failures: 3, window: 60, backoff: 60}\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/conftool/" + UniqueName("backoff");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(IsUnauthorized(HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", "bad")));
  }
  ASSERT_EQ(HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword).status,
            429);

  ASSERT_TRUE(Reload(stack.proxy, 1));
  // Still in back-off: the rotation gave the guesser no fresh budget.
  const HttpResponse after =
      HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword);
  EXPECT_EQ(after.status, 429) << after.body;
  EXPECT_FALSE(after.Header("retry-after").empty());
  EXPECT_TRUE(stack.etcd.Missing(key));
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(ReloadKeepsStateTest, NewThrottleLimitsApplyAfterSighup) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "auth_throttle: {max_failures: 100, window: 60, backoff: 60}\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/conftool/" + UniqueName("limits");
  const std::string config = ReadFile(stack.proxy.config_path());
  std::string tighter = config;
  const std::string loose = "max_failures: 100";
  tighter.replace(tighter.find(loose), loose.size(), "max_failures: 2");
  WriteFile(stack.proxy.config_path(), tighter);
  ASSERT_TRUE(Reload(stack.proxy, 1));
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(IsUnauthorized(HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", "bad")));
  }
  EXPECT_EQ(HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword).status,
            429);
  EXPECT_TRUE(stack.etcd.Missing(key));
  EXPECT_TRUE(stack.proxy.Stop());
}

// Both ways a client resumes: a TLS 1.3 ticket, and a TLS 1.2 session ID
// looked up in the server's cache.
TEST(ReloadKeepsStateTest, ClientsResumeAcrossSighup) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  for (const auto mode : {ResumingClient::Mode::kDefault, ResumingClient::Mode::kTls12SessionIds}) {
    SCOPED_TRACE(mode == ResumingClient::Mode::kDefault ? "TLS 1.3 ticket" : "TLS 1.2 session ID");
    ResumingClient client(mode);
    const ResumingClient::Round first = client.Connect(stack.port());
    ASSERT_TRUE(first.ok) << first.why;
    EXPECT_FALSE(first.resumed);
    const ResumingClient::Round before = client.Connect(stack.port());
    ASSERT_TRUE(before.ok) << before.why;
    EXPECT_TRUE(before.resumed);
  }
  ResumingClient ticket_client;
  ResumingClient session_id_client(ResumingClient::Mode::kTls12SessionIds);
  ASSERT_TRUE(ticket_client.Connect(stack.port()).ok);
  ASSERT_TRUE(session_id_client.Connect(stack.port()).ok);

  ASSERT_TRUE(Reload(stack.proxy, 1));
  const ResumingClient::Round ticket = ticket_client.Connect(stack.port());
  ASSERT_TRUE(ticket.ok) << ticket.why;
  EXPECT_EQ(ticket.status, 200);
  EXPECT_TRUE(ticket.resumed) << "a TLS 1.3 client did a full handshake after SIGHUP";
  const ResumingClient::Round session_id = session_id_client.Connect(stack.port());
  ASSERT_TRUE(session_id.ok) << session_id.why;
  EXPECT_EQ(session_id.status, 200);
  EXPECT_TRUE(session_id.resumed) << "a TLS 1.2 client did a full handshake after SIGHUP";
  EXPECT_TRUE(stack.proxy.Stop());
}

// A session made under other client-verification settings would skip the
// new checks (a certificate revoked by the new CRL, say): after such a
// reload, clients must do a full handshake.
TEST(ReloadKeepsStateTest, ChangedClientVerificationEndsResumption) {
  TempDir dir;
  const std::string crl = dir.File("crl.pem");
  WriteFile(crl, ReadFile(TestCertificates().crl));
  Stack stack;
  ProxyOptions options;
  options.crl = true;
  ASSERT_TRUE(stack.etcd.Start());
  options.upstream_port = stack.etcd.client_port();
  std::string yaml = ProxyConfigYaml(options, stack.proxy.port());
  const std::string crl_line = "crl: \"" + TestCertificates().crl + "\"";
  ASSERT_NE(yaml.find(crl_line), std::string::npos) << yaml;
  yaml.replace(yaml.find(crl_line), crl_line.size(), "crl: \"" + crl + "\"");
  ASSERT_TRUE(stack.proxy.StartWithYaml(yaml));
  ResumingClient client;
  ASSERT_TRUE(client.Connect(stack.port()).ok);
  ASSERT_TRUE(client.Connect(stack.port()).resumed);

  // The same revocations, but a different file: what a CRL refresh looks like.
  WriteFile(crl, ReadFile(TestCertificates().crl) + "a comment after the CRL\n");
  ASSERT_TRUE(Reload(stack.proxy, 1));
  const ResumingClient::Round after = client.Connect(stack.port());
  ASSERT_TRUE(after.ok) << after.why;
  EXPECT_EQ(after.status, 200);
  EXPECT_FALSE(after.resumed);
  EXPECT_NE(stack.proxy.Logs().find("need a full handshake"), std::string::npos);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(ReloadKeepsStateTest, RotatedAccessLogIsClosedAfterSighup) {
  TempDir dir;
  const std::string log = dir.File("access.log");
  const std::string rotated = dir.File("access.log.1");
  Stack stack;
  ProxyOptions options;
  ASSERT_TRUE(stack.etcd.Start());
  options.upstream_port = stack.etcd.client_port();
  std::string yaml = ProxyConfigYaml(options, stack.proxy.port());
  const std::string stderr_log = "access_log: stderr";
  yaml.replace(yaml.find(stderr_log), stderr_log.size(), "access_log: " + log);
  ASSERT_TRUE(stack.proxy.StartWithYaml(yaml));
  ASSERT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  ASSERT_GT(CountOpen(stack.proxy.pid(), log), 0u);

  // A kept-alive connection that stays open, idle, across the rotations.
  KeptAliveConnection idle;
  ASSERT_TRUE(idle.Open(stack.port()));
  ASSERT_EQ(idle.Get("/version"), 200);

  // logrotate: rename, then SIGHUP (postrotate), several nights running.
  for (int night = 1; night <= 3; ++night) {
    std::filesystem::rename(log, rotated);
    ASSERT_TRUE(Reload(stack.proxy, night));
    ASSERT_EQ(HttpsGet(stack.port(), "/version").status, 200);
    bool closed = false;
    for (int i = 0; i < 100 && !closed; ++i) {
      closed = CountOpen(stack.proxy.pid(), rotated) == 0;
      if (!closed) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(closed) << "night " << night << ": the rotated log is still open";
    EXPECT_GT(CountOpen(stack.proxy.pid(), log), 0u);
    std::filesystem::remove(rotated);
  }
  EXPECT_EQ(idle.Get("/v2/keys/?idle-connection"), 200);
  // The line is written once the response is sent: the client may read the
  // response before the worker has written it, so look a few times.
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    if (i > 0) std::this_thread::sleep_for(50ms);
    logged = ReadFile(log).find("/v2/keys") != std::string::npos;
  }
  EXPECT_TRUE(logged) << "the idle connection's request is not in the new log";
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
