// python-etcd3 (Debian's python3-etcd3, gRPC over HTTP/2 with ALPN h2)
// through the proxy, identified by its client certificate or by nothing.
// The clients are the scripts in tests/integration/python/, run with
// Debian's /usr/bin/python3 (a python3 earlier on PATH may lack etcd3); each
// prints one JSON line per call, and the tests compare those lines exactly.
// Every refused write is checked in etcd directly.
#include <regex>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

constexpr char kAnonymous[] = "";
constexpr char kUnlisted[] = "forger";  // verified by the CA, its CN on no rule

std::string Script(const std::string& name) {
  return RepoRoot() + "/tests/integration/python/" + name;
}

// The script's arguments that say where and as whom to connect.
std::vector<std::string> ClientArgv(const std::string& script, uint16_t port,
                                    const std::string& who) {
  const Certificates& certs = TestCertificates();
  return {"/usr/bin/python3",
          Script(script),
          "localhost",
          std::to_string(port),
          certs.ca,
          who.empty() ? "" : certs.ClientCert(who),
          who.empty() ? "" : certs.ClientKey(who)};
}

// The JSON lines of `output` (stderr, interleaved, may hold other lines).
std::vector<std::string> JsonLines(const std::string& output) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < output.size()) {
    std::size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    if (line.rfind("{\"", 0) == 0) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// Runs etcd3_steps.py with `steps` (a JSON list) and returns its JSON lines;
// a failed run fails the test and returns what it printed.
std::vector<std::string> RunSteps(uint16_t port, const std::string& who, const std::string& steps) {
  std::vector<std::string> argv = ClientArgv("etcd3_steps.py", port, who);
  argv.push_back(steps);
  const CommandResult run = RunCommand(argv, {}, 60s);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  return JsonLines(run.output);
}

// A JSON string (the keys and values here need no escapes).
std::string Q(const std::string& text) { return "\"" + text + "\""; }

// The line etcd3_steps.py prints for a call the proxy refused.
std::string Refused(const std::string& step, const std::string& code, const std::string& details) {
  return "{\"code\": " + Q(code) + ", \"details\": " + Q(details) +
         ", \"ok\": false, \"step\": " + Q(step) + "}";
}
std::string PermissionDenied(const std::string& step) {
  return Refused(step, "PERMISSION_DENIED", "etcdserver: permission denied");
}
std::string UserNameIsEmpty(const std::string& step) {
  return Refused(step, "INVALID_ARGUMENT", "etcdserver: user name is empty");
}

// Writes key=value in etcd directly (its own JSON gateway); true on 200.
bool PutInEtcd(const EtcdServer& etcd, const std::string& key, const std::string& value) {
  return etcd.Request("POST", "/v3/kv/put",
                      "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64(value) + "\"}")
             .status == 200;
}

// --- public_reads: true (the shared default) ------------------------------------------

class GrpcPythonTest : public SharedProxyTest {};

TEST_F(GrpcPythonTest, PutGetPrefixAndDeleteUnderItsPrefix) {
  const std::string dir = "/conftool/" + UniqueName("py") + "/";
  const std::string a = dir + "a";
  const std::string b = dir + "b";
  const std::vector<std::string> lines =
      RunSteps(port(), "conftool",
               "[[\"put\", " + Q(a) + ", \"1\"], [\"put\", " + Q(b) + ", \"2\"], [\"get\", " +
                   Q(a) + "], [\"get_prefix\", " + Q(dir) + "], [\"delete\", " + Q(a) +
                   "], [\"get\", " + Q(a) + "]]");
  const std::vector<std::string> expected = {
      "{\"ok\": true, \"step\": \"put\"}",
      "{\"ok\": true, \"step\": \"put\"}",
      "{\"ok\": true, \"step\": \"get\", \"value\": \"1\"}",
      "{\"ok\": true, \"pairs\": [[" + Q(a) + ", \"1\"], [" + Q(b) +
          ", \"2\"]], \"step\": \"get_prefix\"}",
      "{\"deleted\": true, \"ok\": true, \"step\": \"delete\"}",
      "{\"ok\": true, \"step\": \"get\", \"value\": null}",
  };
  EXPECT_EQ(lines, expected);
  EXPECT_EQ(etcd().V3ValueOf(a), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(b), "2");

  // Reads are public.
  const std::vector<std::string> anonymous =
      RunSteps(port(), kAnonymous, "[[\"get_prefix\", " + Q(dir) + "]]");
  EXPECT_EQ(anonymous, std::vector<std::string>{"{\"ok\": true, \"pairs\": [[" + Q(b) +
                                                ", \"2\"]], \"step\": \"get_prefix\"}"});
}

TEST_F(GrpcPythonTest, RefusalsAreGrpcStatusesAndChangeNothing) {
  const std::string top = "/" + UniqueName("pytop");
  const std::string mine = "/conftool/" + UniqueName("py");
  const std::string beside = "/conftoolx-" + UniqueName("py");
  ASSERT_TRUE(PutInEtcd(etcd(), top, "keep"));
  ASSERT_TRUE(PutInEtcd(etcd(), mine, "keep"));
  ASSERT_TRUE(PutInEtcd(etcd(), beside, "keep"));

  // One client: the refusals do not end its connection, the last put works.
  const std::vector<std::string> conftool =
      RunSteps(port(), "conftool",
               "[[\"put\", " + Q(top) + ", \"no\"], [\"delete\", " + Q(top) +
                   "], [\"delete_prefix\", \"/conftool\"], [\"put\", " + Q(mine) + ", \"yes\"]]");
  const std::vector<std::string> conftool_expected = {
      PermissionDenied("put"),
      PermissionDenied("delete"),
      PermissionDenied("delete_prefix"),
      "{\"ok\": true, \"step\": \"put\"}",
  };
  EXPECT_EQ(conftool, conftool_expected);
  EXPECT_EQ(etcd().V3ValueOf(top), "keep");
  EXPECT_EQ(etcd().V3ValueOf(beside), "keep") << "delete_prefix /conftool reached /conftoolx-";
  EXPECT_EQ(etcd().V3ValueOf(mine), "yes");

  const std::vector<std::string> unlisted =
      RunSteps(port(), kUnlisted, "[[\"put\", " + Q(mine) + ", \"unlisted\"]]");
  EXPECT_EQ(unlisted, std::vector<std::string>{PermissionDenied("put")});

  const std::vector<std::string> anonymous =
      RunSteps(port(), kAnonymous,
               "[[\"put\", " + Q(mine) + ", \"anonymous\"], [\"delete\", " + Q(mine) + "]]");
  EXPECT_EQ(anonymous,
            (std::vector<std::string>{UserNameIsEmpty("put"), UserNameIsEmpty("delete")}));
  EXPECT_EQ(etcd().V3ValueOf(mine), "yes");
}

TEST_F(GrpcPythonTest, TransactionHidingAWriteToTheSecretIsRefused) {
  const std::string mine = "/conftool/" + UniqueName("pytxn");
  const std::string secret = "/conftool/secret/" + UniqueName("pytxn");
  ASSERT_TRUE(PutInEtcd(etcd(), mine, "a"));
  // The compare holds, so etcd would run the success branch; then the same
  // transaction writing only under /conftool.
  const std::vector<std::string> lines = RunSteps(
      port(), "conftool",
      "[[\"txn_value_equals\", " + Q(mine) + ", \"a\", [[" + Q(secret) + ", \"leaked\"]], [[" +
          Q(mine) + ", \"failure\"]]], [\"txn_value_equals\", " + Q(mine) + ", \"a\", [[" +
          Q(mine) + ", \"b\"]], [[" + Q(mine) + ", \"failure\"]]]]");
  const std::vector<std::string> expected = {
      PermissionDenied("txn_value_equals"),
      "{\"ok\": true, \"step\": \"txn_value_equals\", \"succeeded\": true}",
  };
  EXPECT_EQ(lines, expected);
  EXPECT_EQ(etcd().V3ValueOf(secret), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(mine), "b");
}

// --- public_reads: false -------------------------------------------------------------

class GrpcPythonPrivateReadsTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.public_reads = false;
    StartShared(options);
  }
};

TEST_F(GrpcPythonPrivateReadsTest, ReadsByRule) {
  const std::string top = "/" + UniqueName("pyprivate");
  const std::string mine = "/conftool/" + UniqueName("pyprivate");
  ASSERT_TRUE(PutInEtcd(etcd(), top, "hidden"));
  ASSERT_TRUE(PutInEtcd(etcd(), mine, "shown"));
  const std::vector<std::string> conftool =
      RunSteps(port(), "conftool", "[[\"get\", " + Q(top) + "], [\"get\", " + Q(mine) + "]]");
  const std::vector<std::string> expected = {
      PermissionDenied("get"),
      "{\"ok\": true, \"step\": \"get\", \"value\": \"shown\"}",
  };
  EXPECT_EQ(conftool, expected);
  EXPECT_EQ(RunSteps(port(), kAnonymous, "[[\"get\", " + Q(mine) + "]]"),
            std::vector<std::string>{UserNameIsEmpty("get")});
}

// Three watches on one client, so on one gRPC Watch stream: the refused one
// in the middle gets id -1 and never an event, the two around it get theirs.
// The script writes the three keys in etcd directly, the refused one first:
// etcd sends a stream's events in revision order, so had the refused watch
// reached etcd, its event would come before the last allowed one's.
TEST_F(GrpcPythonPrivateReadsTest, RefusedWatchOnASharedStreamGetsNoEvent) {
  const std::string first = "/conftool/" + UniqueName("pywatch");
  const std::string refused = "/" + UniqueName("pywatch");  // the "/" rule: root only
  const std::string last = "/conftool/" + UniqueName("pywatch");
  std::vector<std::string> argv = ClientArgv("etcd3_watch.py", port(), "conftool");
  argv.insert(argv.end(), {std::to_string(etcd().client_port()), first, refused, last});
  const CommandResult run = RunCommand(argv, {}, 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<std::string> lines = JsonLines(run.output);
  ASSERT_EQ(lines.size(), 9u) << run.output;

  const std::regex created(
      "\\{\"key\": \"([^\"]+)\", \"step\": \"watch\", \"watch_id\": (-?\\d+)\\}");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(lines[0], match, created)) << lines[0];
  EXPECT_EQ(match[1].str(), first);
  EXPECT_GE(std::stoi(match[2].str()), 0) << lines[0];
  EXPECT_EQ(lines[1], "{\"key\": " + Q(refused) + ", \"step\": \"watch\", \"watch_id\": -1}");
  ASSERT_TRUE(std::regex_match(lines[2], match, created)) << lines[2];
  EXPECT_EQ(match[1].str(), last);
  EXPECT_GE(std::stoi(match[2].str()), 0) << lines[2];

  EXPECT_EQ(lines[6], "{\"errors\": [], \"events\": [[\"PutEvent\", " + Q(first) +
                          ", \"value-0\"]], \"key\": " + Q(first) + ", \"step\": \"events\"}");
  EXPECT_EQ(lines[7],
            "{\"errors\": [], \"events\": [], \"key\": " + Q(refused) + ", \"step\": \"events\"}");
  EXPECT_EQ(lines[8], "{\"errors\": [], \"events\": [[\"PutEvent\", " + Q(last) +
                          ", \"value-2\"]], \"key\": " + Q(last) + ", \"step\": \"events\"}");
  // The writes did happen (in etcd directly), the refused key's too.
  EXPECT_EQ(etcd().V3ValueOf(refused), "value-1");
}

// The same three watches on a raw Watch stream, every response seen
// whatever its watch id (python-etcd3 drops responses for ids it did not
// register, so it can miss events of a refused create that reached etcd anyway):
// the refusal is etcd's own answer, etcd numbers the two allowed watches 0
// and 1 (it never saw the refused one), and no other response arrives.
TEST_F(GrpcPythonPrivateReadsTest, RefusedWatchCreateIsAnsweredInOrderAndNeverReachesEtcd) {
  const std::string first = "/conftool/" + UniqueName("pyraw");
  const std::string refused = "/conftool/secret/" + UniqueName("pyraw");  // root only
  const std::string last = "/conftool/" + UniqueName("pyraw");
  std::vector<std::string> argv = ClientArgv("etcd3_raw_watch.py", port(), "conftool");
  argv.insert(argv.end(), {std::to_string(etcd().client_port()), first, refused, last});
  const CommandResult run = RunCommand(argv, {}, 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output;

  const auto response = [](int id, bool created, bool canceled, const std::string& reason,
                           const std::string& events) {
    return "{\"cancel_reason\": " + Q(reason) + ", \"canceled\": " + (canceled ? "true" : "false") +
           ", \"created\": " + (created ? "true" : "false") + ", \"events\": [" + events +
           "], \"watch_id\": " + std::to_string(id) + "}";
  };
  const std::vector<std::string> expected = {
      response(0, true, false, "", ""),
      response(-1, true, true,
               "rpc error: code = PermissionDenied desc = etcdserver: permission denied", ""),
      response(1, true, false, "", ""),
      response(0, false, false, "", "[\"PUT\", " + Q(first) + ", \"value-0\"]"),
      response(1, false, false, "", "[\"PUT\", " + Q(last) + ", \"value-2\"]"),
  };
  EXPECT_EQ(JsonLines(run.output), expected) << run.output;
  EXPECT_EQ(etcd().V3ValueOf(refused), "value-1");
}

}  // namespace
}  // namespace tlsproxy::integration
