// The integration-test harness: real processes on real loopback sockets.
//
// It starts a real etcd (Debian's etcd-server, v2 API on) and the real
// etcd-tlsproxy binary on free ports, with certificates minted once per test
// binary by scripts/make-certs.sh, and talks to them as clients do: libcurl
// over HTTPS for ordinary requests, a raw OpenSSL client for the byte strings
// libcurl will not send, plaintext libcurl straight to etcd to check what etcd
// really holds, and etcdctl.
//
// Ownership: every process and temporary directory is owned by an RAII object
// and is stopped/removed by its destructor, also when a test fails half-way.
// Every wait is bounded. Functions that can fail return a
// ::testing::AssertionResult (use ASSERT_TRUE) or a value with a status of 0
// and an `error` text.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tlsproxy::integration {

using namespace std::chrono_literals;

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read
// back, closed), and never returned before by this test binary. Another
// process may take it before we do; callers that can retry do.
uint16_t FreePort();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away. Aborts the test binary if it cannot be made.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// The repository root, derived from this file's location at compile time.
std::string RepoRoot();

// TLS material made by scripts/make-certs.sh, once per test binary, in a
// directory that lives until the binary exits. Client names: "root",
// "conftool" (signed by the trusted CA), "forger" (signed by the trusted CA,
// CN = kForgerCommonName) and "rogue" (CN=root, signed by a CA the proxy does
// not trust). Also CN=root certificates signed by the trusted
// CA that must never verify: "revoked" (listed in crl.pem), "expired",
// "notyet" (valid from 2100), "serverauth" (extendedKeyUsage serverAuth
// only) and "nosign" (keyUsage keyEncipherment only). For tls.identity
// (subjectAltName names, signed by the trusted CA; see make-certs.sh):
// "uri-conftool", "dns-conftool", "uri-two", "uri-outside",
// "root-uri-nobody", "uri-newline", "uri-long" and "uri-forger".
struct Certificates {
  std::string dir;
  std::string ca;           // ca.pem
  std::string server_cert;  // server.pem
  std::string server_key;   // server.key
  std::string crl;          // crl.pem: ca.pem's CRL, revoking client-revoked.pem
  std::string ClientCert(const std::string& name) const { return dir + "/client-" + name + ".pem"; }
  std::string ClientKey(const std::string& name) const { return dir + "/client-" + name + ".key"; }
};
const Certificates& TestCertificates();
// The CN of client-forger.pem: UTF-8, with quotes that would forge
// access-log fields if written unescaped.
inline constexpr char kForgerCommonName[] = "jos\xc3\xa9\" status=200 identity=\"cert:root";

// Passwords of the default accounts and their hashes, made once with the
// openssl CLI (`openssl passwd -apr1|-5|-6`) so that the hashes are what
// the puppet code and htpasswd produce.
inline constexpr char kRootPassword[] = "root-Pa55word";
inline constexpr char kConftoolPassword[] = "conftool-Pa55word";
// A bcrypt ($2y$, cost 5) hash of "secret".
inline constexpr char kBcryptSecretHash[] =
    "$2y$05$CiS0pPZhO1ktnuTG8K8qd.wD7ENIpvsF7fXlE9tdLhoZk6.WlJSt2";
std::string OpensslPasswd(const std::string& flag, const std::string& password);

// The result of running a short-lived command to completion.
struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved
};
// Runs argv[0] (a path) with argv, extra environment entries ("K=V") added
// to ours, and a bounded wait; SIGKILL when the time is up.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {},
                         std::chrono::milliseconds timeout = 20s);

// Plain HTTP, straight to etcd (no proxy).
struct HttpResponse {
  long status = 0;  // 0: no response; see error
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string error;                           // libcurl's message when status == 0
  std::string Header(const std::string& lower_name) const;
};

// Membership of an EtcdServer in a multi-member cluster (see
// EtcdServer::SetMembership): the values of etcd's --name, --initial-cluster,
// --initial-cluster-state and --initial-cluster-token.
struct EtcdMembership {
  std::string name;
  std::string initial_cluster;                // "a=http://127.0.0.1:1,b=http://127.0.0.1:2"
  std::string initial_cluster_state = "new";  // or "existing"
  std::string initial_cluster_token;          // empty: etcd's default
};

// One etcd server on loopback with the v2 API on, its own data directory and
// ports. Start() again after Stop() reuses both (a restart, for "upstream down
// and back"). The destructor stops it.
class EtcdServer {
 public:
  EtcdServer();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Starts etcd and waits (at most 20 s) until GET /health says healthy.
  // On the first start, retries with other ports if they were taken (not
  // for a cluster member: see SetMembership).
  ::testing::AssertionResult Start();
  // SIGTERM, then SIGKILL after 10 s. Idempotent.
  void Stop();
  bool running() const { return pid_ > 0; }
  // Sends a signal (SIGSTOP/SIGCONT make etcd hang and resume).
  void Signal(int signal_number) const;

  // Makes this server a member of a multi-member cluster instead of the
  // single-member cluster named "default". Call before the first start. The
  // ports are then fixed (they are in every member's --initial-cluster):
  // start with Launch() and WaitHealthy(), which never pick new ports.
  void SetMembership(EtcdMembership membership) { membership_ = std::move(membership); }
  // Spawns etcd without waiting for it to become healthy (a cluster member
  // is healthy only once a quorum of members runs).
  ::testing::AssertionResult Launch();
  // Waits at most `timeout` until GET /health says healthy; fails at once,
  // with the log, if etcd exits. Leaves etcd running either way.
  ::testing::AssertionResult WaitHealthy(std::chrono::milliseconds timeout);

  uint16_t client_port() const { return client_port_; }
  std::string client_url() const;
  uint16_t peer_port() const { return peer_port_; }
  std::string peer_url() const;
  // The --name: "default" unless SetMembership() said otherwise.
  std::string name() const;
  std::string Logs() const;

  // Direct plaintext access. `path` starts with '/', e.g. "/v2/keys/a".
  HttpResponse Request(const std::string& method, const std::string& path,
                       const std::string& body = "",
                       const std::vector<std::string>& headers = {}) const;
  // GET /v2/keys<key> (key starts with '/').
  HttpResponse Get(const std::string& key) const;
  // PUT /v2/keys<key> value=<value>; returns true on 200/201.
  bool Put(const std::string& key, const std::string& value) const;
  // The value at `key`, or nullopt when etcd says 404 (or anything else
  // non-200: the caller asserts on that).
  std::optional<std::string> ValueOf(const std::string& key) const;
  // True when etcd has no node at `key` (404).
  bool Missing(const std::string& key) const;
  // The v3 value of `key` through the JSON gateway, nullopt if absent.
  std::optional<std::string> V3ValueOf(const std::string& key) const;

 private:
  ::testing::AssertionResult StartOnce();
  std::vector<std::string> Argv() const;

  TempDir dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
  bool started_before_ = false;
  std::optional<EtcdMembership> membership_;
};

// Knobs for a proxy configuration with the defaults the tests share:
// accounts root ($apr1$) and conftool ($6$), and acls
//   /: [root], /conftool: [root, conftool], /conftool/secret: [root],
//   /eventlogging: []
struct ProxyOptions {
  uint16_t upstream_port = 0;  // etcd's client port (nothing listening is fine)
  bool client_ca = true;       // set tls.client_ca (ask for client certificates)
  bool require_client_cert = false;
  bool public_reads = true;
  bool read_only = false;
  std::size_t max_body_bytes = 20971520;
  std::size_t max_header_bytes = 16384;
  // user -> hash; empty means the defaults above.
  std::map<std::string, std::string> accounts;
  // admin_listen on 127.0.0.1:<port> (take one from FreePort()); 0: "off".
  // ProxyProcess::Start picks another when it is taken: ask the process for
  // the port in use (ProxyProcess::admin_port()), not these options.
  uint16_t admin_port = 0;
  bool crl = false;        // set tls.crl to crl.pem (only with client_ca)
  std::string extra_yaml;  // appended verbatim (top-level keys)
  std::string tls_yaml;    // appended verbatim inside `tls` (lines indented by two spaces)
};
// The YAML text for `options`, listening on 127.0.0.1:<listen_port>.
std::string ProxyConfigYaml(const ProxyOptions& options, uint16_t listen_port);
// The default accounts (user -> hash).
const std::map<std::string, std::string>& DefaultAccounts();

// The proxy binary under test as a child process. Its stderr (and stdout)
// go to a log file; the destructor stops it.
class ProxyProcess {
 public:
  ProxyProcess();
  ~ProxyProcess();
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  // Writes ProxyConfigYaml(options, port()) and starts; when a port was
  // taken (the listen port or the admin port), retries with other ports.
  ::testing::AssertionResult Start(const ProxyOptions& options);
  // Starts with exactly this YAML (which should listen on port()).
  // Waits (at most 15 s) until a TCP connect to port() succeeds; fails at
  // once, with the log, if the process exits first.
  ::testing::AssertionResult StartWithYaml(const std::string& yaml);
  // Writes `yaml` and spawns the proxy without waiting for anything, for a
  // test that waits on a readiness signal of its own.
  ::testing::AssertionResult Spawn(const std::string& yaml);
  // Entries ("K=V") added to the environment of the next start, e.g.
  // NOTIFY_SOCKET.
  void SetExtraEnvironment(std::vector<std::string> entries) { extra_env_ = std::move(entries); }
  // Sends `signal_number` and waits (at most 15 s, then SIGKILL) for the
  // exit; succeeds when the exit status is 0.
  ::testing::AssertionResult Stop(int signal_number = 15 /* SIGTERM */);
  bool running() const { return pid_ > 0; }
  // Fails (with the log) if the process has exited since it started.
  ::testing::AssertionResult Alive();
  // Sends `signal_number` (e.g. SIGHUP) without waiting for anything.
  ::testing::AssertionResult Signal(int signal_number);
  pid_t pid() const { return pid_; }

  uint16_t port() const { return port_; }
  // The admin port the last Start() configured (0: none). StartWithYaml()
  // leaves it alone.
  uint16_t admin_port() const { return admin_port_; }
  std::string config_path() const { return dir_.File("config.yaml"); }
  std::string Logs() const;

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  pid_t pid_ = -1;
  std::vector<std::string> extra_env_;
};

// Runs `etcd-tlsproxy --config FILE --check` on `yaml`.
struct CheckResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};
CheckResult RunCheck(const std::string& yaml);

// One HTTPS request through the proxy, made with libcurl: verifies the
// server against ca.pem and the host name "localhost" (pinned to `address`,
// 127.0.0.1 unless set). The path is sent as written (no dot-segment
// squashing).
struct HttpsRequest {
  std::string method = "GET";
  std::string path = "/";            // with the query string
  std::string body;                  // sent when non-empty (or when send_body)
  bool send_body = false;            // send an empty body with Content-Length: 0
  std::vector<std::string> headers;  // "Name: value"
  std::optional<std::string> user;   // basic auth
  std::string password;
  std::optional<std::string> client;  // "root", "conftool", "rogue"
  std::chrono::milliseconds timeout = 10s;
  // Called with the body received so far each time more arrives (for
  // streams); returning false ends the transfer (the status is kept).
  std::function<bool(const std::string&)> on_data;
  // Called once the final response head has arrived (status and headers),
  // before any of the body: for a watch, etcd has registered it by then.
  std::function<void(long status)> on_head;
  // The loopback address "localhost" is pinned to: "127.0.0.1" or "::1".
  std::string address = "127.0.0.1";
};
HttpResponse Https(uint16_t port, const HttpsRequest& request);

// Shorthands for the common cases (basic auth when user is non-empty).
HttpResponse HttpsGet(uint16_t port, const std::string& path, const std::string& user = "",
                      const std::string& password = "");
HttpResponse HttpsPut(uint16_t port, const std::string& path, const std::string& value,
                      const std::string& user = "", const std::string& password = "");
HttpResponse HttpsDelete(uint16_t port, const std::string& path, const std::string& user = "",
                         const std::string& password = "");

// GET http://127.0.0.1:<admin_port><path> (the proxy's plain-HTTP admin
// listener) with the curl CLI; status 0 and `error` set when curl fails.
HttpResponse AdminGet(uint16_t admin_port, const std::string& path);
// The value of one series ("name" or "name{labels}", exactly as printed) on
// the admin listener's /metrics: 0 when it has no line (a labelled counter
// that never counted), -1 when /metrics cannot be read.
double AdminMetric(uint16_t admin_port, const std::string& series);
// Reads /metrics until `series` has `value`; fails, with the last value
// seen, after `timeout`.
::testing::AssertionResult WaitForMetric(uint16_t admin_port, const std::string& series,
                                         double value, std::chrono::milliseconds timeout = 10s);
// A plain TCP connection to 127.0.0.1:port (no TLS), or -1.
int TcpConnect(uint16_t port);

// A response read off a raw connection: status, lower-cased headers and the
// body (de-chunked when the response was chunked), plus the raw bytes.
struct RawResponse : HttpResponse {
  std::string head;  // status line and headers, without the blank line
  std::string raw;
};
// Connects to 127.0.0.1:port over TLS (trusting ca.pem, optionally with a
// client certificate), writes `bytes` exactly, and reads until the server
// closes, one complete response has arrived, `timeout` passes or 1 MiB.
RawResponse RawTls(uint16_t port, const std::string& bytes,
                   const std::optional<std::string>& client = std::nullopt,
                   std::chrono::milliseconds timeout = 10s);
// The status code from "HTTP/1.x NNN ...", or 0.
int ParseStatus(const std::string& raw);
RawResponse ParseRawResponse(const std::string& raw);

// "Authorization: Basic <base64(user:password)>"
std::string BasicAuthHeader(const std::string& user, const std::string& password);
std::string Base64(const std::string& bytes);

// The etcd v2 bodies the proxy must send, without etcd's trailing newline.
inline constexpr char kInsufficientCredentialsBody[] =
    "{\"errorCode\":110,\"message\":\"The request requires user authentication\","
    "\"cause\":\"Insufficient credentials\",\"index\":0}";
inline constexpr char kReadOnlyBody[] =
    "{\"errorCode\":107,\"message\":\"This cluster is in read-only mode\","
    "\"cause\":\"Cluster configured to be read-only\",\"index\":0}";

// `body` with trailing whitespace removed (etcd ends its JSON with "\n").
std::string TrimRight(const std::string& body);
// A JSON object with a non-empty string field "message". A shallow check:
// starts with '{', ends with '}', has "message":"<something>".
::testing::AssertionResult IsJsonWithMessage(const std::string& body);

// What the proxy's refusals must look like (Content-Type application/json):
// 401 with `WWW-Authenticate: Basic realm="etcd"` and the errorCode 110 body.
::testing::AssertionResult IsUnauthorized(const HttpResponse& response);
// 403 with the errorCode 110 body.
::testing::AssertionResult IsForbidden(const HttpResponse& response);
// 403 with the errorCode 107 (read-only) body.
::testing::AssertionResult IsReadOnlyRefusal(const HttpResponse& response);
// `status` with a JSON body carrying a "message" (400, 413, 414, 431, 502, 504).
::testing::AssertionResult IsJsonError(const HttpResponse& response, long status);

// A gRPC Watch through the proxy at `port` (tests/integration/python/
// grpc_watch.py: grpcio) as certificate `who` on `key`, until `events`
// events or the stream ends, at most `seconds`; its output lists what it
// saw ("created ID canceled=0|1", "event KEY VALUE", "status CODE ...").
CommandResult WatchThroughProxy(uint16_t port, const std::string& who, const std::string& key,
                                int events, int seconds);

// For memory checks: under AddressSanitizer freed memory waits in a
// quarantine (256 MiB by default) and would read as growth. A process
// started while this is alive inherits ASAN_OPTIONS with the quarantine off;
// without ASan the variable is harmless.
class NoAsanQuarantine {
 public:
  NoAsanQuarantine();
  ~NoAsanQuarantine();
  NoAsanQuarantine(const NoAsanQuarantine&) = delete;
  NoAsanQuarantine& operator=(const NoAsanQuarantine&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

// A name unique within this process and across concurrent test processes,
// for keys: "<prefix>-<pid>-<counter>".
std::string UniqueName(const std::string& prefix);

// An etcd and a proxy in front of it, for tests that need their own.
struct Stack {
  // Starts etcd, then the proxy with `options` (upstream_port is filled in).
  ::testing::AssertionResult Start(ProxyOptions options = {});
  uint16_t port() const { return proxy.port(); }

  EtcdServer etcd;
  ProxyProcess proxy;
};

// A test suite with one etcd and one proxy shared by its tests; each test
// uses its own keys (UniqueName). A suite that wants other proxy options
// declares its own `static void SetUpTestSuite() { StartShared(options); }`.
// After every test the proxy must still be running.
class SharedProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartShared(ProxyOptions{}); }
  static void TearDownTestSuite();
  static void StartShared(const ProxyOptions& options);
  void SetUp() override;
  void TearDown() override;

  static EtcdServer& etcd() { return stack_->etcd; }
  static ProxyProcess& proxy() { return stack_->proxy; }
  static uint16_t port() { return stack_->port(); }

 private:
  static Stack* stack_;
  static std::string setup_error_;
};

}  // namespace tlsproxy::integration
