// SIGHUP re-reads the config: an ACL change applies from the next request,
// a broken file changes nothing, and requests under steady load never fail
// across reloads.
#include <signal.h>

#include <atomic>
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// The default config with /eventlogging closed to everyone but root.
std::string Tightened(const std::string& yaml) {
  std::string out = yaml;
  const std::string open = "\"/eventlogging\": []";
  out.replace(out.find(open), open.size(), "\"/eventlogging\": [root]");
  return out;
}

// Waits (bounded) until the proxy's log mentions `text` `count` times.
bool WaitForLog(const ProxyProcess& proxy, const std::string& text, int count) {
  for (int i = 0; i < 100; ++i) {
    const std::string logs = proxy.Logs();
    int seen = 0;
    for (size_t at = logs.find(text); at != std::string::npos; at = logs.find(text, at + 1)) {
      ++seen;
    }
    if (seen >= count) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(ReloadTest, AclChangeAppliesToTheNextRequest) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string key = "/eventlogging/" + UniqueName("reload");
  EXPECT_EQ(HttpsPut(stack.port(), "/v2/keys" + key, "before").status, 201);

  const std::string original = ReadFile(stack.proxy.config_path());
  WriteFile(stack.proxy.config_path(), Tightened(original));
  ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
  ASSERT_TRUE(WaitForLog(stack.proxy, "reloaded", 1)) << stack.proxy.Logs();

  EXPECT_TRUE(IsUnauthorized(HttpsPut(stack.port(), "/v2/keys" + key, "after")));
  EXPECT_EQ(stack.etcd.ValueOf(key), "before");
  EXPECT_EQ(HttpsPut(stack.port(), "/v2/keys" + key, "root", "root", kRootPassword).status, 200);
  EXPECT_EQ(stack.etcd.ValueOf(key), "root");
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(ReloadTest, BrokenConfigChangesNothing) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string key = "/eventlogging/" + UniqueName("broken");
  const std::string original = ReadFile(stack.proxy.config_path());
  // Tightened, but with a typo: the whole new file must be refused.
  WriteFile(stack.proxy.config_path(), Tightened(original) + "publc_reads: false\n");
  ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
  ASSERT_TRUE(WaitForLog(stack.proxy, "reload refused", 1)) << stack.proxy.Logs();
  EXPECT_NE(stack.proxy.Logs().find("publc_reads (line"), std::string::npos) << stack.proxy.Logs();

  // The old ACL is still in force: anonymous writes to /eventlogging work.
  EXPECT_EQ(HttpsPut(stack.port(), "/v2/keys" + key, "still-open").status, 201);
  EXPECT_EQ(stack.etcd.ValueOf(key), "still-open");
  EXPECT_TRUE(stack.proxy.Alive());
  EXPECT_TRUE(stack.proxy.Stop());
}

// The value of the certificate-expiry gauge on the admin listener.
double CertificateExpiry(uint16_t admin_port) {
  const CommandResult scraped = RunCommand(
      {"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(admin_port) + "/metrics"});
  const std::string name = "\netcd_tlsproxy_server_certificate_expiry_timestamp_seconds ";
  const size_t at = scraped.output.find(name);
  return at == std::string::npos ? -1 : std::stod(scraped.output.substr(at + name.size()));
}

TEST(ReloadTest, RenewedCertificateWrittenOverTheOldFilesIsServedAfterSighup) {
  const Certificates& certs = TestCertificates();
  TempDir dir;
  const std::string cert = dir.File("server.pem");
  const std::string key = dir.File("server.key");
  WriteFile(cert, ReadFile(certs.server_cert));
  WriteFile(key, ReadFile(certs.server_key));

  Stack stack;
  ASSERT_TRUE(stack.etcd.Start());
  ProxyOptions options;
  options.upstream_port = stack.etcd.client_port();
  options.admin_port = FreePort();
  std::string yaml = ProxyConfigYaml(options, stack.proxy.port());
  yaml.replace(yaml.find(certs.server_cert), certs.server_cert.size(), cert);
  yaml.replace(yaml.find(certs.server_key), certs.server_key.size(), key);
  ASSERT_TRUE(stack.proxy.StartWithYaml(yaml));
  const double before = CertificateExpiry(options.admin_port);
  ASSERT_GT(before, 0);

  // Renew: a new key and a certificate valid for 30 days (the first was 7),
  // from the same CA, written over the old files.
  const std::string ext = dir.File("ext.cnf");
  WriteFile(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  ASSERT_EQ(RunCommand({"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost", "-keyout",
                        key, "-out", dir.File("server.csr")})
                .exit_code,
            0);
  ASSERT_EQ(RunCommand({"/usr/bin/openssl", "x509", "-req", "-in", dir.File("server.csr"), "-CA",
                        certs.ca, "-CAkey", certs.dir + "/ca.key", "-CAcreateserial", "-CAserial",
                        dir.File("ca.srl"), "-days", "30", "-extfile", ext, "-out", cert})
                .exit_code,
            0);
  ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
  ASSERT_TRUE(WaitForLog(stack.proxy, "reloaded", 1)) << stack.proxy.Logs();

  const double after = CertificateExpiry(options.admin_port);
  EXPECT_GT(after - before, 20 * 86400.0) << "the renewed certificate is not in use";
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);  // and it verifies
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(ReloadTest, NoRequestFailsAcrossReloadsUnderLoad) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string original = ReadFile(stack.proxy.config_path());
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      const std::string key = "/conftool/" + UniqueName("load" + std::to_string(c));
      // Bounded: at most 2000 requests per client.
      for (int i = 0; i < 2000 && !stop; ++i) {
        const HttpResponse response =
            (i % 2 == 0) ? HttpsPut(stack.port(), "/v2/keys" + key, std::to_string(i), "conftool",
                                    kConftoolPassword)
                         : HttpsGet(stack.port(), "/v2/keys" + key);
        ++done;
        if (response.status != 200 && response.status != 201) {
          ++failed;
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (first_failure.empty()) {
            first_failure = std::to_string(response.status) + " " + response.body + response.error;
          }
        }
      }
    });
  }
  // Ten reloads, alternating between two valid files that both allow the
  // load, while the clients run.
  for (int r = 0; r < 10; ++r) {
    WriteFile(stack.proxy.config_path(), (r % 2 == 0) ? Tightened(original) : original);
    ASSERT_TRUE(stack.proxy.Signal(SIGHUP));
    ASSERT_TRUE(WaitForLog(stack.proxy, "reloaded", r + 1)) << stack.proxy.Logs();
  }
  stop = true;
  for (std::thread& client : clients) client.join();
  EXPECT_GT(done.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "first failure: " << first_failure;
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
