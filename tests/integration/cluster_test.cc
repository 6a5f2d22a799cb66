// A cluster, as the operators' runbook runs it: three etcd members on
// loopback, one etcd-tlsproxy in front of each (as deployed, one per host).
//
// - `etcdctl cluster-health` and `member list` (ETCDCTL_API=2) work through
//   any of the three proxies;
// - GET /v2/stats/leader through a follower's proxy says it is not the
//   leader, through the leader's proxy it answers the leader's stats;
// - `etcdctl member add` / `member remove` through a proxy succeed as root and
//   are refused for conftool (and anonymously), with etcd's member list,
//   asked straight over plaintext, left unchanged;
// - a python-etcd style client given all three proxies keeps reading and
//   writing while one member, and then also its proxy, is down.
//
// The cluster itself is tests/integration/cluster.h. Each member advertises
// its own plaintext client URL (in production that is the proxy's https URL
// on the same host); etcdctl runs with --no-sync so it stays on the proxy it
// was given.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

constexpr int kMembers = kClusterMembers;

std::string RootAuth() { return std::string("root:") + kRootPassword; }
std::string ConftoolAuth() { return std::string("conftool:") + kConftoolPassword; }

// ETCDCTL_API=2 etcdctl --no-sync --endpoints https://localhost:<port>
// --ca-file ca.pem [--username user:password] <command...>
CommandResult Etcdctl(uint16_t port, const std::string& user_and_password,
                      const std::vector<std::string>& command) {
  std::vector<std::string> argv = {"/usr/bin/etcdctl", "--no-sync",
                                   "--endpoints",      "https://localhost:" + std::to_string(port),
                                   "--ca-file",        TestCertificates().ca};
  if (!user_and_password.empty()) argv.insert(argv.end(), {"--username", user_and_password});
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, {"ETCDCTL_API=2"}, 30s);
}

// The ID of the member whose peer URL is `peer_url`, from a GET /v2/members
// body; empty when there is none.
std::string MemberIdWithPeerUrl(const std::string& body, const std::string& peer_url) {
  const std::regex member("\\{\"id\":\"([0-9a-f]+)\"[^{}]*\"peerURLs\":\\[\"" +
                          std::regex_replace(peer_url, std::regex("[.:/]"), "\\$&") + "\"");
  std::smatch match;
  return std::regex_search(body, match, member) ? match[1].str() : "";
}

class ClusterTest : public SharedClusterTest {};

TEST_F(ClusterTest, ClusterHealthThroughEveryProxy) {
  const std::vector<std::string> ids = MemberIds(cluster().MembersFrom(0));
  ASSERT_EQ(ids.size(), 3u) << cluster().MembersFrom(0);
  for (int i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("through the proxy of member-" + std::to_string(i));
    const CommandResult health = Etcdctl(cluster().proxy(i).port(), RootAuth(), {"cluster-health"});
    EXPECT_EQ(health.exit_code, 0) << health.output;
    EXPECT_NE(health.output.find("cluster is healthy"), std::string::npos) << health.output;
    for (const std::string& id : ids) {
      EXPECT_NE(health.output.find("member " + id + " is healthy"), std::string::npos)
          << health.output;
    }
    EXPECT_NE(cluster().proxy(i).Logs().find("/v2/members"), std::string::npos)
        << "etcdctl did not ask this proxy";
  }
}

TEST_F(ClusterTest, MemberListThroughEveryProxy) {
  const int leader = cluster().Leader();
  ASSERT_GE(leader, 0);
  for (int i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("through the proxy of member-" + std::to_string(i));
    const CommandResult members =
        Etcdctl(cluster().proxy(i).port(), RootAuth(), {"member", "list"});
    EXPECT_EQ(members.exit_code, 0) << members.output;
    for (int m = 0; m < kMembers; ++m) {
      const std::string name = "member-" + std::to_string(m);
      EXPECT_NE(members.output.find("name=" + name + " peerURLs=" + cluster().member(m).peer_url() +
                                    " clientURLs=" + cluster().member(m).client_url() +
                                    " isLeader=" + (m == leader ? "true" : "false")),
                std::string::npos)
          << members.output;
    }
    // Three lines, one leader.
    EXPECT_EQ(std::count(members.output.begin(), members.output.end(), '\n'), 3) << members.output;
  }
}

TEST_F(ClusterTest, StatsLeaderOnlyFromTheLeadersProxy) {
  const int leader = cluster().Leader();
  ASSERT_GE(leader, 0);
  const std::string leader_id = JsonField(cluster().SelfStats(leader).body, "id");
  ASSERT_FALSE(leader_id.empty());
  for (int i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("through the proxy of member-" + std::to_string(i));
    const HttpResponse stats = HttpsGet(cluster().proxy(i).port(), "/v2/stats/leader");
    if (i == leader) {
      EXPECT_EQ(stats.status, 200) << stats.body << stats.error;
      EXPECT_EQ(JsonField(stats.body, "leader"), leader_id) << stats.body;
      EXPECT_NE(stats.body.find("\"followers\":{"), std::string::npos) << stats.body;
    } else {
      EXPECT_EQ(stats.status, 403) << stats.body << stats.error;
      EXPECT_EQ(TrimRight(stats.body), "{\"message\":\"not current leader\"}");
      EXPECT_EQ(stats.Header("content-type").rfind("application/json", 0), 0u)
          << stats.Header("content-type");
    }
  }
}

TEST_F(ClusterTest, MemberAddAndRemoveOnlyAsRoot) {
  const std::vector<std::string> before = MemberIds(cluster().MembersFrom(0));
  ASSERT_EQ(before.size(), 3u) << cluster().MembersFrom(0);
  ASSERT_TRUE(cluster().AllListMembers(before));
  const std::string new_peer = "http://127.0.0.1:" + std::to_string(FreePort());

  // Whatever happens below, the member added here does not stay.
  struct RemoveOnExit {
    Cluster& cluster;
    std::string peer;
    ~RemoveOnExit() {
      const std::string id = MemberIdWithPeerUrl(cluster.MembersFrom(0), peer);
      if (!id.empty()) cluster.member(0).Request("DELETE", "/v2/members/" + id);
    }
  } remove_on_exit{cluster(), new_peer};

  // Refused: conftool, and nobody.
  for (const std::string& auth : {ConftoolAuth(), std::string()}) {
    SCOPED_TRACE(auth.empty() ? "anonymous" : "as conftool");
    // What etcdctl makes of the proxy's 403 (conftool) and 401 (nobody).
    const std::string refusal =
        std::string("unexpected status code ") + (auth.empty() ? "401" : "403");
    const CommandResult add =
        Etcdctl(cluster().proxy(1).port(), auth, {"member", "add", "member-new", new_peer});
    EXPECT_NE(add.exit_code, 0) << add.output;
    EXPECT_NE(add.output.find(refusal), std::string::npos) << add.output;
    for (int i = 0; i < kMembers; ++i) {
      EXPECT_EQ(MemberIds(cluster().MembersFrom(i)), before) << cluster().MembersFrom(i);
    }
  }

  // root adds it (the new member is not started: three of four is a
  // quorum). etcd refuses to reconfigure ("unhealthy cluster", 503) until
  // every member has been connected for 5 s.
  cluster().WaitConnectedFor(6s);
  const CommandResult add =
      Etcdctl(cluster().proxy(1).port(), RootAuth(), {"member", "add", "member-new", new_peer});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  const std::string members_after_add = cluster().MembersFrom(0);
  const std::string new_id = MemberIdWithPeerUrl(members_after_add, new_peer);
  ASSERT_FALSE(new_id.empty()) << members_after_add;
  EXPECT_NE(add.output.find("Added member named member-new with ID " + new_id), std::string::npos)
      << add.output;
  std::vector<std::string> with_new = before;
  with_new.push_back(new_id);
  std::sort(with_new.begin(), with_new.end());
  ASSERT_TRUE(cluster().AllListMembers(with_new));

  // Refused: conftool, and nobody, removing it.
  for (const std::string& auth : {ConftoolAuth(), std::string()}) {
    SCOPED_TRACE(auth.empty() ? "anonymous" : "as conftool");
    // What etcdctl makes of the proxy's 403 (conftool) and 401 (nobody).
    const std::string refusal =
        std::string("unexpected status code ") + (auth.empty() ? "401" : "403");
    const CommandResult remove =
        Etcdctl(cluster().proxy(2).port(), auth, {"member", "remove", new_id});
    EXPECT_NE(remove.exit_code, 0) << remove.output;
    EXPECT_NE(remove.output.find(refusal), std::string::npos) << remove.output;
    for (int i = 0; i < kMembers; ++i) {
      EXPECT_EQ(MemberIds(cluster().MembersFrom(i)), with_new) << cluster().MembersFrom(i);
    }
  }

  // root removes it.
  const CommandResult remove =
      Etcdctl(cluster().proxy(2).port(), RootAuth(), {"member", "remove", new_id});
  EXPECT_EQ(remove.exit_code, 0) << remove.output;
  EXPECT_NE(remove.output.find("Removed member " + new_id), std::string::npos) << remove.output;
  EXPECT_TRUE(cluster().AllListMembers(before));

  // And the cluster is as healthy as before.
  const CommandResult health = Etcdctl(cluster().proxy(0).port(), RootAuth(), {"cluster-health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
}

// A client given all three proxies, as python-etcd is (host=(...) with
// allow_reconnect): on a connection error or a 5xx answer it tries the next
// proxy. Each request starts at the next proxy in turn, so that the one that
// is down is met again and again.
class FailoverClient {
 public:
  FailoverClient(std::vector<uint16_t> ports, std::string user, std::string password)
      : ports_(std::move(ports)), user_(std::move(user)), password_(std::move(password)) {}

  struct Outcome {
    HttpResponse response;              // the last answer
    std::vector<long> failed_statuses;  // the answers it moved on from (0: no connection)
    std::vector<std::string> failed_errors;
  };

  Outcome Do(HttpsRequest request) {
    request.user = user_;
    request.password = password_;
    request.timeout = 5s;
    Outcome outcome;
    const std::size_t start = next_++ % ports_.size();
    for (std::size_t k = 0; k < ports_.size(); ++k) {
      outcome.response = Https(ports_[(start + k) % ports_.size()], request);
      if (outcome.response.status != 0 && outcome.response.status < 500) break;
      outcome.failed_statuses.push_back(outcome.response.status);
      outcome.failed_errors.push_back(outcome.response.error + " " + outcome.response.body);
    }
    return outcome;
  }

  Outcome Write(const std::string& key, const std::string& value) {
    HttpsRequest request;
    request.method = "PUT";
    request.path = "/v2/keys" + key;
    request.body = "value=" + value;  // URL-safe values only
    return Do(request);
  }

  // A quorum read (python-etcd: read(key, quorum=True)), so that whichever
  // member answers has the write before.
  Outcome Read(const std::string& key) {
    HttpsRequest request;
    request.path = "/v2/keys" + key + "?quorum=true";
    return Do(request);
  }

 private:
  std::vector<uint16_t> ports_;
  std::string user_;
  std::string password_;
  std::size_t next_ = 0;
};

// Its own cluster: it stops a member.
class ClusterFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Cluster::Start(cluster_)); }
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(ClusterFailoverTest, ClientKeepsReadingAndWritingWithOneMemberDown) {
  Cluster& cluster = *cluster_;
  // Stop member-1 ("member 2"), or member-2 if member-1 leads: a follower,
  // as the runbook restarts them, so that no election is under way while
  // the client works.
  const int leader = cluster.Leader();
  ASSERT_GE(leader, 0);
  const int down = leader == 1 ? 2 : 1;

  FailoverClient client(cluster.proxy_ports(), "conftool", kConftoolPassword);
  const std::string base = "/conftool/" + UniqueName("failover");
  std::vector<std::string> written;
  std::set<long> failed_statuses;
  int failovers = 0;

  // `rounds` writes, each read back; every request answered, at most one
  // failover each.
  const auto run = [&](const std::string& phase, int rounds) {
    for (int round = 0; round < rounds; ++round) {
      const std::string key = base + "/" + phase + "-" + std::to_string(round);
      const std::string value = phase + "-value-" + std::to_string(round);
      const FailoverClient::Outcome wrote = client.Write(key, value);
      EXPECT_TRUE(wrote.response.status == 200 || wrote.response.status == 201)
          << key << ": " << wrote.response.status << " " << wrote.response.body
          << wrote.response.error;
      EXPECT_LE(wrote.failed_statuses.size(), 1u) << key;
      const FailoverClient::Outcome read = client.Read(key);
      EXPECT_EQ(read.response.status, 200)
          << key << ": " << read.response.body << read.response.error;
      EXPECT_EQ(JsonField(read.response.body, "value"), value) << read.response.body;
      EXPECT_LE(read.failed_statuses.size(), 1u) << key;
      for (const auto* outcome : {&wrote, &read}) {
        failovers += static_cast<int>(outcome->failed_statuses.size());
        failed_statuses.insert(outcome->failed_statuses.begin(), outcome->failed_statuses.end());
      }
      written.push_back(key + "=" + value);
    }
  };

  run("all-up", 3);
  EXPECT_EQ(failovers, 0);

  // The member goes; its proxy answers 502 and the client moves on.
  cluster.member(down).Stop();
  run("member-down", 10);
  EXPECT_EQ(failed_statuses, std::set<long>{502});

  // Its proxy goes too; connections are refused and the client moves on.
  ASSERT_TRUE(cluster.proxy(down).Stop());
  failed_statuses.clear();
  run("proxy-down", 10);
  EXPECT_EQ(failed_statuses, std::set<long>{0});
  EXPECT_GE(failovers, 10) << "the stopped member was hardly tried";

  // What etcd holds, asked straight on the members still up.
  for (int i = 0; i < kMembers; ++i) {
    if (i == down) continue;
    for (const std::string& entry : written) {
      const std::string key = entry.substr(0, entry.find('='));
      const HttpResponse stored =
          cluster.member(i).Request("GET", "/v2/keys" + key + "?quorum=true");
      EXPECT_EQ(JsonField(stored.body, "value"), entry.substr(entry.find('=') + 1)) << stored.body;
    }
  }
  EXPECT_TRUE(cluster.ProxiesAlive());
}

}  // namespace
}  // namespace tlsproxy::integration
