// Unit tests for config/: YAML text -> validated Config, and the errors
// (key, line, message) for each kind of bad input. TLS files are dummy
// readable files made per test in a temporary folder: config/ only checks
// that they are readable.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"

namespace tlsproxy::config {
namespace {

namespace fs = std::filesystem;

// Real hashes of "secret".
constexpr char kApr1[] = "$apr1$Y9NMW2Ju$IgOA.YjYelmiOzu/gljQL1";
constexpr char kBcrypt[] = "$2y$05$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6";
constexpr char kSha512[] =
    "$6$1ExJLxG9MRRScKdS$b4/KP/tKi5IQHyCmVCF80.NL88raynZFpppXyaywGNeieEJh17yJlGz4w/"
    "ZxqRb.rfscS/wRWX9roQtNONyMs1";
constexpr char kSha256[] = "$5$RQL.nJuR.UgDUMxR$nJcubQ753bs.FAl10EGmEMaPxAF6adlOFNmB16UiM2C";

// A temporary folder holding dummy cert.pem, key.pem, ca.pem and crl.pem.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "config_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    for (const char* name : {"cert.pem", "key.pem", "ca.pem", "crl.pem"}) {
      std::ofstream(dir_ / name) << "dummy\n";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Replaces every "@DIR@" in `text` with the temporary folder.
  std::string Expand(std::string text) const {
    const std::string marker = "@DIR@";
    for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
      text.replace(at, marker.size(), dir_.string());
    }
    return text;
  }

  LoadResult Parse(const std::string& text) const { return ParseConfig(Expand(text)); }

  std::string WriteFile(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    std::ofstream(path) << Expand(text);
    return path.string();
  }

  fs::path dir_;
};

std::string Dump(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& error : errors) out += "  " + error.ToString() + "\n";
  return out;
}

// Just the required keys; line 1 is "tls:".
const char kMinimal[] =
    "tls:\n"
    "  cert: @DIR@/cert.pem\n"
    "  key: @DIR@/key.pem\n"
    "acls:\n"
    "  /: []\n";

// The minimal config with `tls_lines` inside `tls` (lines 4 and on).
std::string TlsPlus(const std::string& tls_lines) {
  return "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n" + tls_lines + "acls: {/: []}\n";
}

TEST_F(ConfigTest, FullConfigRoundTrips) {
  const std::string text = std::string() +
                           "listen: [\"127.0.0.1:12379\", \"[::1]:12380\"]\n"  // 1
                           "upstream: \"http://localhost:2378/\"\n"            // 2
                           "tls:\n"                                            // 3
                           "  cert: @DIR@/cert.pem\n"                          // 4
                           "  key: @DIR@/key.pem\n"                            // 5
                           "  client_ca: @DIR@/ca.pem\n"                       // 6
                           "  crl: @DIR@/crl.pem\n"                            // 7
                           "  require_client_cert: true\n"                     // 8
                           "accounts:\n"                                       // 9
                           "  root: \"" +
                           kApr1 +
                           "\"\n"  // 10
                           "  conftool: \"" +
                           kBcrypt +
                           "\"\n"  // 11
                           "  six: \"" +
                           kSha512 +
                           "\"\n"  // 12
                           "  five: \"" +
                           kSha256 +
                           "\"\n"                                   // 13
                           "acls:\n"                                // 14
                           "  /conftool/: [root, conftool]\n"       // 15
                           "  /: [root]\n"                          // 16
                           "  /eventlogging: []\n"                  // 17
                           "  /certs: [etcd-client.example.org]\n"  // 18
                           "public_reads: false\n"
                           "read_only: true\n"
                           "max_body_bytes: 1048576\n"
                           "max_header_bytes: 8192\n"
                           "log: { level: debug, access_log: /var/log/etcd-tlsproxy.log }\n";
  const LoadResult result = Parse(text);
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  const Config& config = *result.config;

  ASSERT_EQ(config.listen.size(), 2u);
  EXPECT_EQ(config.listen[0].host, "127.0.0.1");
  EXPECT_EQ(config.listen[0].port, 12379);
  EXPECT_EQ(config.listen[0].text, "127.0.0.1:12379");
  EXPECT_EQ(config.listen[0].line, 1);
  EXPECT_EQ(config.listen[1].host, "::1");
  EXPECT_EQ(config.listen[1].port, 12380);
  EXPECT_EQ(config.listen[1].text, "[::1]:12380");
  EXPECT_EQ(config.upstream.host, "localhost");
  EXPECT_EQ(config.upstream.port, 2378);
  EXPECT_EQ(config.upstream.text, "http://localhost:2378/");
  EXPECT_EQ(config.upstream.line, 2);

  EXPECT_EQ(config.tls.cert_file, (dir_ / "cert.pem").string());
  EXPECT_EQ(config.tls.cert_line, 4);
  EXPECT_EQ(config.tls.key_file, (dir_ / "key.pem").string());
  EXPECT_EQ(config.tls.key_line, 5);
  EXPECT_EQ(config.tls.client_ca_file, (dir_ / "ca.pem").string());
  EXPECT_EQ(config.tls.client_ca_line, 6);
  EXPECT_EQ(config.tls.crl_file, (dir_ / "crl.pem").string());
  EXPECT_EQ(config.tls.crl_line, 7);
  EXPECT_TRUE(config.tls.require_client_cert);

  EXPECT_EQ(config.accounts,
            (std::map<std::string, std::string>{
                {"root", kApr1}, {"conftool", kBcrypt}, {"six", kSha512}, {"five", kSha256}}));
  ASSERT_EQ(config.acls.size(), 4u);  // sorted by canonical prefix
  EXPECT_EQ(config.acls[0].prefix, "/");
  EXPECT_EQ(config.acls[0].users, std::vector<std::string>{"root"});
  EXPECT_EQ(config.acls[0].line, 16);
  EXPECT_EQ(config.acls[1].prefix, "/certs");  // a CN: allowed because client_ca is set
  EXPECT_EQ(config.acls[2].prefix, "/conftool");
  EXPECT_EQ(config.acls[2].users, (std::vector<std::string>{"root", "conftool"}));
  EXPECT_EQ(config.acls[2].line, 15);
  EXPECT_EQ(config.acls[3].prefix, "/eventlogging");
  EXPECT_TRUE(config.acls[3].users.empty());

  EXPECT_FALSE(config.public_reads);
  EXPECT_TRUE(config.read_only);
  EXPECT_EQ(config.max_body_bytes, 1048576u);
  EXPECT_EQ(config.max_header_bytes, 8192u);
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.access_log, "/var/log/etcd-tlsproxy.log");
}

TEST_F(ConfigTest, DefaultsWhenOnlyRequiredKeys) {
  const LoadResult result = Parse(kMinimal);
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  const Config& config = *result.config;
  ASSERT_EQ(config.listen.size(), 2u);
  EXPECT_EQ(config.listen[0].host, "0.0.0.0");
  EXPECT_EQ(config.listen[0].port, 2379);
  EXPECT_EQ(config.listen[0].text, "0.0.0.0:2379");
  EXPECT_EQ(config.listen[1].host, "::");
  EXPECT_EQ(config.listen[1].port, 2379);
  EXPECT_EQ(config.listen[1].text, "[::]:2379");
  EXPECT_EQ(config.upstream.host, "127.0.0.1");
  EXPECT_EQ(config.upstream.port, 2378);
  EXPECT_EQ(config.tls.client_ca_file, "");
  EXPECT_EQ(config.tls.crl_file, "");
  EXPECT_FALSE(config.tls.require_client_cert);
  EXPECT_TRUE(config.accounts.empty());
  ASSERT_EQ(config.acls.size(), 1u);
  EXPECT_EQ(config.acls[0].prefix, "/");
  EXPECT_TRUE(config.public_reads);
  EXPECT_FALSE(config.read_only);
  EXPECT_EQ(config.max_body_bytes, 20971520u);
  EXPECT_EQ(config.max_header_bytes, 16384u);
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.access_log, "stderr");
  ASSERT_TRUE(config.admin_listen.has_value());
  EXPECT_EQ(config.admin_listen->text, "127.0.0.1:9142");
  EXPECT_EQ(config.drain_timeout_seconds, 10u);
  EXPECT_EQ(config.token_ttl_seconds, 300u);  // as etcd's simple tokens
  EXPECT_EQ(config.token_key_file, "");       // a random key per process
  EXPECT_EQ(config.workers, 0u);              // auto
}

TEST_F(ConfigTest, TimeoutsLimitsAndThrottle) {
  LoadResult result = Parse(std::string(kMinimal) +
                            "timeouts: {handshake: 3, request_headers: 4, idle: 5, "
                            "upstream_connect: 6, upstream_response: 7}\n"
                            "max_connections: 100\n"
                            "auth_throttle: {max_failures: 0, window: 9, backoff: 11}\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  const Config& c = *result.config;
  EXPECT_EQ(c.timeouts.handshake, 3u);
  EXPECT_EQ(c.timeouts.request_headers, 4u);
  EXPECT_EQ(c.timeouts.idle, 5u);
  EXPECT_EQ(c.timeouts.upstream_connect, 6u);
  EXPECT_EQ(c.timeouts.upstream_response, 7u);
  EXPECT_EQ(c.max_connections, 100u);
  EXPECT_EQ(c.auth_throttle.max_failures, 0u);
  EXPECT_EQ(c.auth_throttle.window, 9u);
  EXPECT_EQ(c.auth_throttle.backoff, 11u);
  const LoadResult defaults = Parse(kMinimal);
  ASSERT_TRUE(defaults.ok());
  const Config& d = *defaults.config;
  EXPECT_EQ(d.timeouts.idle, 3600u);
  EXPECT_EQ(d.timeouts.upstream_response, 60u);
  EXPECT_EQ(d.max_connections, 10000u);
  EXPECT_EQ(d.auth_throttle.max_failures, 10u);
}

TEST_F(ConfigTest, V3Mode) {
  EXPECT_EQ(Parse(kMinimal).config->v3, Config::V3Mode::kAcl);
  EXPECT_EQ(Parse(std::string(kMinimal) + "v3: admin_only\n").config->v3,
            Config::V3Mode::kAdminOnly);
  EXPECT_EQ(Parse(std::string(kMinimal) + "v3: \"off\"\n").config->v3, Config::V3Mode::kOff);
}

TEST_F(ConfigTest, EnforceMode) {
  EXPECT_FALSE(Parse(kMinimal).config->shadow);
  EXPECT_FALSE(Parse(std::string(kMinimal) + "enforce: true\n").config->shadow);
  const LoadResult shadow = Parse(std::string(kMinimal) + "enforce: shadow\n");
  ASSERT_TRUE(shadow.ok()) << Dump(shadow.errors);
  EXPECT_TRUE(shadow.config->shadow);
  EXPECT_EQ(shadow.config->enforce_line, 6);
}

TEST_F(ConfigTest, Workers) {
  LoadResult result = Parse(std::string(kMinimal) + "workers: 2\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  EXPECT_EQ(result.config->workers, 2u);
  result = Parse(std::string(kMinimal) + "workers: auto\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  EXPECT_EQ(result.config->workers, 0u);
}

TEST_F(ConfigTest, AdminListenAndDrainTimeout) {
  LoadResult result =
      Parse(std::string(kMinimal) + "admin_listen: \"[::1]:9000\"\ndrain_timeout: 3\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  EXPECT_EQ(result.config->admin_listen->host, "::1");
  EXPECT_EQ(result.config->admin_listen->port, 9000);
  EXPECT_EQ(result.config->drain_timeout_seconds, 3u);
  result = Parse(std::string(kMinimal) + "admin_listen: \"off\"\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  EXPECT_FALSE(result.config->admin_listen.has_value());
}

TEST_F(ConfigTest, EmptyOptionalTlsFilesAreUnset) {
  const LoadResult result = Parse(std::string(kMinimal) + "public_reads: yes\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  const LoadResult nulls = Parse(
      "tls:\n"
      "  cert: @DIR@/cert.pem\n"
      "  key: @DIR@/key.pem\n"
      "  client_ca:\n"
      "  crl: \"\"\n"
      "acls:\n"
      "  /: []\n");
  ASSERT_TRUE(nulls.ok()) << Dump(nulls.errors);
  EXPECT_EQ(nulls.config->tls.client_ca_file, "");
  EXPECT_EQ(nulls.config->tls.crl_file, "");
}

TEST_F(ConfigTest, TlsProtocolsCiphersAndGroups) {
  const LoadResult defaults = Parse(kMinimal);
  ASSERT_TRUE(defaults.ok()) << Dump(defaults.errors);
  EXPECT_EQ(defaults.config->tls.min_protocol, TlsProtocol::kTls12);
  EXPECT_EQ(defaults.config->tls.max_protocol, TlsProtocol::kTls13);
  EXPECT_EQ(defaults.config->tls.ciphers, "");  // OpenSSL's default
  EXPECT_TRUE(defaults.config->tls.groups.empty());

  const LoadResult set =
      Parse(TlsPlus("  protocols: [TLSv1.2]\n"                               // 4
                    "  ciphers: \"ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL\"\n"  // 5
                    "  groups: [P-256, X25519]\n"));                         // 6
  ASSERT_TRUE(set.ok()) << Dump(set.errors);
  const TlsSettings& tls = set.config->tls;
  EXPECT_EQ(tls.min_protocol, TlsProtocol::kTls12);
  EXPECT_EQ(tls.max_protocol, TlsProtocol::kTls12);
  EXPECT_EQ(tls.protocols_line, 4);
  EXPECT_EQ(tls.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL");
  EXPECT_EQ(tls.ciphers_line, 5);
  EXPECT_EQ(tls.groups, (std::vector<std::string>{"P-256", "X25519"}));
  EXPECT_EQ(tls.groups_line, 6);

  // Order does not matter; a colon string (nginx's ssl_ecdh_curve) is a list too.
  const LoadResult other =
      Parse(TlsPlus("  protocols: [TLSv1.3, TLSv1.2]\n  groups: \"X25519:secp384r1\"\n"));
  ASSERT_TRUE(other.ok()) << Dump(other.errors);
  EXPECT_EQ(other.config->tls.min_protocol, TlsProtocol::kTls12);
  EXPECT_EQ(other.config->tls.max_protocol, TlsProtocol::kTls13);
  EXPECT_EQ(other.config->tls.groups, (std::vector<std::string>{"X25519", "secp384r1"}));

  const LoadResult only13 = Parse(TlsPlus("  protocols: [TLSv1.3]\n"));
  ASSERT_TRUE(only13.ok()) << Dump(only13.errors);
  EXPECT_EQ(only13.config->tls.min_protocol, TlsProtocol::kTls13);
  EXPECT_EQ(only13.config->tls.max_protocol, TlsProtocol::kTls13);
}

TEST_F(ConfigTest, LoadConfigFileReadsTheFile) {
  const std::string path = WriteFile("tlsproxy.yaml", kMinimal);
  const LoadResult result = LoadConfigFile(path);
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
}

TEST_F(ConfigTest, LoadConfigFileUnreadable) {
  for (const std::string& path : {(dir_ / "missing.yaml").string(), dir_.string()}) {
    const LoadResult result = LoadConfigFile(path);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.config, nullptr);
    ASSERT_EQ(result.errors.size(), 1u) << Dump(result.errors);
    EXPECT_EQ(result.errors[0].key, path);
    EXPECT_EQ(result.errors[0].line, 0);
  }
  EXPECT_NE(LoadConfigFile((dir_ / "missing.yaml").string())
                .errors[0]
                .message.find("No such file or directory"),
            std::string::npos);
}

TEST_F(ConfigTest, ErrorToString) {
  EXPECT_EQ((ConfigError{"tls.cert", 3, "required key missing"}).ToString(),
            "tls.cert (line 3): required key missing");
}

// One bad input and the error it must produce (among possibly others).
struct BadCase {
  const char* name;
  std::string yaml;
  std::string key;
  int line;
  std::string message_part;
};

// The minimal config with `extra` appended (lines 6 and on).
std::string MinimalPlus(const std::string& extra) { return std::string(kMinimal) + extra; }

// A config whose acls (from line 6 on) are `acl_lines`; accounts root and conftool.
std::string WithAcls(const std::string& acl_lines) {
  return std::string() +
         "tls:\n"
         "  cert: @DIR@/cert.pem\n"
         "  key: @DIR@/key.pem\n"
         "accounts: {root: \"" +
         kApr1 + "\", conftool: \"" + kBcrypt +
         "\"}\n"
         "acls:\n" +
         acl_lines;
}

// acls in the long form: own read lists; the short form keeps its meaning.
TEST_F(ConfigTest, AclLongForm) {
  const LoadResult result =
      Parse(WithAcls("  /: [root]\n"
                     "  /conftool: {read: [root, conftool], write: [conftool, root]}\n"
                     "  /registry/secrets: {write: [root]}\n"
                     "  /eventlogging: {write: any, read: any}\n"));
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  const std::vector<AclRule>& acls = result.config->acls;
  ASSERT_EQ(acls.size(), 4u);
  EXPECT_EQ(acls[0].prefix, "/");
  EXPECT_FALSE(acls[0].readers.has_value());  // short form: reads follow public_reads
  EXPECT_EQ(acls[1].prefix, "/conftool");
  EXPECT_EQ(acls[1].users, (std::vector<std::string>{"conftool", "root"}));
  ASSERT_TRUE(acls[1].readers.has_value());
  EXPECT_EQ(*acls[1].readers, (std::vector<std::string>{"root", "conftool"}));
  EXPECT_EQ(acls[2].prefix, "/eventlogging");
  EXPECT_TRUE(acls[2].users.empty());  // write: any
  ASSERT_TRUE(acls[2].readers.has_value());
  EXPECT_TRUE(acls[2].readers->empty());  // read: any
  EXPECT_EQ(acls[3].prefix, "/registry/secrets");
  EXPECT_FALSE(acls[3].readers.has_value());  // no `read`: as the short form
}

std::vector<BadCase> BadCases() {
  return {
      // Document shape.
      {"SyntaxError", "tls: [a\nacls: x\n", "", 2, "YAML syntax error"},
      {"EmptyFile", "", "", 0, "empty"},
      {"CommentOnly", "# nothing\n", "", 0, "empty"},
      {"TopLevelList", "- a\n- b\n", "", 1, "must be a map"},
      {"TopLevelScalar", "hello\n", "", 1, "must be a map"},
      {"YamlCppLoadAllHang", "!a,", "", 1, "one YAML document"},  // config_fuzz: used to hang
      // The second document starts at its "---" marker, line 6.
      {"TwoDocuments", MinimalPlus("---\nfoo: 1\n"), "", 6, "one YAML document"},
      // Unknown and duplicate keys.
      {"UnknownTopKey", MinimalPlus("lissten: []\n"), "lissten", 6, "unknown key 'lissten'"},
      {"UnknownTlsKey",
       "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n  cipher: x\n"
       "acls: {/: []}\n",
       "tls.cipher", 4, "unknown key"},
      {"UnknownLogKey", MinimalPlus("log:\n  level: info\n  format: json\n"), "log.format", 8,
       "unknown key"},
      {"DuplicateTopKey", MinimalPlus("read_only: true\nread_only: false\n"), "read_only", 7,
       "duplicate key (first on line 6)"},
      {"DuplicateYamlAclKey", WithAcls("  /a: [root]\n  /a: []\n"), "acls./a", 7, "duplicate key"},
      // Missing required keys.
      {"MissingTls", "acls: {/: []}\n", "tls", 1, "required key missing"},
      {"MissingAcls", "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n", "acls", 1,
       "required key missing"},
      {"MissingCert", "acls: {/: []}\ntls:\n  key: @DIR@/key.pem\n", "tls.cert", 2,
       "required key missing"},
      {"MissingKey", "acls: {/: []}\ntls: {cert: @DIR@/cert.pem}\n", "tls.key", 2,
       "required key missing"},
      {"EmptyAcls", "tls: {cert: @DIR@/cert.pem, key: @DIR@/key.pem}\nacls: {}\n", "acls", 2,
       "at least one"},
      // Wrong types.
      {"BoolIsString", MinimalPlus("public_reads: maybe\n"), "public_reads", 6, "true or false"},
      {"BoolIsList", MinimalPlus("read_only: [true]\n"), "read_only", 6, "true or false"},
      {"TlsIsString", "tls: /etc/cert.pem\nacls: {/: []}\n", "tls", 1, "expected a map"},
      {"ListenIsMap", MinimalPlus("listen: {a: 1}\n"), "listen", 6, "expected a list"},
      {"ListenIsString", MinimalPlus("listen: \"0.0.0.0:2379\"\n"), "listen", 6, "expected a list"},
      {"ListenElementIsList", MinimalPlus("listen:\n  - [1]\n"), "listen[0]", 7,
       "expected a string"},
      {"UpstreamIsList", MinimalPlus("upstream: [a]\n"), "upstream", 6, "expected a string"},
      {"CertIsMap", "tls:\n  cert: {a: b}\n  key: @DIR@/key.pem\nacls: {/: []}\n", "tls.cert", 2,
       "expected a string"},
      {"AclsIsList", "tls: {cert: @DIR@/cert.pem, key: @DIR@/key.pem}\nacls: [/a]\n", "acls", 2,
       "expected a map"},
      {"AclUsersIsString", WithAcls("  /: root\n"), "acls./", 6, "expected a list of users"},
      {"AclUsersIsNull", WithAcls("  /:\n"), "acls./", 6, "expected a list of users"},
      {"AclUserIsMap", WithAcls("  /:\n    - {a: b}\n"), "acls./", 7, "expected a string"},
      // The long form: write required, read optional, each `any` or names.
      {"AclLongFormNoWrite", WithAcls("  /: {read: [root]}\n"), "acls./", 6, "needs `write`"},
      {"AclLongFormEmptyWrite", WithAcls("  /: {write: []}\n"), "acls./.write", 6,
       "an empty list is ambiguous"},
      {"AclLongFormEmptyRead", WithAcls("  /: {write: [root], read: []}\n"), "acls./.read", 6,
       "an empty list is ambiguous"},
      {"AclLongFormOtherWord", WithAcls("  /: {write: [root], read: everyone}\n"), "acls./.read", 6,
       "expected `any` or a non-empty list"},
      {"AclLongFormUnknownKey", WithAcls("  /: {write: [root], list: [root]}\n"), "acls./.list", 6,
       "unknown key"},
      {"AclLongFormUnknownUser", WithAcls("  /: {write: [root], read: [nobody]}\n"), "acls./.read",
       6, "not defined in accounts"},
      {"AccountsIsList", MinimalPlus("accounts: [root]\n"), "accounts", 6, "expected a map"},
      {"LogIsString", MinimalPlus("log: info\n"), "log", 6, "expected a map"},
      {"NonScalarKey", MinimalPlus("? [a]\n: b\n"), "", 6, "keys must be strings"},
      // Numbers.
      {"BodyZero", MinimalPlus("max_body_bytes: 0\n"), "max_body_bytes", 6, "between 1 and"},
      {"BodyNegative", MinimalPlus("max_body_bytes: -5\n"), "max_body_bytes", 6, "between 1"},
      {"BodyTooLarge", MinimalPlus("max_body_bytes: 1073741825\n"), "max_body_bytes", 6,
       "1073741824"},
      {"BodyHuge", MinimalPlus("max_body_bytes: 99999999999999999999999\n"), "max_body_bytes", 6,
       "between"},
      {"BodyNotNumber", MinimalPlus("max_body_bytes: 20M\n"), "max_body_bytes", 6, "integer"},
      {"BodyFloat", MinimalPlus("max_body_bytes: 1.5\n"), "max_body_bytes", 6, "integer"},
      {"HeaderTooSmall", MinimalPlus("max_header_bytes: 1023\n"), "max_header_bytes", 6,
       "between 1024 and 1048576"},
      {"HeaderTooLarge", MinimalPlus("max_header_bytes: 1048577\n"), "max_header_bytes", 6,
       "between 1024 and 1048576"},
      // Files.
      {"CertMissing", "tls:\n  cert: @DIR@/nope.pem\n  key: @DIR@/key.pem\nacls: {/: []}\n",
       "tls.cert", 2, "No such file or directory"},
      {"KeyIsDirectory", "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@\nacls: {/: []}\n", "tls.key",
       3, "not a regular file"},
      {"CertEmpty", "tls:\n  cert: \"\"\n  key: @DIR@/key.pem\nacls: {/: []}\n", "tls.cert", 2,
       "empty"},
      {"ClientCaMissing",
       "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n  client_ca: @DIR@/no-ca.pem\n"
       "acls: {/: []}\n",
       "tls.client_ca", 4, "No such file"},
      {"CrlMissing",
       "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n  client_ca: @DIR@/ca.pem\n"
       "  crl: @DIR@/no-crl.pem\nacls: {/: []}\n",
       "tls.crl", 5, "No such file"},
      // TLS cross-field checks.
      {"RequireClientCertWithoutCa",
       "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n  require_client_cert: true\n"
       "acls: {/: []}\n",
       "tls.require_client_cert", 4, "requires tls.client_ca"},
      {"CrlWithoutCa",
       "tls:\n  cert: @DIR@/cert.pem\n  key: @DIR@/key.pem\n  crl: @DIR@/crl.pem\n"
       "acls: {/: []}\n",
       "tls.crl", 4, "requires tls.client_ca"},
      // TLS protocols, ciphers and groups (shape only: OpenSSL's verdict is proxy/'s).
      {"ProtocolsIsString", TlsPlus("  protocols: TLSv1.2\n"), "tls.protocols", 4,
       "expected a list"},
      {"ProtocolsEmpty", TlsPlus("  protocols: []\n"), "tls.protocols", 4, "at least one"},
      {"ProtocolUnknown", TlsPlus("  protocols:\n    - TLSv1.2\n    - TLSv1.4\n"),
       "tls.protocols[1]", 6, "unknown protocol 'TLSv1.4' (expected TLSv1.2 or TLSv1.3)"},
      {"ProtocolMisspelt", TlsPlus("  protocols: [TLS1.3]\n"), "tls.protocols[0]", 4,
       "unknown protocol 'TLS1.3'"},
      {"ProtocolTls11", TlsPlus("  protocols: [TLSv1.1, TLSv1.2]\n"), "tls.protocols[0]", 4,
       "TLSv1.1 is refused: retired"},
      {"ProtocolSsl3", TlsPlus("  protocols: [SSLv3]\n"), "tls.protocols[0]", 4,
       "SSLv3 is refused"},
      {"ProtocolTwice", TlsPlus("  protocols: [TLSv1.3, TLSv1.3]\n"), "tls.protocols[1]", 4,
       "listed twice"},
      {"ProtocolIsList", TlsPlus("  protocols: [[TLSv1.3]]\n"), "tls.protocols[0]", 4,
       "expected a string"},
      {"CiphersEmpty", TlsPlus("  ciphers: \"\"\n"), "tls.ciphers", 4, "OpenSSL cipher string"},
      {"CiphersIsList", TlsPlus("  ciphers: [ECDHE-ECDSA-AES128-GCM-SHA256]\n"), "tls.ciphers", 4,
       "expected a string"},
      {"CiphersControlChar", TlsPlus("  ciphers: \"HIGH\\n\"\n"), "tls.ciphers", 4,
       "OpenSSL cipher string"},
      {"GroupsEmptyList", TlsPlus("  groups: []\n"), "tls.groups", 4, "at least one"},
      {"GroupsEmptyString", TlsPlus("  groups: \"\"\n"), "tls.groups", 4, "at least one"},
      {"GroupsEmptyName", TlsPlus("  groups: \"X25519::P-256\"\n"), "tls.groups", 4,
       "empty group name"},
      {"GroupsBadName", TlsPlus("  groups: [\"X25519 P-256\"]\n"), "tls.groups[0]", 4,
       "'X25519 P-256' is not a group name"},
      {"GroupsTwice", TlsPlus("  groups: [P-256, X25519, P-256]\n"), "tls.groups[2]", 4,
       "listed twice"},
      {"GroupsIsMap", TlsPlus("  groups: {a: b}\n"), "tls.groups", 4, "expected a list"},
      // Accounts.
      {"PlainTextPassword", MinimalPlus("accounts:\n  root: secret\n"), "accounts.root", 7,
       "unsupported password hash format for user root"},
      {"Md5CryptHash", MinimalPlus("accounts:\n  root: \"$1$f4U7Zset$Mwy1CObMvkAy2XsIew0MQ/\"\n"),
       "accounts.root", 7, "unsupported password hash format for user root"},
      {"ShaHash", MinimalPlus("accounts:\n  bob: \"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\"\n"),
       "accounts.bob", 7, "unsupported password hash format for user bob"},
      {"HashIsNull", MinimalPlus("accounts:\n  bob:\n"), "accounts.bob", 7, "unsupported"},
      {"UserWithColon", MinimalPlus(std::string("accounts:\n  \"a:b\": \"") + kApr1 + "\"\n"),
       "accounts.a:b", 7, "without ':'"},
      {"EmptyUser", MinimalPlus(std::string("accounts:\n  \"\": \"") + kApr1 + "\"\n"), "accounts.",
       7, "non-empty"},
      {"UserWithControlChar",
       MinimalPlus(std::string("accounts:\n  \"a\\tb\": \"") + kApr1 + "\"\n"), "accounts.a\tb", 7,
       "control"},
      // ACL prefixes.
      {"PrefixWithoutSlash", WithAcls("  conftool: [root]\n"), "acls.conftool", 6,
       "must start with '/'"},
      {"PrefixDoubleSlash", WithAcls("  /a//b: [root]\n"), "acls./a//b", 6, "empty"},
      {"PrefixTwoTrailingSlashes", WithAcls("  /a//: [root]\n"), "acls./a//", 6, "empty"},
      {"PrefixDotDot", WithAcls("  /a/../b: [root]\n"), "acls./a/../b", 6, "'..'"},
      {"PrefixDot", WithAcls("  /a/./b: [root]\n"), "acls./a/./b", 6, "'.'"},
      {"PrefixTrailingDot", WithAcls("  /a/.: [root]\n"), "acls./a/.", 6, "'.'"},
      {"PrefixBackslash", WithAcls("  \"/a\\\\b\": [root]\n"), "acls./a\\b", 6, "'\\'"},
      {"PrefixPercent", WithAcls("  /a%2Fb: [root]\n"), "acls./a%2Fb", 6, "'%'"},
      {"PrefixNul", WithAcls("  \"/a\\0b\": [root]\n"), std::string("acls./a\0b", 9), 6, "control"},
      {"PrefixNewline", WithAcls("  \"/a\\nb\": [root]\n"), "acls./a\nb", 6, "control"},
      {"PrefixEmpty", WithAcls("  \"\": [root]\n"), "acls.", 6, "must start with '/'"},
      {"DuplicateCanonicalPrefix", WithAcls("  /conftool: [root]\n  /conftool/: [conftool]\n"),
       "acls./conftool/", 7, "same as '/conftool' on line 6"},
      {"DuplicateRootPrefix", WithAcls("  /: [root]\n  \"/\": []\n"), "acls./", 7, "duplicate"},
      // ACL users.
      {"UnknownAclUser", WithAcls("  /: [root]\n  /conftool:\n    - conftool\n    - mallory\n"),
       "acls./conftool", 9, "user 'mallory' is not defined in accounts"},
      {"AclUserWithoutAccounts",
       "tls: {cert: @DIR@/cert.pem, key: @DIR@/key.pem}\nacls:\n  /: [root]\n", "acls./", 3,
       "user 'root' is not defined"},
      {"EmptyAclUser", WithAcls("  /: [\"\"]\n"), "acls./", 6, "non-empty"},
      // Listen and upstream.
      {"ListenEmpty", MinimalPlus("listen: []\n"), "listen", 6, "at least one"},
      {"ListenNoPort", MinimalPlus("listen: [\"0.0.0.0\"]\n"), "listen[0]", 6, "host:port"},
      {"ListenPortZero", MinimalPlus("listen: [\"0.0.0.0:0\"]\n"), "listen[0]", 6,
       "between 1 and 65535"},
      {"ListenPortTooBig", MinimalPlus("listen: [\"0.0.0.0:2379\", \"0.0.0.0:65536\"]\n"),
       "listen[1]", 6, "between 1 and 65535"},
      {"ListenEmptyHost", MinimalPlus("listen: [\":2379\"]\n"), "listen[0]", 6, "host:port"},
      {"ListenUnbracketedV6", MinimalPlus("listen: [\"::1:2379\"]\n"), "listen[0]", 6, "brackets"},
      {"ListenDuplicate", MinimalPlus("listen:\n  - \"[::]:2379\"\n  - \"[::]:2379\"\n"),
       "listen[1]", 8, "listed twice"},
      {"ListenIsUpstream",
       MinimalPlus("listen: [\"127.0.0.1:2379\"]\nupstream: \"http://127.0.0.1:2379\"\n"),
       "listen[0]", 6, "forward to itself"},
      {"WildcardListenCoversUpstream",
       MinimalPlus("listen:\n  - \"127.0.0.1:443\"\n  - \"[::]:2378\"\n"), "listen[1]", 8,
       "forward to itself"},
      {"UpstreamHttps", MinimalPlus("upstream: \"https://127.0.0.1:2378\"\n"), "upstream", 6,
       "only the http scheme"},
      {"UpstreamPath", MinimalPlus("upstream: \"http://127.0.0.1:2378/v2\"\n"), "upstream", 6,
       "path"},
      {"UpstreamQuery", MinimalPlus("upstream: \"http://127.0.0.1:2378?x=1\"\n"), "upstream", 6,
       "query"},
      {"UpstreamNoScheme", MinimalPlus("upstream: \"127.0.0.1:2378\"\n"), "upstream", 6,
       "http://host:port"},
      {"UpstreamNoPort", MinimalPlus("upstream: \"http://127.0.0.1\"\n"), "upstream", 6,
       "host:port"},
      {"UpstreamBadPort", MinimalPlus("upstream: \"http://127.0.0.1:99999\"\n"), "upstream", 6,
       "between 1 and 65535"},
      {"UpstreamUserinfo", MinimalPlus("upstream: \"http://u@127.0.0.1:2378\"\n"), "upstream", 6,
       "host:port"},
      // Log.
      {"BadLevel", MinimalPlus("log: {level: verbose}\n"), "log.level", 6,
       "unknown level 'verbose'"},
      {"LevelIsList", MinimalPlus("log:\n  level: [info]\n"), "log.level", 7, "expected a string"},
      {"EmptyAccessLog", MinimalPlus("log: {access_log: \"\"}\n"), "log.access_log", 6, "stderr"},
      // Operations.
      {"AdminListenBad", MinimalPlus("admin_listen: \"nowhere\"\n"), "admin_listen", 6, "or off"},
      {"TimeoutUnknown", MinimalPlus("timeouts: {read: 5}\n"), "timeouts.read", 6, "unknown key"},
      {"TimeoutZero", MinimalPlus("timeouts:\n  idle: 0\n"), "timeouts.idle", 7, "between 1"},
      {"ThrottleUnknown", MinimalPlus("auth_throttle: {limit: 5}\n"), "auth_throttle.limit", 6,
       "unknown key"},
      {"MaxConnectionsZero", MinimalPlus("max_connections: 0\n"), "max_connections", 6,
       "between 1"},
      {"V3Bad", MinimalPlus("v3: open\n"), "v3", 6, "acl, admin_only or off"},
      // `false` would read as "never refuse": shadow mode is the only relaxation.
      {"EnforceFalse", MinimalPlus("enforce: false\n"), "enforce", 6, "expected true or shadow"},
      {"EnforceList", MinimalPlus("enforce: [shadow]\n"), "enforce", 6, "expected a string"},
      {"WorkersZero", MinimalPlus("workers: 0\n"), "workers", 6, "auto or an integer"},
      {"WorkersWord", MinimalPlus("workers: many\n"), "workers", 6, "auto or an integer"},
      {"DrainTimeoutBad", MinimalPlus("drain_timeout: -1\n"), "drain_timeout", 6, "between 0"},
      {"TokenTtlZero", MinimalPlus("token_ttl: 0\n"), "token_ttl", 6, "between 1"},
      {"TokenKeyFileMissing", MinimalPlus("token_key_file: /nonexistent/token.key\n"),
       "token_key_file", 6, "cannot read"},
  };
}

class BadConfigTest : public ConfigTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadConfigTest, ReportsKeyAndLine) {
  const BadCase& bad = GetParam();
  const LoadResult result = Parse(bad.yaml);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.config, nullptr);
  bool found = false;
  for (const ConfigError& error : result.errors) {
    found = found || (error.key == bad.key && error.line == bad.line &&
                      error.message.find(bad.message_part) != std::string::npos);
  }
  EXPECT_TRUE(found) << "wanted " << bad.key << " (line " << bad.line << "): ..."
                     << bad.message_part << "...\ngot:\n"
                     << Dump(result.errors);
}

INSTANTIATE_TEST_SUITE_P(All, BadConfigTest, ::testing::ValuesIn(BadCases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return std::string(info.param.name);
                         });

// A `write` with a bad value is one error, not also "needs `write`".
TEST_F(ConfigTest, ABadWriteListIsOneError) {
  const LoadResult result = Parse(WithAcls("  /: {write: []}\n"));
  ASSERT_EQ(result.errors.size(), 1u) << Dump(result.errors);
  EXPECT_EQ(result.errors[0].key, "acls./.write");
}

TEST_F(ConfigTest, ReportsEveryError) {
  const LoadResult result = Parse(
      "listen: [\"0.0.0.0:0\"]\n"      // 1
      "tls:\n"                         // 2
      "  cert: @DIR@/nope.pem\n"       // 3
      "  key: @DIR@/key.pem\n"         // 4
      "  require_client_cert: true\n"  // 5
      "accounts:\n"                    // 6
      "  root: plaintext-password\n"   // 7
      "acls:\n"                        // 8
      "  /a/../b: [root]\n"            // 9
      "  /c: [nobody]\n"               // 10
      "bogus: 1\n"                     // 11
      "log: {level: loud}\n");         // 12
  ASSERT_FALSE(result.ok());
  std::vector<std::pair<std::string, int>> got;
  for (const ConfigError& error : result.errors) got.emplace_back(error.key, error.line);
  const std::vector<std::pair<std::string, int>> want = {
      {"listen[0]", 1},     {"tls.cert", 3},     {"tls.require_client_cert", 5},
      {"accounts.root", 7}, {"acls./a/../b", 9}, {"acls./c", 10},
      {"bogus", 11},        {"log.level", 12}};
  EXPECT_EQ(got, want) << Dump(result.errors);
}

TEST_F(ConfigTest, HashIsNeverPrinted) {
  const std::string secret = "$apr1$short$hunter2";
  const LoadResult result = Parse(MinimalPlus("accounts:\n  root: \"" + secret + "\"\n"));
  ASSERT_EQ(result.errors.size(), 1u) << Dump(result.errors);
  EXPECT_EQ(result.errors[0].ToString().find("hunter2"), std::string::npos);
}

TEST_F(ConfigTest, AclUsersMayBeCertificateNamesWhenClientCaIsSet) {
  const LoadResult result = Parse(
      "tls:\n"
      "  cert: @DIR@/cert.pem\n"
      "  key: @DIR@/key.pem\n"
      "  client_ca: @DIR@/ca.pem\n"
      "acls:\n"
      "  /: [puppetmaster1001.eqiad.wmnet]\n");
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  EXPECT_EQ(result.config->acls[0].users, std::vector<std::string>{"puppetmaster1001.eqiad.wmnet"});
}

TEST_F(ConfigTest, PrefixCanonicalisation) {
  const LoadResult result =
      Parse(WithAcls("  /conftool/: [root]\n"
                     "  /a/b/: [conftool]\n"
                     "  /: []\n"
                     "  /a.b/..c/...: []\n"));
  ASSERT_TRUE(result.ok()) << Dump(result.errors);
  std::vector<std::string> prefixes;
  for (const AclRule& rule : result.config->acls) prefixes.push_back(rule.prefix);
  EXPECT_EQ(prefixes, (std::vector<std::string>{"/", "/a.b/..c/...", "/a/b", "/conftool"}));
}

struct HashCase {
  std::string hash;
  bool supported;
};

class PasswordHashTest : public ::testing::TestWithParam<HashCase> {};

TEST_P(PasswordHashTest, Shape) {
  EXPECT_EQ(IsSupportedPasswordHash(GetParam().hash), GetParam().supported) << GetParam().hash;
}

INSTANTIATE_TEST_SUITE_P(
    All, PasswordHashTest,
    ::testing::Values(
        HashCase{kApr1, true}, HashCase{kBcrypt, true}, HashCase{kSha512, true},
        HashCase{kSha256, true},
        HashCase{"$5$abc$qsg6EHbUzHQzF1POlD7zUwBINSELQxypPaeDcZe6vH0", true},
        HashCase{"$6$rounds=5000$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5kn"
                 "V8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
                 true},
        HashCase{"$2b$05$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6", true},
        HashCase{"$2a$05$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6", true},
        HashCase{"$2y$31$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6", true},
        // Rejected: other formats, wrong lengths, bad costs, whitespace.
        HashCase{"", false}, HashCase{"secret", false},
        HashCase{"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", false},
        HashCase{"$1$f4U7Zset$Mwy1CObMvkAy2XsIew0MQ/", false},
        HashCase{"abJnggxhB/yWI", false},  // traditional DES crypt
        HashCase{"$apr1$Y9NMW2Ju$IgOA.YjYelmiOzu/gljQL", false},
        HashCase{"$apr1$Y9NMW2Ju1$IgOA.YjYelmiOzu/gljQL1", false},
        HashCase{std::string(kApr1) + " ", false}, HashCase{" " + std::string(kApr1), false},
        HashCase{"$2y$03$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6", false},
        HashCase{"$2y$32$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6", false},
        HashCase{"$2x$05$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf6", false},
        HashCase{"$2y$05$CiS0pPZhO1ktnuTG8K8qd.8L6zANKJ3nPZMvE07d4SnEpyDTtCCf", false},
        HashCase{"$5$RQL.nJuR.UgDUMxR$nJcubQ753bs.FAl10EGmEMaPxAF6adlOFNmB16UiM2", false},
        HashCase{"$6$1ExJLxG9MRRScKdS$b4/KP/tKi5IQHyCmVCF80.NL88raynZFpppXyaywGNeieEJh17yJlGz4w/",
                 false},
        HashCase{"$5$abcdefghijklmnopq$nJcubQ753bs.FAl10EGmEMaPxAF6adlOFNmB16UiM2C", false},
        HashCase{"$6$" + std::string(kSha256).substr(3), false}));

}  // namespace
}  // namespace tlsproxy::config
