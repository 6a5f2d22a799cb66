// etcdctl (ETCDCTL_API=2), as operators use it, through the proxy with
// --ca-file and --username: set, get, member list, cluster-health.
// --no-sync keeps etcdctl on the proxy's endpoint (otherwise it switches to
// the client URLs etcd advertises, which here are etcd's own plaintext port).
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class EtcdctlTest : public SharedProxyTest {
 protected:
  static CommandResult Etcdctl(const std::vector<std::string>& auth,
                               const std::vector<std::string>& command) {
    std::vector<std::string> argv = {
        "/usr/bin/etcdctl", "--no-sync",
        "--endpoints",      "https://localhost:" + std::to_string(port()),
        "--ca-file",        TestCertificates().ca};
    argv.insert(argv.end(), auth.begin(), auth.end());
    argv.insert(argv.end(), command.begin(), command.end());
    return RunCommand(argv, {"ETCDCTL_API=2"}, 30s);
  }
  static std::vector<std::string> Root() {
    return {"--username", std::string("root:") + kRootPassword};
  }
};

TEST_F(EtcdctlTest, SetAndGet) {
  const std::string key = "/conftool/" + UniqueName("ctl");
  const CommandResult set = Etcdctl(Root(), {"set", key, "from-etcdctl"});
  EXPECT_EQ(set.exit_code, 0) << set.output;
  EXPECT_EQ(etcd().ValueOf(key), "from-etcdctl");
  EXPECT_NE(proxy().Logs().find(key), std::string::npos)
      << "the write did not go through the proxy";

  const CommandResult get = Etcdctl(Root(), {"get", key});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_NE(get.output.find("from-etcdctl"), std::string::npos) << get.output;

  const CommandResult anonymous_get = Etcdctl({}, {"get", key});
  EXPECT_EQ(anonymous_get.exit_code, 0) << anonymous_get.output;
  EXPECT_NE(anonymous_get.output.find("from-etcdctl"), std::string::npos);
}

TEST_F(EtcdctlTest, RefusedSetFails) {
  const std::string key = "/" + UniqueName("ctl");
  const CommandResult as_conftool =
      Etcdctl({"--username", std::string("conftool:") + kConftoolPassword}, {"set", key, "x"});
  EXPECT_NE(as_conftool.exit_code, 0) << as_conftool.output;
  EXPECT_NE(as_conftool.output.find("110"), std::string::npos) << as_conftool.output;
  EXPECT_TRUE(etcd().Missing(key));

  const CommandResult anonymous = Etcdctl({}, {"set", key, "x"});
  EXPECT_NE(anonymous.exit_code, 0) << anonymous.output;
  EXPECT_TRUE(etcd().Missing(key));

  const CommandResult wrong = Etcdctl({"--username", "root:wrong"}, {"set", key, "x"});
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(EtcdctlTest, ClientCertificateIdentity) {
  const std::string key = "/conftool/" + UniqueName("ctl");
  const Certificates& certs = TestCertificates();
  const CommandResult set = Etcdctl(
      {"--cert-file", certs.ClientCert("conftool"), "--key-file", certs.ClientKey("conftool")},
      {"set", key, "by-cert"});
  EXPECT_EQ(set.exit_code, 0) << set.output;
  EXPECT_EQ(etcd().ValueOf(key), "by-cert");
}

TEST_F(EtcdctlTest, MemberList) {
  const CommandResult members = Etcdctl(Root(), {"member", "list"});
  EXPECT_EQ(members.exit_code, 0) << members.output;
  EXPECT_NE(members.output.find("name=default"), std::string::npos) << members.output;
  EXPECT_NE(members.output.find("isLeader=true"), std::string::npos) << members.output;
}

TEST_F(EtcdctlTest, ClusterHealth) {
  const CommandResult health = Etcdctl(Root(), {"cluster-health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_NE(health.output.find("cluster is healthy"), std::string::npos) << health.output;
}

}  // namespace
}  // namespace tlsproxy::integration
