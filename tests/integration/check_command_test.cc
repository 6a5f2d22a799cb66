// `etcd-tlsproxy --config FILE --check` exits 0 on a good file; on a bad one
// it exits non-zero and names every problem's key and line. Serving a bad
// file fails the same way and nothing listens.
#include <regex>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// The 1-based line of the first line of `yaml` containing `text`.
int LineOf(const std::string& yaml, const std::string& text) {
  const auto at = yaml.find(text);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + at, '\n'));
}

std::string Replace(std::string yaml, const std::string& from, const std::string& to) {
  const auto at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), to);
  return yaml;
}

// The output names `key` and the line number on the same line of output.
::testing::AssertionResult NamesKeyAndLine(const std::string& output, const std::string& key,
                                           int line) {
  std::istringstream lines(output);
  std::string text;
  const std::regex line_number("\\b" + std::to_string(line) + "\\b");
  while (std::getline(lines, text)) {
    if (text.find(key) != std::string::npos && std::regex_search(text, line_number)) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no line naming '" << key << "' and line " << line << " in:\n"
         << output;
}

ProxyOptions Defaults() {
  ProxyOptions options;
  options.upstream_port = 2378;
  return options;
}

TEST(CheckCommandTest, GoodConfigExitsZero) {
  const CheckResult result = RunCheck(ProxyConfigYaml(Defaults(), 2379));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(CheckCommandTest, UnknownKey) {
  const std::string yaml = ProxyConfigYaml(Defaults(), 2379) + "public_read: true\n";
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(NamesKeyAndLine(result.output, "public_read", LineOf(yaml, "public_read:")));
}

TEST(CheckCommandTest, UnknownUserInAnAcl) {
  ProxyOptions options = Defaults();
  options.client_ca = false;  // otherwise a name may be a certificate CN
  const std::string yaml =
      Replace(ProxyConfigYaml(options, 2379), "\"/conftool\": [root, conftool]",
              "\"/conftool\": [root, conftool, ghost]");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("ghost"), std::string::npos) << result.output;
  EXPECT_TRUE(NamesKeyAndLine(result.output, "/conftool", LineOf(yaml, "ghost")));
}

TEST(CheckCommandTest, WrongTypeAndUnsupportedHash) {
  ProxyOptions options = Defaults();
  options.accounts = {{"root", "{SHA}plain-sha1-is-not-supported="},
                      {"conftool", DefaultAccounts().at("conftool")}};
  const std::string yaml =
      Replace(ProxyConfigYaml(options, 2379), "public_reads: true", "public_reads: maybe");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  // Every problem is listed, not just the first.
  EXPECT_TRUE(NamesKeyAndLine(result.output, "public_reads", LineOf(yaml, "public_reads:")));
  EXPECT_TRUE(NamesKeyAndLine(result.output, "accounts.root", LineOf(yaml, "{SHA}")));
}

TEST(CheckCommandTest, MissingFileAndMalformedAclPath) {
  const std::string yaml =
      Replace(Replace(ProxyConfigYaml(Defaults(), 2379), TestCertificates().server_cert,
                      "/nonexistent/server.pem"),
              "\"/eventlogging\": []", "\"eventlogging\": []");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(NamesKeyAndLine(result.output, "tls.cert", LineOf(yaml, "/nonexistent/")));
  EXPECT_TRUE(NamesKeyAndLine(result.output, "eventlogging", LineOf(yaml, "\"eventlogging\"")));
}

TEST(CheckCommandTest, KeyDoesNotMatchCertificate) {
  const std::string yaml = Replace(ProxyConfigYaml(Defaults(), 2379), TestCertificates().server_key,
                                   TestCertificates().ClientKey("root"));
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("tls."), std::string::npos) << result.output;
}

// `tls_lines` added inside the `tls` section of the default config.
std::string WithTls(const std::string& tls_lines) {
  ProxyOptions options = Defaults();
  options.tls_yaml = tls_lines;
  return ProxyConfigYaml(options, 2379);
}

TEST(CheckCommandTest, TlsSettingsOpenSslAccepts) {
  const CheckResult result =
      RunCheck(WithTls("  protocols: [TLSv1.2, TLSv1.3]\n"
                       "  ciphers: \"ECDHE+AESGCM:ECDHE+CHACHA20\"\n"
                       "  groups: \"X25519:P-256:P-384\"\n"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(CheckCommandTest, CipherStringOpenSslRefuses) {
  const std::string yaml = WithTls("  ciphers: \"NO-SUCH-CIPHER:ALSO-NOT\"\n");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(NamesKeyAndLine(result.output, "tls.ciphers", LineOf(yaml, "ciphers:")));
  EXPECT_NE(result.output.find("NO-SUCH-CIPHER"), std::string::npos) << result.output;
}

TEST(CheckCommandTest, CiphersThatDoNotFitTheKeyAreRefused) {
  // The test server key is EC (P-256): RSA-authenticated suites can never be used.
  const std::string yaml = WithTls("  ciphers: \"ECDHE-RSA-AES128-GCM-SHA256\"\n");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(NamesKeyAndLine(result.output, "tls.ciphers", LineOf(yaml, "ciphers:")));
  // Fine once TLS 1.2 is off: the string then governs nothing.
  EXPECT_EQ(
      RunCheck(WithTls("  protocols: [TLSv1.3]\n  ciphers: \"ECDHE-RSA-AES128-GCM-SHA256\"\n"))
          .exit_code,
      0);
}

TEST(CheckCommandTest, GroupOpenSslDoesNotKnow) {
  const std::string yaml = WithTls("  groups: [X25519, P-999]\n");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(NamesKeyAndLine(result.output, "tls.groups", LineOf(yaml, "groups:")));
  EXPECT_NE(result.output.find("'P-999'"), std::string::npos) << result.output;
}

TEST(CheckCommandTest, UnknownOrRefusedProtocol) {
  const std::string yaml = WithTls("  protocols:\n    - TLSv1.1\n    - TLSv1.2\n    - TLSv1.4\n");
  const CheckResult result = RunCheck(yaml);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(NamesKeyAndLine(result.output, "tls.protocols[0]", LineOf(yaml, "TLSv1.1")));
  EXPECT_TRUE(NamesKeyAndLine(result.output, "tls.protocols[2]", LineOf(yaml, "TLSv1.4")));
}

TEST(CheckCommandTest, ServingABadConfigFailsAndNothingListens) {
  ProxyProcess proxy;
  const std::string yaml = ProxyConfigYaml(Defaults(), proxy.port()) + "bogus: 1\n";
  EXPECT_FALSE(proxy.StartWithYaml(yaml));
  EXPECT_NE(proxy.Logs().find("bogus"), std::string::npos) << proxy.Logs();
  EXPECT_EQ(HttpsGet(proxy.port(), "/version").status, 0);
}

}  // namespace
}  // namespace tlsproxy::integration
