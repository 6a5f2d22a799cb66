#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace tlsproxy::integration {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "integration harness: %s\n", message.c_str());
  std::abort();
}

std::string ToLower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// --- child processes --------------------------------------------------------

// argv/envp as C arrays, built before fork() so the child only calls
// async-signal-safe functions.
struct ExecArgs {
  std::vector<std::string> storage;
  std::vector<char*> argv;
  std::vector<char*> envp;

  ExecArgs(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
    for (const auto& arg : args) storage.push_back(arg);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    for (const auto& extra : extra_env) {
      const std::string name = extra.substr(0, extra.find('=') + 1);
      env.erase(std::remove_if(env.begin(), env.end(),
                               [&](const std::string& e) { return e.rfind(name, 0) == 0; }),
                env.end());
      env.push_back(extra);
    }
    const std::size_t argc = storage.size();
    for (auto& e : env) storage.push_back(std::move(e));
    for (std::size_t i = 0; i < argc; ++i) argv.push_back(storage[i].data());
    argv.push_back(nullptr);
    for (std::size_t i = argc; i < storage.size(); ++i) envp.push_back(storage[i].data());
    envp.push_back(nullptr);
  }
};

// In the child, after fork(): stdin from /dev/null, stdout+stderr to
// `out_fd`, nothing else inherited, killed if the test process dies.
[[noreturn]] void ExecChild(const ExecArgs& args, int null_fd, int out_fd, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  syscall(SYS_close_range, 3u, ~0u, 0u);
  signal(SIGPIPE, SIG_DFL);
  execve(args.argv[0], args.argv.data(), args.envp.data());
  _exit(127);
}

pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                  const std::vector<std::string>& extra_env = {}) {
  const ExecArgs args(argv, extra_env);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (null_fd < 0 || log_fd < 0) Die("cannot open /dev/null or " + log_path);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) Die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) ExecChild(args, null_fd, log_fd, parent);
  close(null_fd);
  close(log_fd);
  return pid;
}

// Waits for `pid` at most `timeout`; returns its wait status, or nullopt.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return status;
    if (got < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

// SIGTERM (or `signal_number`), then SIGKILL after `grace`. Returns the wait
// status, or nullopt when it had to be killed.
std::optional<int> StopChild(pid_t pid, int signal_number, std::chrono::milliseconds grace) {
  kill(pid, signal_number);
  std::optional<int> status = WaitFor(pid, grace);
  if (status) return status;
  kill(pid, SIGKILL);
  WaitFor(pid, 5s);
  return std::nullopt;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

bool CanConnect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

// --- libcurl ------------------------------------------------------------------

void EnsureCurl() {
  static const bool initialised = [] {
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) Die("curl_global_init failed");
    return true;
  }();
  (void)initialised;
}

struct Transfer {
  HttpResponse* response;
  const std::function<bool(const std::string&)>* on_data;
  const std::function<void(long)>* on_head;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->response->body.append(data, size * count);
  if (transfer->on_data != nullptr && *transfer->on_data &&
      !(*transfer->on_data)(transfer->response->body)) {
    return 0;  // abort the transfer
  }
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  HttpResponse* response = transfer->response;
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();  // a new response (after a 1xx)
    response->status = ParseStatus(line);
  } else if (line == "\r\n" || line == "\n") {
    if (response->status >= 200 && transfer->on_head != nullptr && *transfer->on_head) {
      (*transfer->on_head)(response->status);
    }
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    response->headers[ToLower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// One request with libcurl. `configure` adds the TLS options for HTTPS.
HttpResponse Perform(const std::string& url, const std::string& method, const std::string& body,
                     bool send_body, const std::vector<std::string>& headers,
                     std::chrono::milliseconds timeout,
                     const std::function<bool(const std::string&)>* on_data,
                     const std::function<void(long)>* on_head,
                     const std::function<void(CURL*, curl_slist**)>& configure) {
  EnsureCurl();
  HttpResponse response;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  CURL* c = curl.get();
  curl_slist* raw_headers = nullptr;
  for (const auto& header : headers) raw_headers = curl_slist_append(raw_headers, header.c_str());
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  curl_slist* resolve = nullptr;
  Transfer transfer{&response, on_data, on_head};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || !body.empty() || send_body) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!body.empty() || send_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  }
  if (configure) configure(c, &resolve);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, raw_headers);

  const CURLcode code = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  if (code != CURLE_OK) {
    response.error = std::string(curl_easy_strerror(code)) + ": " + error_buffer;
    // A transfer the caller aborted keeps its status; anything else is "no
    // response".
    if (code != CURLE_WRITE_ERROR) response.status = 0;
  }
  curl_slist_free_all(raw_headers);
  curl_slist_free_all(resolve);
  return response;
}

// --- OpenSSL --------------------------------------------------------------------

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

std::string OpenSslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

// True when `raw` holds one complete response (by Content-Length or the last
// chunk).
bool ResponseComplete(const std::string& raw) {
  const auto end_of_head = raw.find("\r\n\r\n");
  if (end_of_head == std::string::npos) return false;
  const std::string head = ToLower(raw.substr(0, end_of_head));
  const std::string body = raw.substr(end_of_head + 4);
  static const std::regex kContentLength("\r\ncontent-length:[ \t]*([0-9]+)");
  std::smatch match;
  if (std::regex_search(head, match, kContentLength)) {
    return body.size() >= std::stoull(match[1].str());
  }
  if (head.find("\r\ntransfer-encoding:") != std::string::npos &&
      head.find("chunked") != std::string::npos) {
    return body.size() >= 5 && body.compare(body.size() - 5, 5, "0\r\n\r\n") == 0;
  }
  const int status = ParseStatus(raw);
  return status == 204 || status == 304;
}

// Undoes the JSON string escapes Go's encoder writes (\uXXXX for <, >, &
// and control characters; ASCII only, which is all the tests store).
std::string JsonUnescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char escaped = text[++i];
    switch (escaped) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'u':
        if (i + 4 < text.size()) {
          out += static_cast<char>(std::stoi(text.substr(i + 1, 4), nullptr, 16));
          i += 4;
        }
        break;
      default:
        out += escaped;  // \" \\ \/
    }
  }
  return out;
}

}  // namespace

// --- public ---------------------------------------------------------------------

namespace {

uint16_t KernelFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Die(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

// A port is picked well before its process binds it (a ProxyProcess picks
// its port when constructed, before the EtcdServer of the same test starts),
// and the kernel may hand the same free port out twice meanwhile: a proxy
// was once given etcd's client port. So never hand out a port twice.
uint16_t FreePort() {
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;
  std::lock_guard<std::mutex> lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint16_t port = KernelFreePort();
    if (handed_out.insert(port).second) return port;
  }
  Die("no fresh free port in 100 attempts");
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/tlsproxy-it.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    Die("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) Die("cannot write " + path);
}

std::string RepoRoot() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();
}

const Certificates& TestCertificates() {
  static TempDir* const dir = new TempDir();  // outlives every test; removed below
  static const Certificates certificates = [] {
    const CommandResult made =
        RunCommand({"/bin/sh", RepoRoot() + "/scripts/make-certs.sh", dir->path()}, {}, 30s);
    if (made.exit_code != 0) Die("scripts/make-certs.sh failed:\n" + made.output);
    std::atexit([] { delete dir; });
    Certificates c;
    c.dir = dir->path();
    c.ca = dir->File("ca.pem");
    c.server_cert = dir->File("server.pem");
    c.server_key = dir->File("server.key");
    c.crl = dir->File("crl.pem");
    return c;
  }();
  return certificates;
}

std::string OpensslPasswd(const std::string& flag, const std::string& password) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, std::string> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& hash = cache[{flag, password}];
  if (hash.empty()) {
    const CommandResult made = RunCommand({"/usr/bin/openssl", "passwd", flag, password});
    if (made.exit_code != 0) Die("openssl passwd " + flag + " failed: " + made.output);
    hash = Trim(made.output);
  }
  return hash;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env,
                         std::chrono::milliseconds timeout) {
  CommandResult result;
  const ExecArgs args(argv, extra_env);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) Die("pipe2 failed");
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) ExecChild(args, null_fd, pipe_fds[1], parent);
  close(null_fd);
  close(pipe_fds[1]);

  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) {
      result.timed_out = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  if (result.timed_out) {
    kill(pid, SIGKILL);
    WaitFor(pid, 5s);
    return result;
  }
  const std::optional<int> status =
      WaitFor(pid, std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - Clock::now(), Clock::duration(1s))));
  if (!status) {
    result.timed_out = true;
    kill(pid, SIGKILL);
    WaitFor(pid, 5s);
  } else if (WIFEXITED(*status)) {
    result.exit_code = WEXITSTATUS(*status);
  }
  return result;
}

std::string HttpResponse::Header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

// --- EtcdServer -------------------------------------------------------------------

EtcdServer::EtcdServer() : client_port_(FreePort()), peer_port_(FreePort()) {}

EtcdServer::~EtcdServer() { Stop(); }

std::string EtcdServer::client_url() const {
  return "http://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdServer::Logs() const { return ReadFile(dir_.File("etcd.log")); }

::testing::AssertionResult EtcdServer::Start() {
  if (running()) return ::testing::AssertionFailure() << "etcd already running";
  for (int attempt = 0;; ++attempt) {
    ::testing::AssertionResult started = StartOnce();
    if (started || started_before_ || membership_ || attempt == 2) {
      if (started) started_before_ = true;
      return started;
    }
    if (Logs().find("address already in use") == std::string::npos) return started;
    // Someone took a port between FreePort() and etcd's bind: new ports,
    // fresh data directory.
    std::error_code ignored;
    std::filesystem::remove_all(dir_.File("data"), ignored);
    client_port_ = FreePort();
    peer_port_ = FreePort();
  }
}

::testing::AssertionResult EtcdServer::StartOnce() {
  const std::string client = client_url();
  pid_ = SpawnLogged(Argv(), dir_.File("etcd.log"));
  const auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure()
             << "etcd exited during start-up (" << DescribeWaitStatus(status) << "):\n"
             << Logs();
    }
    const HttpResponse health =
        Perform(client + "/health", "GET", "", false, {}, 1s, nullptr, nullptr, {});
    if (health.status == 200 && health.body.find("\"health\":\"true\"") != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(50ms);
  }
  Stop();
  return ::testing::AssertionFailure() << "etcd not healthy within 20 s:\n" << Logs();
}

std::string EtcdServer::peer_url() const {
  return "http://127.0.0.1:" + std::to_string(peer_port_);
}

std::string EtcdServer::name() const { return membership_ ? membership_->name : "default"; }

std::vector<std::string> EtcdServer::Argv() const {
  const std::string client = client_url();
  const std::string peer = peer_url();
  std::vector<std::string> argv = {"/usr/bin/etcd",
                                   "--name",
                                   name(),
                                   "--data-dir",
                                   dir_.File("data"),
                                   "--listen-client-urls",
                                   client,
                                   "--advertise-client-urls",
                                   client,
                                   "--listen-peer-urls",
                                   peer,
                                   "--initial-advertise-peer-urls",
                                   peer,
                                   "--initial-cluster",
                                   membership_ ? membership_->initial_cluster : "default=" + peer,
                                   "--enable-v2",
                                   "--logger",
                                   "zap",
                                   "--log-level",
                                   "error"};
  if (membership_) {
    argv.insert(argv.end(), {"--initial-cluster-state", membership_->initial_cluster_state});
    if (!membership_->initial_cluster_token.empty()) {
      argv.insert(argv.end(), {"--initial-cluster-token", membership_->initial_cluster_token});
    }
  }
  return argv;
}

::testing::AssertionResult EtcdServer::Launch() {
  if (running()) return ::testing::AssertionFailure() << "etcd already running";
  pid_ = SpawnLogged(Argv(), dir_.File("etcd.log"));
  started_before_ = true;  // the ports are taken now: Start() never picks new ones
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult EtcdServer::WaitHealthy(std::chrono::milliseconds timeout) {
  const std::string health_url = client_url() + "/health";
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pid_ <= 0) return ::testing::AssertionFailure() << "etcd " << name() << " is not running";
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "etcd " << name() << " exited during start-up ("
                                           << DescribeWaitStatus(status) << "):\n"
                                           << Logs();
    }
    const HttpResponse health = Perform(health_url, "GET", "", false, {}, 1s, nullptr, nullptr, {});
    if (health.status == 200 && health.body.find("\"health\":\"true\"") != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(50ms);
  }
  return ::testing::AssertionFailure()
         << "etcd " << name() << " not healthy within "
         << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() << " ms:\n"
         << Logs();
}

void EtcdServer::Signal(int signal_number) const {
  if (pid_ > 0) kill(pid_, signal_number);
}

void EtcdServer::Stop() {
  if (pid_ <= 0) return;
  StopChild(pid_, SIGTERM, 10s);
  pid_ = -1;
}

HttpResponse EtcdServer::Request(const std::string& method, const std::string& path,
                                 const std::string& body,
                                 const std::vector<std::string>& headers) const {
  return Perform(client_url() + path, method, body, false, headers, 10s, nullptr, nullptr, {});
}

HttpResponse EtcdServer::Get(const std::string& key) const {
  return Request("GET", "/v2/keys" + key);
}

bool EtcdServer::Put(const std::string& key, const std::string& value) const {
  char* escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
  const HttpResponse response = Request("PUT", "/v2/keys" + key, std::string("value=") + escaped);
  curl_free(escaped);
  return response.status == 200 || response.status == 201;
}

std::optional<std::string> EtcdServer::ValueOf(const std::string& key) const {
  const HttpResponse response = Get(key);
  if (response.status != 200) return std::nullopt;
  static const std::regex kValue("\"value\":\"((?:[^\"\\\\]|\\\\.)*)\"");
  std::smatch match;
  if (!std::regex_search(response.body, match, kValue)) return std::nullopt;
  return JsonUnescape(match[1].str());
}

bool EtcdServer::Missing(const std::string& key) const { return Get(key).status == 404; }

std::optional<std::string> EtcdServer::V3ValueOf(const std::string& key) const {
  const HttpResponse response =
      Request("POST", "/v3/kv/range", "{\"key\":\"" + Base64(key) + "\"}");
  static const std::regex kValue("\"value\":\"([A-Za-z0-9+/=]*)\"");
  std::smatch match;
  if (response.status != 200 || !std::regex_search(response.body, match, kValue)) {
    return std::nullopt;
  }
  const std::string encoded = match[1].str();
  std::string decoded(encoded.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(encoded.data()),
                                static_cast<int>(encoded.size()));
  if (n < 0) return std::nullopt;
  const std::size_t padding = static_cast<std::size_t>(
      std::count(encoded.end() - std::min<std::size_t>(2, encoded.size()), encoded.end(), '='));
  decoded.resize(static_cast<std::size_t>(n) - padding);
  return decoded;
}

// --- proxy -------------------------------------------------------------------------

const std::map<std::string, std::string>& DefaultAccounts() {
  static const std::map<std::string, std::string> accounts = {
      {"root", OpensslPasswd("-apr1", kRootPassword)},
      {"conftool", OpensslPasswd("-6", kConftoolPassword)},
  };
  return accounts;
}

namespace {
// `text` as a YAML double-quoted scalar (user names may hold '"' or '\\').
std::string YamlQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string ProxyConfigYaml(const ProxyOptions& options, uint16_t listen_port) {
  const Certificates& certs = TestCertificates();
  const auto& accounts = options.accounts.empty() ? DefaultAccounts() : options.accounts;
  std::ostringstream yaml;
  yaml << "listen: [\"127.0.0.1:" << listen_port << "\"]\n"
       << "upstream: \"http://127.0.0.1:" << options.upstream_port << "\"\n"
       << "tls:\n"
       << "  cert: \"" << certs.server_cert << "\"\n"
       << "  key: \"" << certs.server_key << "\"\n";
  if (options.client_ca) {
    yaml << "  client_ca: \"" << certs.ca << "\"\n"
         << "  require_client_cert: " << (options.require_client_cert ? "true" : "false") << "\n";
    if (options.crl) yaml << "  crl: \"" << certs.crl << "\"\n";
  }
  yaml << options.tls_yaml << "accounts:\n";
  for (const auto& [user, hash] : accounts) {
    yaml << "  " << YamlQuoted(user) << ": \"" << hash << "\"\n";
  }
  yaml << "acls:\n"
       << "  \"/\": [root]\n"
       << "  \"/conftool\": [root, conftool]\n"
       << "  \"/conftool/secret\": [root]\n"
       << "  \"/eventlogging\": []\n"
       << "public_reads: " << (options.public_reads ? "true" : "false") << "\n"
       << "read_only: " << (options.read_only ? "true" : "false") << "\n"
       << "max_body_bytes: " << options.max_body_bytes << "\n"
       << "max_header_bytes: " << options.max_header_bytes << "\n"
       << "log: {level: info, access_log: stderr}\n"
       << "admin_listen: "
       << (options.admin_port == 0 ? std::string("\"off\"")
                                   : "\"127.0.0.1:" + std::to_string(options.admin_port) + "\"")
       << "\n"
       << options.extra_yaml;
  // Suites that send many wrong passwords from 127.0.0.1 on purpose would
  // trip the failed-auth throttle; tests of the throttle set it themselves.
  if (options.extra_yaml.find("auth_throttle") == std::string::npos) {
    yaml << "auth_throttle: {max_failures: 0}\n";
  }
  return yaml.str();
}

ProxyProcess::ProxyProcess() : port_(FreePort()) {}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0) StopChild(pid_, SIGTERM, 10s);
}

std::string ProxyProcess::Logs() const { return ReadFile(dir_.File("proxy.log")); }

::testing::AssertionResult ProxyProcess::Start(const ProxyOptions& options) {
  ProxyOptions attempt_options = options;
  for (int attempt = 0;; ++attempt) {
    admin_port_ = attempt_options.admin_port;
    ::testing::AssertionResult started = StartWithYaml(ProxyConfigYaml(attempt_options, port_));
    if (started || attempt == 2) return started;
    const std::string logs = ToLower(Logs());
    if (logs.find("in use") == std::string::npos) return started;
    // Either port may have been taken since FreePort() picked it.
    port_ = FreePort();
    if (attempt_options.admin_port != 0) attempt_options.admin_port = FreePort();
  }
}

::testing::AssertionResult ProxyProcess::Spawn(const std::string& yaml) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "proxy already running";
  WriteFile(config_path(), yaml);
  WriteFile(dir_.File("proxy.log"), "");
  pid_ =
      SpawnLogged({TLSPROXY_BINARY, "--config", config_path()}, dir_.File("proxy.log"), extra_env_);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ProxyProcess::StartWithYaml(const std::string& yaml) {
  if (::testing::AssertionResult spawned = Spawn(yaml); !spawned) return spawned;
  const auto deadline = Clock::now() + 15s;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "etcd-tlsproxy exited during start-up ("
                                           << DescribeWaitStatus(status) << "); config:\n"
                                           << yaml << "log:\n"
                                           << Logs();
    }
    if (CanConnect(port_)) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(50ms);
  }
  StopChild(pid_, SIGKILL, 5s);
  pid_ = -1;
  return ::testing::AssertionFailure()
         << "etcd-tlsproxy not listening on port " << port_ << " within 15 s; log:\n"
         << Logs();
}

::testing::AssertionResult ProxyProcess::Stop(int signal_number) {
  if (pid_ <= 0) return ::testing::AssertionFailure() << "proxy not running";
  const std::optional<int> status = StopChild(pid_, signal_number, 15s);
  pid_ = -1;
  if (!status) {
    return ::testing::AssertionFailure()
           << "etcd-tlsproxy did not exit within 15 s of signal " << signal_number << "; log:\n"
           << Logs();
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return ::testing::AssertionFailure() << "etcd-tlsproxy: " << DescribeWaitStatus(*status)
                                         << " after signal " << signal_number << "; log:\n"
                                         << Logs();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ProxyProcess::Signal(int signal_number) {
  if (pid_ <= 0) return ::testing::AssertionFailure() << "the proxy is not running";
  if (kill(pid_, signal_number) != 0) {
    return ::testing::AssertionFailure() << "kill: " << std::strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ProxyProcess::Alive() {
  if (pid_ <= 0) return ::testing::AssertionFailure() << "proxy not running";
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return ::testing::AssertionFailure()
           << "etcd-tlsproxy died: " << DescribeWaitStatus(status) << "; log:\n"
           << Logs();
  }
  return ::testing::AssertionSuccess();
}

CheckResult RunCheck(const std::string& yaml) {
  TempDir dir;
  WriteFile(dir.File("config.yaml"), yaml);
  const CommandResult run =
      RunCommand({TLSPROXY_BINARY, "--config", dir.File("config.yaml"), "--check"});
  CheckResult result;
  result.exit_code = run.exit_code;
  result.output = run.output;
  return result;
}

// --- HTTPS through the proxy -----------------------------------------------------

HttpResponse Https(uint16_t port, const HttpsRequest& request) {
  const Certificates& certs = TestCertificates();
  const std::string url = "https://localhost:" + std::to_string(port) + request.path;
  return Perform(
      url, request.method, request.body, request.send_body, request.headers, request.timeout,
      &request.on_data, &request.on_head, [&](CURL* c, curl_slist** resolve) {
        const std::string address = request.address.find(':') == std::string::npos
                                        ? request.address
                                        : "[" + request.address + "]";
        *resolve = curl_slist_append(nullptr,
                                     ("localhost:" + std::to_string(port) + ":" + address).c_str());
        curl_easy_setopt(c, CURLOPT_RESOLVE, *resolve);
        curl_easy_setopt(c, CURLOPT_CAINFO, certs.ca.c_str());
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (request.client) {
          curl_easy_setopt(c, CURLOPT_SSLCERT, certs.ClientCert(*request.client).c_str());
          curl_easy_setopt(c, CURLOPT_SSLKEY, certs.ClientKey(*request.client).c_str());
        }
        if (request.user) {
          curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
          curl_easy_setopt(c, CURLOPT_USERNAME, request.user->c_str());
          curl_easy_setopt(c, CURLOPT_PASSWORD, request.password.c_str());
        }
      });
}

namespace {
HttpsRequest Simple(const std::string& method, const std::string& path, const std::string& user,
                    const std::string& password) {
  HttpsRequest request;
  request.method = method;
  request.path = path;
  if (!user.empty()) {
    request.user = user;
    request.password = password;
  }
  return request;
}
}  // namespace

HttpResponse HttpsGet(uint16_t port, const std::string& path, const std::string& user,
                      const std::string& password) {
  return Https(port, Simple("GET", path, user, password));
}

HttpResponse HttpsPut(uint16_t port, const std::string& path, const std::string& value,
                      const std::string& user, const std::string& password) {
  HttpsRequest request = Simple("PUT", path, user, password);
  char* escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
  request.body = std::string("value=") + escaped;
  curl_free(escaped);
  return Https(port, request);
}

HttpResponse HttpsDelete(uint16_t port, const std::string& path, const std::string& user,
                         const std::string& password) {
  return Https(port, Simple("DELETE", path, user, password));
}

// --- raw TLS -------------------------------------------------------------------------

int ParseStatus(const std::string& raw) {
  static const std::regex kStatusLine("^HTTP/1\\.[01] ([0-9]{3})");
  std::smatch match;
  if (!std::regex_search(raw, match, kStatusLine)) return 0;
  return std::stoi(match[1].str());
}

RawResponse ParseRawResponse(const std::string& raw) {
  RawResponse response;
  response.raw = raw;
  response.status = ParseStatus(raw);
  const auto end_of_head = raw.find("\r\n\r\n");
  if (end_of_head == std::string::npos) {
    response.head = raw;
    return response;
  }
  response.head = raw.substr(0, end_of_head);
  std::istringstream lines(response.head);
  std::string line;
  std::getline(lines, line);  // the status line
  while (std::getline(lines, line)) {
    if (const auto colon = line.find(':'); colon != std::string::npos) {
      response.headers[ToLower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
  }
  std::string body = raw.substr(end_of_head + 4);
  if (ToLower(response.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    std::string decoded;
    std::size_t at = 0;
    for (;;) {
      const auto line_end = body.find("\r\n", at);
      if (line_end == std::string::npos) break;
      const std::size_t size = std::strtoul(body.substr(at, line_end - at).c_str(), nullptr, 16);
      if (size == 0) break;
      decoded += body.substr(line_end + 2, size);
      at = line_end + 2 + size + 2;
      if (at > body.size()) break;
    }
    body = decoded;
  }
  response.body = body;
  return response;
}

HttpResponse AdminGet(uint16_t admin_port, const std::string& path) {
  const CommandResult result =
      RunCommand({"/usr/bin/curl", "-s", "-w", "\n%{http_code}",
                  "http://127.0.0.1:" + std::to_string(admin_port) + path});
  HttpResponse response;
  const size_t newline = result.output.rfind('\n');
  if (result.exit_code != 0 || newline == std::string::npos) {
    response.error = result.output;
    return response;
  }
  response.body = result.output.substr(0, newline);
  response.status = std::stol(result.output.substr(newline + 1));
  return response;
}

double AdminMetric(uint16_t admin_port, const std::string& series) {
  const HttpResponse metrics = AdminGet(admin_port, "/metrics");
  if (metrics.status != 200) return -1;
  const std::string needle = "\n" + series + " ";
  const size_t at = metrics.body.find(needle);
  if (at == std::string::npos) return 0;
  return std::stod(metrics.body.substr(at + needle.size()));
}

::testing::AssertionResult WaitForMetric(uint16_t admin_port, const std::string& series,
                                         double value, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  double seen = AdminMetric(admin_port, series);
  while (seen != value && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    seen = AdminMetric(admin_port, series);
  }
  if (seen == value) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << series << " is " << seen << ", not " << value << ", after " << timeout.count() << " ms";
}

int TcpConnect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

RawResponse RawTls(uint16_t port, const std::string& bytes,
                   const std::optional<std::string>& client, std::chrono::milliseconds timeout) {
  RawResponse failed;
  const Certificates& certs = TestCertificates();
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), certs.ca.c_str(), nullptr) != 1) {
    failed.error = "SSL_CTX setup: " + OpenSslErrors();
    return failed;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (client && (SSL_CTX_use_certificate_file(ctx.get(), certs.ClientCert(*client).c_str(),
                                              SSL_FILETYPE_PEM) != 1 ||
                 SSL_CTX_use_PrivateKey_file(ctx.get(), certs.ClientKey(*client).c_str(),
                                             SSL_FILETYPE_PEM) != 1)) {
    failed.error = "client certificate: " + OpenSslErrors();
    return failed;
  }

  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    failed.error = std::string("connect: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return failed;
  }
  timeval slice{0, 200 * 1000};  // the read loop re-checks the deadline this often
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice);
  timeval send_timeout{
      static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);

  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  const auto deadline = Clock::now() + timeout;
  int connected = 0;
  while ((connected = SSL_connect(ssl.get())) != 1) {
    const int error = SSL_get_error(ssl.get(), connected);
    if (error != SSL_ERROR_WANT_READ || Clock::now() >= deadline) {
      failed.error = "TLS handshake failed: " + OpenSslErrors();
      close(fd);
      return failed;
    }
  }

  std::size_t written = 0;
  while (written < bytes.size()) {
    const int n = SSL_write(ssl.get(), bytes.data() + written,
                            static_cast<int>(std::min<std::size_t>(bytes.size() - written, 16384)));
    if (n <= 0) break;  // the server may answer and close before reading it all
    written += static_cast<std::size_t>(n);
  }

  std::string raw;
  while (Clock::now() < deadline && raw.size() < (1u << 20)) {
    char buffer[16384];
    const int n = SSL_read(ssl.get(), buffer, sizeof buffer);
    if (n > 0) {
      raw.append(buffer, static_cast<std::size_t>(n));
      if (ResponseComplete(raw)) break;
      continue;
    }
    const int error = SSL_get_error(ssl.get(), n);
    if (error == SSL_ERROR_WANT_READ) continue;  // a slice passed
    break;                                       // closed or reset
  }
  SSL_shutdown(ssl.get());
  close(fd);
  ERR_clear_error();
  RawResponse response = ParseRawResponse(raw);
  if (raw.empty()) response.error = "no response";
  return response;
}

// --- small helpers -----------------------------------------------------------------

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string BasicAuthHeader(const std::string& user, const std::string& password) {
  return "Authorization: Basic " + Base64(user + ":" + password);
}

std::string TrimRight(const std::string& body) {
  const auto end = body.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? "" : body.substr(0, end + 1);
}

::testing::AssertionResult IsJsonWithMessage(const std::string& body) {
  const std::string trimmed = Trim(body);
  static const std::regex kMessage("\"message\"[ \t]*:[ \t]*\"[^\"]+\"");
  if (trimmed.empty() || trimmed.front() != '{' || trimmed.back() != '}' ||
      !std::regex_search(trimmed, kMessage)) {
    return ::testing::AssertionFailure()
           << "not a JSON object with a \"message\" string: '" << body << "'";
  }
  return ::testing::AssertionSuccess();
}

namespace {

::testing::AssertionResult IsEtcdError(const HttpResponse& response, long status,
                                       const std::string& body) {
  if (response.status != status) {
    return ::testing::AssertionFailure()
           << "status " << response.status << " (expected " << status << "), body '"
           << response.body << "'" << (response.error.empty() ? "" : ", error: ") << response.error;
  }
  if (TrimRight(response.body) != body) {
    return ::testing::AssertionFailure()
           << "body '" << response.body << "', expected '" << body << "'";
  }
  if (response.Header("content-type").rfind("application/json", 0) != 0) {
    return ::testing::AssertionFailure()
           << "Content-Type '" << response.Header("content-type") << "'";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

::testing::AssertionResult IsUnauthorized(const HttpResponse& response) {
  ::testing::AssertionResult result = IsEtcdError(response, 401, kInsufficientCredentialsBody);
  if (!result) return result;
  if (response.Header("www-authenticate") != "Basic realm=\"etcd\"") {
    return ::testing::AssertionFailure()
           << "WWW-Authenticate '" << response.Header("www-authenticate") << "'";
  }
  return result;
}

::testing::AssertionResult IsForbidden(const HttpResponse& response) {
  return IsEtcdError(response, 403, kInsufficientCredentialsBody);
}

::testing::AssertionResult IsReadOnlyRefusal(const HttpResponse& response) {
  return IsEtcdError(response, 403, kReadOnlyBody);
}

::testing::AssertionResult IsJsonError(const HttpResponse& response, long status) {
  if (response.status != status) {
    return ::testing::AssertionFailure()
           << "status " << response.status << " (expected " << status << "), body '"
           << response.body << "'" << (response.error.empty() ? "" : ", error: ") << response.error;
  }
  return IsJsonWithMessage(response.body);
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

// --- SharedProxyTest ------------------------------------------------------------------

::testing::AssertionResult Stack::Start(ProxyOptions options) {
  if (::testing::AssertionResult started = etcd.Start(); !started) return started;
  options.upstream_port = etcd.client_port();
  return proxy.Start(options);
}

Stack* SharedProxyTest::stack_ = nullptr;
std::string SharedProxyTest::setup_error_;

void SharedProxyTest::StartShared(const ProxyOptions& options) {
  stack_ = new Stack();
  setup_error_.clear();
  if (::testing::AssertionResult started = stack_->Start(options); !started) {
    setup_error_ = started.message();
  }
}

void SharedProxyTest::TearDownTestSuite() {
  if (stack_ != nullptr && stack_->proxy.running()) {
    ::testing::AssertionResult stopped = stack_->proxy.Stop();
    if (!stopped) ADD_FAILURE() << stopped.message();
  }
  delete stack_;
  stack_ = nullptr;
}

void SharedProxyTest::SetUp() { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

void SharedProxyTest::TearDown() {
  // Whatever the test sent, the proxy must still be there.
  if (setup_error_.empty()) {
    EXPECT_TRUE(stack_->proxy.Alive());
  }
}

NoAsanQuarantine::NoAsanQuarantine() {
  const char* old = getenv("ASAN_OPTIONS");
  had_ = old != nullptr;
  if (had_) old_ = old;
  const std::string value =
      (had_ ? old_ + ":" : "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
  setenv("ASAN_OPTIONS", value.c_str(), 1);
}

NoAsanQuarantine::~NoAsanQuarantine() {
  if (had_) {
    setenv("ASAN_OPTIONS", old_.c_str(), 1);
  } else {
    unsetenv("ASAN_OPTIONS");
  }
}

CommandResult WatchThroughProxy(uint16_t port, const std::string& who, const std::string& key,
                                int events, int seconds) {
  const Certificates& certs = TestCertificates();
  return RunCommand({"/usr/bin/python3", std::string(TLSPROXY_PYTHON_DIR) + "/grpc_watch.py",
                     std::to_string(port), certs.ca, certs.ClientCert(who), certs.ClientKey(who),
                     key, std::to_string(events), std::to_string(seconds)},
                    {}, std::chrono::seconds(seconds + 5));
}
}  // namespace tlsproxy::integration
