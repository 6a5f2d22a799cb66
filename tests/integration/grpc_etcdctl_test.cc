// etcdctl v3 (ETCDCTL_API=3: gRPC over HTTP/2, ALPN h2) through the proxy,
// identified by its client certificate (root, conftool, a CN no rule lists)
// or by nothing, as an operator runs it. Each test asserts what etcdctl
// prints and its exit code, and checks every refused write in etcd directly
// (its own plaintext port, not the proxy).
#include <cstdint>
#include <regex>

#include "tests/integration/etcdctl_v3.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

// Who runs etcdctl: a client certificate of TestCertificates(), or nobody.
constexpr char kAnonymous[] = "";
// client-forger.pem: verified by the CA, its CN on no rule.
constexpr char kUnlisted[] = "forger";

// What etcdctl prints when the proxy answers grpc-status 3.
constexpr char kUserNameIsEmpty[] = "Error: etcdserver: user name is empty";

// etcdctl with `input` on its standard input (for `txn`), through /bin/sh's
// redirect: RunCommand gives its children /dev/null.
CommandResult EtcdctlWithInput(uint16_t port, const std::string& who,
                               const std::vector<std::string>& command, const std::string& input) {
  TempDir dir;
  WriteFile(dir.File("stdin"), input);
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$@\" < \"$0\"", dir.File("stdin")};
  const std::vector<std::string> etcdctl = EtcdctlArgv(port, who, command);
  argv.insert(argv.end(), etcdctl.begin(), etcdctl.end());
  return RunCommand(argv, {"ETCDCTL_API=3"}, 30s);
}

// --- etcd, asked directly -----------------------------------------------------------

// etcd's answer to a range of `key` as of `revision` (an error once that
// revision is compacted).
HttpResponse RangeInEtcdAt(const EtcdServer& etcd, const std::string& key, int64_t revision) {
  return etcd.Request(
      "POST", "/v3/kv/range",
      "{\"key\":\"" + Base64(key) + "\",\"revision\":" + std::to_string(revision) + "}");
}

// The seconds left on lease `id` (decimal) in etcd: -1 when it does not
// exist, -2 when etcd's answer cannot be read.
long LeaseTtlInEtcd(const EtcdServer& etcd, const std::string& id) {
  const std::string ttl =
      Int64Field(etcd.Request("POST", "/v3/lease/timetolive", "{\"ID\":\"" + id + "\"}"), "TTL");
  return ttl.empty() ? -2 : std::stol(ttl);
}

// How many leases etcd holds, or -1.
int LeaseCountInEtcd(const EtcdServer& etcd) {
  const HttpResponse leases = etcd.Request("POST", "/v3/lease/leases", "{}");
  if (leases.status != 200) return -1;
  int count = 0;
  for (std::size_t at = leases.body.find("\"ID\""); at != std::string::npos;
       at = leases.body.find("\"ID\"", at + 1)) {
    ++count;
  }
  return count;
}

// --- public_reads: true (the shared default) ------------------------------------------

class GrpcEtcdctlTest : public SharedProxyTest {};

TEST_F(GrpcEtcdctlTest, ConftoolPutsAndGetsUnderItsPrefix) {
  const std::string key = "/conftool/" + UniqueName("ctl3");
  const CommandResult put = Etcdctl(port(), "conftool", {"put", key, "from-etcdctl"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_TRUE(Contains(put.output, "OK")) << put.output;
  EXPECT_EQ(etcd().V3ValueOf(key), "from-etcdctl");

  const CommandResult get = Etcdctl(port(), "conftool", {"get", key});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_EQ(get.output, key + "\nfrom-etcdctl\n");

  // Reads are public: no certificate, or one no rule lists.
  for (const std::string who : {kAnonymous, kUnlisted}) {
    const CommandResult other = Etcdctl(port(), who, {"get", key, "--print-value-only"});
    EXPECT_EQ(other.exit_code, 0) << who << ": " << other.output;
    EXPECT_EQ(other.output, "from-etcdctl\n") << who;
  }
}

TEST_F(GrpcEtcdctlTest, ConftoolWriteOutsideItsPrefixIsPermissionDenied) {
  const std::string top = "/" + UniqueName("ctl3top");
  const std::string secret = "/conftool/secret/" + UniqueName("ctl3");
  for (const std::string& key : {top, secret}) {
    const CommandResult refused = Etcdctl(port(), "conftool", {"put", key, "no"});
    EXPECT_EQ(refused.exit_code, 1) << key << ": " << refused.output;
    EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << key << ": " << refused.output;
    EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt) << key;
  }
  // The same writes as root go through: the refusals were the ACL's.
  for (const std::string& key : {top, secret}) {
    const CommandResult put = Etcdctl(port(), "root", {"put", key, "yes"});
    EXPECT_EQ(put.exit_code, 0) << key << ": " << put.output;
    EXPECT_EQ(etcd().V3ValueOf(key), "yes") << key;
  }
}

TEST_F(GrpcEtcdctlTest, UnlistedCertificateIsPermissionDenied) {
  const std::string key = "/conftool/" + UniqueName("ctl3unlisted");
  const CommandResult refused = Etcdctl(port(), kUnlisted, {"put", key, "no"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);

  // /eventlogging: [] lets anyone write, this identity too.
  const std::string open = "/eventlogging/" + UniqueName("ctl3unlisted");
  const CommandResult put = Etcdctl(port(), kUnlisted, {"put", open, "yes"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(etcd().V3ValueOf(open), "yes");
}

TEST_F(GrpcEtcdctlTest, AnonymousWriteIsUserNameIsEmpty) {
  const std::string key = "/conftool/" + UniqueName("ctl3anon");
  const CommandResult refused = Etcdctl(port(), kAnonymous, {"put", key, "no"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kUserNameIsEmpty)) << refused.output;
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);

  const CommandResult del = Etcdctl(port(), kAnonymous, {"del", key});
  EXPECT_EQ(del.exit_code, 1) << del.output;
  EXPECT_TRUE(Contains(del.output, kUserNameIsEmpty)) << del.output;

  const std::string open = "/eventlogging/" + UniqueName("ctl3anon");
  const CommandResult put = Etcdctl(port(), kAnonymous, {"put", open, "yes"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(etcd().V3ValueOf(open), "yes");
}

TEST_F(GrpcEtcdctlTest, RangeDeleteSpillingOverAProtectedPrefixIsRefused) {
  const std::string name = UniqueName("ctl3spill");
  const std::string mine = "/conftool/" + name;
  const std::string beside = "/conftoolx-" + name;  // under the "/" rule
  const std::string almost = "/conftool/secre-" + name;
  const std::string secret = "/conftool/secret/" + name;
  for (const std::string& key : {mine, beside, almost, secret}) {
    ASSERT_GT(PutInEtcd(etcd(), key, "keep"), 0) << key;
  }
  // [/conftool, /conftoom) reaches /conftoolx-...; [/conftool/secre,
  // /conftool/secrf) reaches /conftool/secret/....
  for (const std::string prefix : {"/conftool", "/conftool/secre"}) {
    const CommandResult refused = Etcdctl(port(), "conftool", {"del", "--prefix", prefix});
    EXPECT_EQ(refused.exit_code, 1) << prefix << ": " << refused.output;
    EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << prefix << ": " << refused.output;
    for (const std::string& key : {mine, beside, almost, secret}) {
      EXPECT_EQ(etcd().V3ValueOf(key), "keep") << prefix << " deleted " << key;
    }
  }
  // A prefix wholly under /conftool is conftool's to delete.
  ASSERT_GT(PutInEtcd(etcd(), mine + "/a", "gone"), 0);
  ASSERT_GT(PutInEtcd(etcd(), mine + "/b", "gone"), 0);
  const CommandResult del = Etcdctl(port(), "conftool", {"del", "--prefix", mine + "/"});
  EXPECT_EQ(del.exit_code, 0) << del.output;
  EXPECT_EQ(del.output, "2\n");
  EXPECT_EQ(etcd().V3ValueOf(mine + "/a"), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(mine), "keep");
}

TEST_F(GrpcEtcdctlTest, TxnHidingAWriteToTheSecretIsRefused) {
  const std::string mine = "/conftool/" + UniqueName("ctl3txn");
  const std::string secret = "/conftool/secret/" + UniqueName("ctl3txn");
  ASSERT_GT(PutInEtcd(etcd(), mine, "a"), 0);
  // The compare holds, so etcd would run the success branch.
  const std::string hidden = "value(\"" + mine + "\") = \"a\"\n\nput " + secret +
                             " leaked\n\nput " + mine + " failure-branch\n\n";
  const CommandResult refused = EtcdctlWithInput(port(), "conftool", {"txn"}, hidden);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  EXPECT_EQ(etcd().V3ValueOf(secret), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(mine), "a");

  // The same transaction writing only under /conftool goes through.
  const std::string allowed =
      "value(\"" + mine + "\") = \"a\"\n\nput " + mine + " b\n\nput " + mine + " c\n\n";
  const CommandResult txn = EtcdctlWithInput(port(), "conftool", {"txn"}, allowed);
  EXPECT_EQ(txn.exit_code, 0) << txn.output;
  EXPECT_EQ(txn.output, "SUCCESS\n\nOK\n");
  EXPECT_EQ(etcd().V3ValueOf(mine), "b");
}

TEST_F(GrpcEtcdctlTest, WatchPrintsTheEvents) {
  const std::string key = "/conftool/" + UniqueName("ctl3watch");
  const int64_t revision = PutInEtcd(etcd(), key, "seen");
  ASSERT_GT(revision, 0);
  const CommandResult watch = EtcdctlWatch(port(), kAnonymous, key, revision);
  EXPECT_TRUE(watch.timed_out) << "the watch ended: " << watch.output;
  EXPECT_EQ(watch.output, "PUT\n" + key + "\nseen\n");
}

TEST_F(GrpcEtcdctlTest, LeasesNeedTheRootRule) {
  const int leases_before = LeaseCountInEtcd(etcd());
  ASSERT_GE(leases_before, 0);
  const CommandResult refused = Etcdctl(port(), "conftool", {"lease", "grant", "600"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(
      Contains(refused.output, "Error: failed to grant lease (etcdserver: permission denied)"))
      << refused.output;
  EXPECT_EQ(LeaseCountInEtcd(etcd()), leases_before) << "the refused grant reached etcd";

  const CommandResult grant = Etcdctl(port(), "root", {"lease", "grant", "600"});
  EXPECT_EQ(grant.exit_code, 0) << grant.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(grant.output, match,
                                std::regex("lease ([0-9a-f]+) granted with TTL\\(600s\\)")))
      << grant.output;
  const std::string hex = match[1].str();
  const std::string id = std::to_string(static_cast<int64_t>(std::stoull(hex, nullptr, 16)));
  EXPECT_GT(LeaseTtlInEtcd(etcd(), id), 0);

  const CommandResult refused_revoke = Etcdctl(port(), "conftool", {"lease", "revoke", hex});
  EXPECT_EQ(refused_revoke.exit_code, 1) << refused_revoke.output;
  EXPECT_TRUE(Contains(refused_revoke.output,
                       "Error: failed to revoke lease (etcdserver: permission denied)"))
      << refused_revoke.output;
  EXPECT_GT(LeaseTtlInEtcd(etcd(), id), 0) << "the refused revoke reached etcd";

  const CommandResult revoke = Etcdctl(port(), "root", {"lease", "revoke", hex});
  EXPECT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_TRUE(Contains(revoke.output, "lease " + hex + " revoked")) << revoke.output;
  EXPECT_EQ(LeaseTtlInEtcd(etcd(), id), -1);
}

TEST_F(GrpcEtcdctlTest, CompactionNeedsTheRootRule) {
  const std::string key = "/conftool/" + UniqueName("ctl3compact");
  const int64_t first = PutInEtcd(etcd(), key, "old");
  const int64_t second = PutInEtcd(etcd(), key, "new");
  ASSERT_GT(first, 0);
  ASSERT_GT(second, first);

  const CommandResult refused = Etcdctl(port(), "conftool", {"compaction", std::to_string(second)});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  const HttpResponse old = RangeInEtcdAt(etcd(), key, first);
  EXPECT_EQ(old.status, 200) << "the refused compaction reached etcd: " << old.body;
  EXPECT_TRUE(Contains(old.body, Base64("old"))) << old.body;

  const CommandResult compacted = Etcdctl(port(), "root", {"compaction", std::to_string(second)});
  EXPECT_EQ(compacted.exit_code, 0) << compacted.output;
  EXPECT_EQ(compacted.output, "compacted revision " + std::to_string(second) + "\n");
  const HttpResponse gone = RangeInEtcdAt(etcd(), key, first);
  EXPECT_TRUE(Contains(gone.body, "required revision has been compacted")) << gone.body;
}

TEST_F(GrpcEtcdctlTest, MemberListEndpointHealthAndStatusArePublic) {
  const CommandResult members = Etcdctl(port(), kAnonymous, {"member", "list"});
  EXPECT_EQ(members.exit_code, 0) << members.output;
  EXPECT_TRUE(Contains(members.output,
                       ", started, default, " + etcd().peer_url() + ", " + etcd().client_url()))
      << members.output;

  const std::string endpoint = "https://localhost:" + std::to_string(port());
  const CommandResult health = Etcdctl(port(), kAnonymous, {"endpoint", "health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_TRUE(Contains(health.output, endpoint + " is healthy")) << health.output;

  const CommandResult status = Etcdctl(port(), kAnonymous, {"endpoint", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(Contains(status.output, endpoint + ", ")) << status.output;
  EXPECT_TRUE(Contains(status.output, ", 3.4.")) << status.output;
}

// The listener prefers HTTP/1.1: a client that offers h2 and http/1.1
// (curl --http2) still speaks HTTP/1.1 and the v2 API, on the port etcdctl
// speaks gRPC to.
TEST_F(GrpcEtcdctlTest, ClientsOfferingHttp11StillGetIt) {
  const std::string key = "/conftool/" + UniqueName("ctl3alpn");
  ASSERT_TRUE(etcd().Put(key, "v2-value"));
  const CommandResult curl =
      RunCommand({"/usr/bin/curl", "-sS", "--http2", "--cacert", TestCertificates().ca, "-w",
                  "\n%{http_version} %{http_code}",
                  "https://localhost:" + std::to_string(port()) + "/v2/keys" + key});
  EXPECT_EQ(curl.exit_code, 0) << curl.output;
  EXPECT_TRUE(Contains(curl.output, "\"value\":\"v2-value\"")) << curl.output;
  EXPECT_TRUE(Contains(curl.output, "\n1.1 200")) << curl.output;
}

// --- public_reads: false -------------------------------------------------------------

class GrpcEtcdctlPrivateReadsTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.public_reads = false;
    StartShared(options);
  }
};

TEST_F(GrpcEtcdctlPrivateReadsTest, RefusedWatchPrintsNoEvent) {
  const std::string top = "/" + UniqueName("ctl3private");
  const std::string mine = "/conftool/" + UniqueName("ctl3private");
  const int64_t top_revision = PutInEtcd(etcd(), top, "hidden");
  const int64_t mine_revision = PutInEtcd(etcd(), mine, "shown");
  ASSERT_GT(top_revision, 0);
  ASSERT_GT(mine_revision, top_revision);

  const CommandResult allowed = EtcdctlWatch(port(), "conftool", mine, mine_revision);
  EXPECT_TRUE(allowed.timed_out) << "the watch ended: " << allowed.output;
  EXPECT_EQ(allowed.output, "PUT\n" + mine + "\nshown\n");

  // etcdctl ends a watch etcd (here, the proxy) cancelled, with exit code 5.
  const CommandResult refused = EtcdctlWatch(port(), "conftool", top, top_revision);
  EXPECT_FALSE(refused.timed_out) << refused.output;
  EXPECT_EQ(refused.exit_code, 5) << refused.output;
  EXPECT_TRUE(Contains(refused.output,
                       "watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: "
                       "permission denied)"))
      << refused.output;
  EXPECT_FALSE(Contains(refused.output, "hidden")) << refused.output;

  // A prefix watch under /conftool/ reaches /conftool/secret.
  const CommandResult spill =
      EtcdctlWatch(port(), "conftool", "/conftool/", mine_revision, {"--prefix"});
  EXPECT_EQ(spill.exit_code, 5) << spill.output;
  EXPECT_TRUE(Contains(spill.output, "desc = etcdserver: permission denied)")) << spill.output;
  EXPECT_FALSE(Contains(spill.output, "shown")) << spill.output;

  const CommandResult anonymous = EtcdctlWatch(port(), kAnonymous, mine, mine_revision);
  EXPECT_EQ(anonymous.exit_code, 5) << anonymous.output;
  EXPECT_TRUE(Contains(anonymous.output,
                       "watch was canceled (rpc error: code = InvalidArgument desc = etcdserver: "
                       "user name is empty)"))
      << anonymous.output;
  EXPECT_FALSE(Contains(anonymous.output, "shown")) << anonymous.output;
}

TEST_F(GrpcEtcdctlPrivateReadsTest, GetByRule) {
  const std::string top = "/" + UniqueName("ctl3private");
  ASSERT_GT(PutInEtcd(etcd(), top, "hidden"), 0);
  const CommandResult refused = Etcdctl(port(), "conftool", {"get", top});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  EXPECT_FALSE(Contains(refused.output, "hidden")) << refused.output;

  const CommandResult anonymous = Etcdctl(port(), kAnonymous, {"get", top});
  EXPECT_EQ(anonymous.exit_code, 1) << anonymous.output;
  EXPECT_TRUE(Contains(anonymous.output, kUserNameIsEmpty)) << anonymous.output;

  const CommandResult root = Etcdctl(port(), "root", {"get", top, "--print-value-only"});
  EXPECT_EQ(root.exit_code, 0) << root.output;
  EXPECT_EQ(root.output, "hidden\n");
}

TEST_F(GrpcEtcdctlPrivateReadsTest, MemberListAndStatusNeedAnIdentity) {
  struct Case {
    std::vector<std::string> command;
    std::string shown;  // a part of what root sees
  };
  const std::vector<Case> cases = {
      {{"member", "list"}, ", started, default, "},
      {{"endpoint", "status"}, "https://localhost:" + std::to_string(port()) + ", "},
  };
  for (const Case& c : cases) {
    const std::string name = c.command[0] + " " + c.command[1];
    const CommandResult anonymous = Etcdctl(port(), kAnonymous, c.command);
    EXPECT_NE(anonymous.exit_code, 0) << name << ": " << anonymous.output;
    EXPECT_TRUE(Contains(anonymous.output, "etcdserver: user name is empty"))
        << name << ": " << anonymous.output;
    EXPECT_FALSE(Contains(anonymous.output, c.shown)) << name << ": " << anonymous.output;

    const CommandResult root = Etcdctl(port(), "root", c.command);
    EXPECT_EQ(root.exit_code, 0) << name << ": " << root.output;
    EXPECT_TRUE(Contains(root.output, c.shown)) << name << ": " << root.output;
  }
}

}  // namespace
}  // namespace tlsproxy::integration
