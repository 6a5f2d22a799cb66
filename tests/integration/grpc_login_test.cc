// v3 clients logging in with a user and a password (issue 13): the proxy
// answers Auth/Authenticate itself and checks its own tokens on every call.
// Real clients: etcdctl v3 --user, python-etcd3 user=/password=, and grpcio
// for forged, expired and repeated tokens. Every refused write is checked
// in etcd directly.
#include <signal.h>

#include <future>
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

std::string Script(const std::string& name) {
  return std::string(TLSPROXY_PYTHON_DIR) + "/" + name;
}

// etcdctl v3 through the proxy, logging in as `user:password` ("" for none).
CommandResult Etcdctl(uint16_t port, const std::string& user_password,
                      const std::vector<std::string>& command) {
  std::vector<std::string> argv = {
      "/usr/bin/etcdctl", "--endpoints=https://localhost:" + std::to_string(port),
      "--cacert=" + TestCertificates().ca, "--dial-timeout=3s", "--command-timeout=5s"};
  if (!user_password.empty()) argv.push_back("--user=" + user_password);
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, {"ETCDCTL_API=3"}, 20s);
}

// grpc_token.py with `steps`; `who` a certificate name or "" for none.
CommandResult TokenSteps(uint16_t port, const std::string& steps, const std::string& who = "") {
  const Certificates& certs = TestCertificates();
  return RunCommand(
      {"/usr/bin/python3", Script("grpc_token.py"), std::to_string(port), certs.ca,
       who.empty() ? "" : certs.ClientCert(who), who.empty() ? "" : certs.ClientKey(who), steps},
      {}, 30s);
}

bool Has(const CommandResult& result, const std::string& text) {
  return result.output.find(text) != std::string::npos;
}

class GrpcLoginTest : public SharedProxyTest {};

TEST_F(GrpcLoginTest, EtcdctlUserConftoolWritesItsPrefixOnly) {
  const std::string conftool = std::string("conftool:") + kConftoolPassword;
  const std::string key = "/conftool/" + UniqueName("login");
  const CommandResult put = Etcdctl(port(), conftool, {"put", key, "v1"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "v1");
  const CommandResult get = Etcdctl(port(), conftool, {"get", key, "--print-value-only"});
  EXPECT_EQ(get.output, "v1\n");
  const CommandResult members = Etcdctl(port(), conftool, {"member", "list"});
  EXPECT_EQ(members.exit_code, 0) << members.output;

  const std::string outside = "/" + UniqueName("login");
  const CommandResult refused = Etcdctl(port(), conftool, {"put", outside, "x"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(Has(refused, "Error: etcdserver: permission denied")) << refused.output;
  EXPECT_EQ(etcd().V3ValueOf(outside), std::nullopt);

  const CommandResult del = Etcdctl(port(), conftool, {"del", key});
  EXPECT_EQ(del.output, "1\n") << del.output;
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcLoginTest, EtcdctlUserRootWritesAnywhere) {
  const std::string key = "/" + UniqueName("login-root");
  const CommandResult put =
      Etcdctl(port(), std::string("root:") + kRootPassword, {"put", key, "by-root"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "by-root");
}

TEST_F(GrpcLoginTest, WrongPasswordIsAuthenticationFailed) {
  const std::string key = "/conftool/" + UniqueName("wrong");
  const CommandResult wrong = Etcdctl(port(), "conftool:not-the-password", {"put", key, "x"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_TRUE(Has(wrong, "etcdserver: authentication failed, invalid user ID or password"))
      << wrong.output;
  const CommandResult unknown = Etcdctl(port(), "nobody:whatever", {"put", key, "x"});
  EXPECT_TRUE(Has(unknown, "etcdserver: authentication failed, invalid user ID or password"))
      << unknown.output;
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
  EXPECT_EQ(proxy().Logs().find("not-the-password"), std::string::npos);
}

TEST_F(GrpcLoginTest, PythonEtcd3UserAndPassword) {
  const Certificates& certs = TestCertificates();
  const std::string key = "/conftool/" + UniqueName("py-login");
  const std::string outside = "/" + UniqueName("py-login");
  const std::string steps = "[[\"put\",\"" + key + "\",\"py\"],[\"get\",\"" + key +
                            "\"],[\"put\",\"" + outside + "\",\"no\"]]";
  const CommandResult run =
      RunCommand({"/usr/bin/python3", Script("etcd3_steps.py"), "localhost", std::to_string(port()),
                  certs.ca, "", "", steps, "conftool", kConftoolPassword},
                 {}, 30s);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Has(run, R"({"ok": true, "step": "put"})")) << run.output;
  EXPECT_TRUE(Has(run, R"({"ok": true, "step": "get", "value": "py"})")) << run.output;
  EXPECT_TRUE(
      Has(run, R"("code": "PERMISSION_DENIED", "details": "etcdserver: permission denied")"))
      << run.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "py");
  EXPECT_EQ(etcd().V3ValueOf(outside), std::nullopt);

  const CommandResult bad =
      RunCommand({"/usr/bin/python3", Script("etcd3_steps.py"), "localhost", std::to_string(port()),
                  certs.ca, "", "", "[]", "conftool", "wrong"},
                 {}, 30s);
  EXPECT_TRUE(Has(bad, R"("code": "INVALID_ARGUMENT")")) << bad.output;
  EXPECT_TRUE(Has(bad, R"("step": "login")")) << bad.output;
}

TEST_F(GrpcLoginTest, ForgedTokenIsUnauthenticatedEverywhereAndRepeatedTokenIsFine) {
  const std::string key = "/conftool/" + UniqueName("token");
  const std::string forged = "etp1.636F6E66746F6F6C.9999999999.00";
  const CommandResult run = TokenSteps(
      port(), "[[\"login\",\"conftool\",\"" + std::string(kConftoolPassword) + "\"],[\"put\",\"" +
                  key + "\",\"twice\",[\"$login\",\"$login\"]],[\"range\",\"" + key + "\",[\"" +
                  forged + "\"]],[\"put\",\"" + key + "\",\"x\",[\"" + forged + "\"]],[\"put\",\"" +
                  key + "\",\"mixed\",[\"$login\",\"" + forged + "\"]]]");
  EXPECT_TRUE(Has(run, R"({"ok": true, "step": "login", "token_prefix": "etp1."})")) << run.output;
  EXPECT_TRUE(Has(run, R"({"ok": true, "step": "put"})")) << run.output;
  // A public read with a forged token is refused too, as a wrong basic-auth
  // password is a 401 on every path.
  EXPECT_TRUE(Has(
      run,
      R"({"code": "UNAUTHENTICATED", "details": "etcdserver: invalid auth token", "ok": false, "step": "range"})"))
      << run.output;
  EXPECT_TRUE(Has(
      run,
      R"({"code": "UNAUTHENTICATED", "details": "etcdserver: invalid auth token", "ok": false, "step": "put"})"))
      << run.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "twice");
  const std::string logs = proxy().Logs();
  EXPECT_EQ(logs.find("etp1."), std::string::npos) << "a token reached the log";
}

TEST_F(GrpcLoginTest, CertificateAndTokenTogether) {
  const std::string key = "/conftool/" + UniqueName("both");
  // An unlisted certificate (forger) plus conftool's token: conftool is listed.
  const CommandResult both =
      TokenSteps(port(),
                 "[[\"login\",\"conftool\",\"" + std::string(kConftoolPassword) +
                     "\"],[\"put\",\"" + key + "\",\"both\",[\"$login\"]]]",
                 "forger");
  EXPECT_TRUE(Has(both, R"({"ok": true, "step": "put"})")) << both.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "both");
  // root's certificate does not save a bad token.
  const CommandResult bad =
      TokenSteps(port(), "[[\"put\",\"" + key + "\",\"x\",[\"etp1.00.9999999999.00\"]]]", "root");
  EXPECT_TRUE(Has(bad, R"("code": "UNAUTHENTICATED")")) << bad.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "both");
}

// The JSON gateway's login: POST /v3/auth/authenticate, then the token in
// Authorization (bare, as etcd's gateway takes it, or as "Bearer").
TEST_F(GrpcLoginTest, GatewayAuthenticateAndToken) {
  const auto post = [this](const std::string& path, const std::string& json,
                           const std::string& authorization) {
    HttpsRequest request;
    request.method = "POST";
    request.path = path;
    request.body = json;
    if (!authorization.empty()) request.headers.push_back("Authorization: " + authorization);
    return Https(port(), request);
  };
  const HttpResponse login =
      post("/v3/auth/authenticate",
           "{\"name\":\"conftool\",\"password\":\"" + std::string(kConftoolPassword) + "\"}", "");
  ASSERT_EQ(login.status, 200) << login.body;
  const size_t at = login.body.find("\"token\":\"");
  ASSERT_NE(at, std::string::npos) << login.body;
  const std::string token = login.body.substr(at + 9, login.body.find('"', at + 9) - at - 9);
  ASSERT_EQ(token.rfind("etp1.", 0), 0u) << login.body;

  const std::string key = "/conftool/" + UniqueName("gateway-token");
  const std::string put = "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64("gw") + "\"}";
  EXPECT_EQ(post("/v3/kv/put", put, token).status, 200);
  EXPECT_EQ(etcd().V3ValueOf(key), "gw");
  const std::string outside = "/" + UniqueName("gateway-token");
  const HttpResponse refused = post(
      "/v3/kv/put", "{\"key\":\"" + Base64(outside) + "\",\"value\":\"eA==\"}", "Bearer " + token);
  EXPECT_TRUE(IsJsonError(refused, 403)) << refused.body;
  EXPECT_NE(refused.body.find("\"code\":7"), std::string::npos) << refused.body;
  EXPECT_EQ(etcd().V3ValueOf(outside), std::nullopt);

  const std::string other = "/conftool/" + UniqueName("gateway-bogus");
  const HttpResponse bogus =
      post("/v3/kv/put", "{\"key\":\"" + Base64(other) + "\",\"value\":\"eA==\"}",
           "etp1.00.9999999999.00");
  EXPECT_TRUE(IsJsonError(bogus, 401)) << bogus.body;
  EXPECT_NE(bogus.body.find("etcdserver: invalid auth token"), std::string::npos) << bogus.body;
  EXPECT_EQ(etcd().V3ValueOf(other), std::nullopt);

  const HttpResponse wrong =
      post("/v3/auth/authenticate", "{\"name\":\"conftool\",\"password\":\"nope\"}", "");
  EXPECT_TRUE(IsJsonError(wrong, 400)) << wrong.body;
  EXPECT_NE(wrong.body.find("authentication failed, invalid user ID or password"),
            std::string::npos)
      << wrong.body;
  EXPECT_EQ(proxy().Logs().find(token), std::string::npos) << "the token reached the log";
}

// etcdctl --user for a txn and for watches, with private reads so that the
// watches need the login: conftool's own prefix is watched, root's is not.
TEST(GrpcLoginPrivateTest, EtcdctlUserTxnAndWatch) {
  Stack stack;
  ProxyOptions options;
  options.public_reads = false;
  ASSERT_TRUE(stack.Start(options));
  const std::string conftool = std::string("conftool:") + kConftoolPassword;
  const std::string mine = "/conftool/" + UniqueName("user-txn");
  const std::string secret = "/conftool/secret/" + UniqueName("user-txn");
  ASSERT_EQ(Etcdctl(stack.port(), conftool, {"put", mine, "a"}).exit_code, 0);

  TempDir dir;
  const auto txn = [&](const std::string& input) {
    WriteFile(dir.File("stdin"), input);
    return RunCommand(
        {"/bin/sh", "-c", "exec \"$@\" < \"$0\"", dir.File("stdin"), "/usr/bin/etcdctl",
         "--endpoints=https://localhost:" + std::to_string(stack.port()),
         "--cacert=" + TestCertificates().ca, "--user=" + conftool, "--command-timeout=5s", "txn"},
        {"ETCDCTL_API=3"}, 30s);
  };
  const CommandResult hidden =
      txn("value(\"" + mine + "\") = \"a\"\n\nput " + secret + " leaked\n\n\n");
  EXPECT_NE(hidden.exit_code, 0);
  EXPECT_TRUE(Has(hidden, "etcdserver: permission denied")) << hidden.output;
  EXPECT_EQ(stack.etcd.V3ValueOf(secret), std::nullopt);
  const CommandResult allowed = txn("value(\"" + mine + "\") = \"a\"\n\nput " + mine + " b\n\n\n");
  EXPECT_EQ(allowed.output, "SUCCESS\n\nOK\n") << allowed.output;
  EXPECT_EQ(stack.etcd.V3ValueOf(mine), "b");

  // From revision 1: the writes above are history, so the watch has them
  // however late it starts; it never ends by itself, so the timeout stops it.
  const std::vector<std::string> base = {
      "/usr/bin/etcdctl", "--endpoints=https://localhost:" + std::to_string(stack.port()),
      "--cacert=" + TestCertificates().ca, "--user=" + conftool, "watch"};
  std::vector<std::string> watch_mine = base;
  watch_mine.insert(watch_mine.end(), {mine, "--rev=1"});
  const CommandResult seen = RunCommand(watch_mine, {"ETCDCTL_API=3"}, 4s);
  EXPECT_TRUE(Has(seen, "PUT\n" + mine + "\nb\n")) << seen.output;
  std::vector<std::string> watch_root = base;
  watch_root.insert(watch_root.end(), {"/" + UniqueName("root-only"), "--rev=1"});
  const CommandResult refused = RunCommand(watch_root, {"ETCDCTL_API=3"}, 4s);
  EXPECT_TRUE(Has(refused, "permission denied")) << refused.output;
  EXPECT_FALSE(Has(refused, "PUT")) << refused.output;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(GrpcLoginLifetimeTest, ExpiredTokenIsUnauthenticated) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "token_ttl: 1\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/conftool/" + UniqueName("expiry");
  const CommandResult run =
      TokenSteps(stack.port(), "[[\"login\",\"conftool\",\"" + std::string(kConftoolPassword) +
                                   "\"],[\"put\",\"" + key +
                                   "\",\"fresh\",[\"$login\"]],[\"sleep\",2.5],"
                                   "[\"put\",\"" +
                                   key + "\",\"stale\",[\"$login\"]]]");
  EXPECT_TRUE(Has(run, R"({"ok": true, "step": "put"})")) << run.output;
  EXPECT_TRUE(Has(
      run,
      R"({"code": "UNAUTHENTICATED", "details": "etcdserver: invalid auth token", "ok": false, "step": "put"})"))
      << run.output;
  EXPECT_EQ(stack.etcd.V3ValueOf(key), "fresh");
  EXPECT_TRUE(stack.proxy.Stop());
}

// clientv3 meets an expired token (status 16 "invalid auth token"), logs in
// again by itself and repeats the call: etcdctl lock holds the lock past the
// token's life, then unlocks with a fresh token.
TEST(GrpcLoginLifetimeTest, Clientv3LogsInAgainWhenItsTokenExpires) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "token_ttl: 1\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string lock = "lock-" + UniqueName("renew");
  const CommandResult run = Etcdctl(stack.port(), std::string("root:") + kRootPassword,
                                    {"lock", lock, "/bin/sleep", "2.5"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Has(run, "etcdserver: invalid auth token")) << run.output;  // clientv3's retry log
  const std::string logs = stack.proxy.Logs();
  EXPECT_NE(logs.find("path=\"/etcdserverpb.KV/DeleteRange\" status=200 grpc_status=16"),
            std::string::npos)
      << logs;
  EXPECT_NE(logs.find("path=\"/etcdserverpb.KV/DeleteRange\" status=200 grpc_status=0"),
            std::string::npos)
      << logs;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(GrpcLoginLifetimeTest, ReloadRemovingTheUserEndsItsTokensAtOnce) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  TempDir dir;
  const std::string go = dir.File("reloaded");
  const std::string key = "/conftool/" + UniqueName("removed");
  auto client = std::async(std::launch::async, [&] {
    return TokenSteps(stack.port(), "[[\"login\",\"conftool\",\"" + std::string(kConftoolPassword) +
                                        "\"],[\"put\",\"" + key +
                                        "\",\"before\",[\"$login\"]],"
                                        "[\"wait_file\",\"" +
                                        go + "\"],[\"put\",\"" + key +
                                        "\",\"after\",[\"$login\"]]]");
  });
  bool written = false;
  for (int i = 0; i < 200 && !written; ++i) {
    written = stack.etcd.V3ValueOf(key) == std::optional<std::string>("before");
    if (!written) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(written);
  // conftool leaves `accounts` (the rules still list the name: a
  // certificate could carry it).
  std::string yaml = ReadFile(stack.proxy.config_path());
  const size_t at = yaml.find("  \"conftool\":");
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.erase(at, yaml.find('\n', at) + 1 - at);
  WriteFile(stack.proxy.config_path(), yaml);
  ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
  bool reloaded = false;
  for (int i = 0; i < 200 && !reloaded; ++i) {
    reloaded = stack.proxy.Logs().find("reloaded") != std::string::npos;
    if (!reloaded) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(reloaded) << stack.proxy.Logs();
  WriteFile(go, "");
  const CommandResult run = client.get();
  EXPECT_TRUE(Has(
      run,
      R"({"code": "UNAUTHENTICATED", "details": "etcdserver: invalid auth token", "ok": false, "step": "put"})"))
      << run.output;
  EXPECT_EQ(stack.etcd.V3ValueOf(key), "before");
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
