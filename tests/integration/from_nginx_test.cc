// `etcd-tlsproxy --from-nginx FILE` on a rendered nginx tlsproxy site
// (tests/integration/data/nginx/): prints the acls with a note per
// difference, exit 0; the printed acls, spliced into a proxy config, pass
// --check; an unreadable htpasswd file leaves its rule commented out, never
// open; an unreadable or malformed nginx file is an error naming it.
#include <algorithm>
#include <sstream>

#include "tests/integration/access_log_reader.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

std::string DataDir() { return RepoRoot() + "/tests/integration/data/nginx"; }

// The sample site in `dir`, with /etc/nginx/auth pointing at `dir`, and the
// htpasswd files named in `files` copied there.
std::string SiteIn(const TempDir& dir, const std::vector<std::string>& files) {
  std::string site = ReadFile(DataDir() + "/etcd_tlsproxy.conf");
  const std::string from = "/etc/nginx/auth";
  for (auto at = site.find(from); at != std::string::npos; at = site.find(from, at)) {
    site.replace(at, from.size(), dir.path());
    at += dir.path().size();
  }
  for (const std::string& file : files) {
    WriteFile(dir.File(file), ReadFile(DataDir() + "/" + file));
  }
  WriteFile(dir.File("etcd_tlsproxy.conf"), site);
  return dir.File("etcd_tlsproxy.conf");
}

struct BinaryRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the binary with `arguments`, stdout and stderr apart.
BinaryRun RunBinary(const TempDir& dir, const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "\"$0\" \"$@\" 2>\"$ERR_FILE\"",
                                   TLSPROXY_BINARY};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  const CommandResult result = RunCommand(argv, {"ERR_FILE=" + dir.File("stderr")});
  return {result.exit_code, result.output, ReadFile(dir.File("stderr"))};
}

// The 1-based line of the sample site holding `text`.
int SiteLine(const std::string& text) {
  const std::string site = ReadFile(DataDir() + "/etcd_tlsproxy.conf");
  const auto at = site.find(text);
  EXPECT_NE(at, std::string::npos) << text;
  return 1 + static_cast<int>(std::count(site.begin(), site.begin() + at, '\n'));
}

::testing::AssertionResult HasNote(const std::string& out, int line, const std::string& text) {
  std::istringstream lines(out);
  std::string note;
  const std::string start = "# nginx line " + std::to_string(line) + ": ";
  while (std::getline(lines, note)) {
    if (note.rfind(start, 0) == 0 && note.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no note on line " << line << " with '" << text << "' in:\n"
         << out;
}

// The default proxy config with its acls replaced by `printed`.
std::string WithAcls(const std::string& printed, uint16_t upstream_port = 2378,
                     uint16_t listen_port = 2379, const std::string& extra_yaml = "") {
  ProxyOptions options;
  options.upstream_port = upstream_port;
  options.client_ca = false;  // every name must then be an account
  options.extra_yaml = extra_yaml;
  std::string yaml = ProxyConfigYaml(options, listen_port);
  const auto begin = yaml.find("acls:\n");
  const auto end = yaml.find("public_reads:");
  EXPECT_TRUE(begin != std::string::npos && end != std::string::npos) << yaml;
  return yaml.replace(begin, end - begin, printed);
}

TEST(FromNginxTest, TranslatesTheRenderedSite) {
  TempDir dir;
  const std::string site = SiteIn(dir, {"conftool.htpasswd", "pools.htpasswd", "root.htpasswd"});
  const BinaryRun run = RunBinary(dir, {"--from-nginx", site});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("acls:\n"
                         "  \"/\": [\"root\"]\n"
                         "  \"/conftool\": [\"conftool\", \"root\"]\n"
                         "  \"/eventlogging\": {write: any}\n"
                         "  \"/pools\": [\"conftool\"]\n"),
            std::string::npos)
      << run.out;
  EXPECT_TRUE(HasNote(run.out, SiteLine("location /v2/keys/pools"), "string prefix"));
  EXPECT_TRUE(HasNote(run.out, SiteLine("location /v2/keys/conftool/"), "directory key"));
  EXPECT_TRUE(HasNote(run.out, SiteLine("location /v2/keys/eventlogging"), "anyone may write"));
  EXPECT_TRUE(HasNote(run.out, SiteLine("location /v3/"), "outside /v2/keys"));
  EXPECT_TRUE(HasNote(run.out, SiteLine("location / {"), "/v3 gateway"));
  EXPECT_TRUE(HasNote(run.out, SiteLine("location = "), "exact"));
  EXPECT_EQ(run.out.find("$apr1$"), std::string::npos) << "a hash was printed:\n" << run.out;

  const CheckResult check = RunCheck(WithAcls(run.out));
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << WithAcls(run.out);
}

// The migration recipe end to end: the translated table in shadow mode
// forwards what nginx let through and marks exactly what the notes warned
// about (a string prefix, the open /v3/ location); etcd has every write.
TEST(FromNginxTest, TheTranslationInShadowModeShowsWhereNginxDiffered) {
  TempDir dir;
  const std::string site = SiteIn(dir, {"conftool.htpasswd", "pools.htpasswd", "root.htpasswd"});
  const BinaryRun run = RunBinary(dir, {"--from-nginx", site});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Stack stack;
  ASSERT_TRUE(stack.etcd.Start());
  ASSERT_TRUE(stack.proxy.StartWithYaml(
      WithAcls(run.out, stack.etcd.client_port(), stack.proxy.port(), "enforce: shadow\n")));

  // nginx's `location /v2/keys/pools` matched /v2/keys/poolsX too.
  const std::string beside = "/poolsX/" + UniqueName("k");
  size_t offset = stack.proxy.Logs().size();
  EXPECT_EQ(HttpsPut(stack.port(), "/v2/keys" + beside, "v", "conftool", kConftoolPassword).status,
            201);
  EXPECT_EQ(stack.etcd.ValueOf(beside), "v");
  std::optional<AccessFields> line = AccessLineOf(stack.proxy, offset, "PUT", "/v2/keys" + beside);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["rule"], "/");
  EXPECT_EQ((*line)["shadow_denied"], "403");

  // Inside the translated rule: allowed, not marked.
  const std::string inside = "/pools/" + UniqueName("k");
  offset = stack.proxy.Logs().size();
  EXPECT_EQ(HttpsPut(stack.port(), "/v2/keys" + inside, "v", "conftool", kConftoolPassword).status,
            201);
  line = AccessLineOf(stack.proxy, offset, "PUT", "/v2/keys" + inside);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->count("shadow_denied"), 0u);

  // nginx's `location /v3/` asked for nothing; the "/" rule asks for root.
  const std::string v3_key = "/" + UniqueName("v3");
  HttpsRequest put;
  put.method = "POST";
  put.path = "/v3/kv/put";
  put.body = "{\"key\":\"" + Base64(v3_key) + "\",\"value\":\"" + Base64("g") + "\"}";
  offset = stack.proxy.Logs().size();
  EXPECT_EQ(Https(stack.port(), put).status, 200);
  EXPECT_EQ(stack.etcd.V3ValueOf(v3_key), "g");
  line = AccessLineOf(stack.proxy, offset, "POST", "/v3/kv/put");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["shadow_denied"], "401");
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(FromNginxTest, UnreadableHtpasswdLeavesTheRuleCommentedOut) {
  TempDir dir;
  const std::string site = SiteIn(dir, {"pools.htpasswd", "root.htpasswd"});
  const BinaryRun run = RunBinary(dir, {"--from-nginx", site});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("\n  # \"/conftool\": [...]  # TODO: cannot read "), std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find("\n  \"/conftool\""), std::string::npos) << run.out;
  EXPECT_TRUE(HasNote(run.out, SiteLine("conftool.htpasswd;"), "cannot read"));

  // Pasted as printed, /conftool falls to the "/" rule: root only.
  const CheckResult check = RunCheck(WithAcls(run.out));
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST(FromNginxTest, MissingNginxFileNamesIt) {
  TempDir dir;
  const BinaryRun run = RunBinary(dir, {"--from-nginx", dir.File("absent.conf")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find(dir.File("absent.conf")), std::string::npos) << run.err;
}

TEST(FromNginxTest, MalformedNginxFileNamesFileAndLine) {
  TempDir dir;
  WriteFile(dir.File("bad.conf"), "server {\n    location / {\n        proxy_pass x\n    }\n}\n");
  const BinaryRun run = RunBinary(dir, {"--from-nginx", dir.File("bad.conf")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find(dir.File("bad.conf") + ":3:"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace tlsproxy::integration
