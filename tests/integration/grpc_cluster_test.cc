// The v3 (gRPC) counterpart of cluster_test.cc: the 3-member cluster of
// tests/integration/cluster.h, one proxy in front of each member, and
// etcdctl (ETCDCTL_API=3) given all three proxies, as an operator runs it:
//   --endpoints https://localhost:P0,https://localhost:P1,https://localhost:P2
// identified by its client certificate (conftool or root).
//
// - a put through the cluster is on every member; `member list` shows the
//   three members; `endpoint health` and `endpoint status` answer for each
//   proxy, each proxy for its own member, one of them the leader;
// - `endpoint status --cluster` does not stay on the proxies: it asks the
//   members' advertised client URLs (here etcd's own plaintext ports);
// - a refused write (conftool outside /conftool) is refused through every
//   proxy, and etcd's revision does not move;
// - a watch through one proxy sees the writes made through the others;
// - failover: with a follower's member down (its proxy up, answering
//   UNAVAILABLE), then its proxy down too, and with the leader and its proxy
//   down (an election), etcdctl with the three endpoints still puts and gets;
//   every write is checked straight on a member that is still up.
//
// What clientv3 (3.4) does with several endpoints, which these tests rely on:
// it balances calls round-robin over the endpoints it has a connection to
// (an endpoint that refuses connections is left out); it retries a read that
// fails with UNAVAILABLE on the next endpoint, but never a write that reached
// a server (a put answered UNAVAILABLE by the proxy of a stopped member fails
// that etcdctl run).
#include <signal.h>

#include <cstdint>
#include <future>
#include <iostream>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/cluster.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

constexpr int kMembers = kClusterMembers;

// What etcdctl prints for the proxy's grpc-status 7, and for its status 14
// when the member behind it is down.
constexpr char kPermissionDenied[] = "Error: etcdserver: permission denied";
constexpr char kEtcdUnavailable[] = "etcd is unavailable";
// The warning clientv3 logs when it retries a read, with the proxy's status.
constexpr char kRetrying[] = "\"msg\":\"retrying of unary invoker failed\"";
constexpr char kUnavailableFromTheProxy[] =
    "rpc error: code = Unavailable desc = etcd is unavailable: cannot connect: Connection refused";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Endpoint(uint16_t port) { return "https://localhost:" + std::to_string(port); }

// "https://localhost:P0,https://localhost:P1,..." in the order given.
std::string Endpoints(const std::vector<uint16_t>& ports) {
  std::string endpoints;
  for (uint16_t port : ports) {
    if (!endpoints.empty()) endpoints += ",";
    endpoints += Endpoint(port);
  }
  return endpoints;
}

// ETCDCTL_API=3 etcdctl --endpoints <ports> with `who`'s client certificate.
CommandResult Etcdctl(const std::vector<uint16_t>& ports, const std::string& who,
                      const std::vector<std::string>& command,
                      std::chrono::milliseconds timeout = 30s) {
  const Certificates& certs = TestCertificates();
  std::vector<std::string> argv = {"/usr/bin/etcdctl",
                                   "--endpoints",
                                   Endpoints(ports),
                                   "--cacert",
                                   certs.ca,
                                   "--cert",
                                   certs.ClientCert(who),
                                   "--key",
                                   certs.ClientKey(who),
                                   "--dial-timeout",
                                   "5s",
                                   "--command-timeout",
                                   "10s"};
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, {"ETCDCTL_API=3"}, timeout);
}

// The lines of `text`, without their '\n'.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// etcd's current revision, asked straight on member `etcd` (the header of a
// range through its JSON gateway); -1 when it cannot be read.
int64_t RevisionOf(const EtcdServer& etcd) {
  const HttpResponse range =
      etcd.Request("POST", "/v3/kv/range", "{\"key\":\"" + Base64("/") + "\"}");
  std::smatch match;
  static const std::regex kRevision("\"revision\":\"([0-9]+)\"");
  if (range.status != 200 || !std::regex_search(range.body, match, kRevision)) return -1;
  return std::stoll(match[1].str());
}

// Waits (at most 10 s) until the proxy's log has `text`.
bool WaitForLog(const ProxyProcess& proxy, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    if (Contains(proxy.Logs(), text)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class GrpcClusterTest : public SharedClusterTest {
 protected:
  static std::vector<uint16_t> all() { return cluster().proxy_ports(); }
};

TEST_F(GrpcClusterTest, PutThroughTheClusterIsOnEveryMember) {
  const std::string key = "/conftool/" + UniqueName("grpc-cluster");
  const CommandResult put = Etcdctl(all(), "conftool", {"put", key, "through-the-cluster"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(put.output, "OK\n");
  for (int i = 0; i < kMembers; ++i) {
    EXPECT_EQ(cluster().member(i).V3ValueOf(key), "through-the-cluster") << "member-" << i;
  }

  // Read back through the three endpoints, and through each proxy alone.
  const CommandResult get = Etcdctl(all(), "conftool", {"get", key});
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_EQ(get.output, key + "\nthrough-the-cluster\n");
  for (int i = 0; i < kMembers; ++i) {
    const CommandResult one =
        Etcdctl({cluster().proxy(i).port()}, "conftool", {"get", key, "--print-value-only"});
    EXPECT_EQ(one.exit_code, 0) << "proxy of member-" << i << ": " << one.output;
    EXPECT_EQ(one.output, "through-the-cluster\n") << "proxy of member-" << i;
  }
}

TEST_F(GrpcClusterTest, MemberListShowsTheThreeMembers) {
  const std::vector<std::string> ids = MemberIds(cluster().MembersFrom(0));
  ASSERT_EQ(ids.size(), 3u) << cluster().MembersFrom(0);
  const CommandResult members = Etcdctl(all(), "root", {"member", "list"});
  EXPECT_EQ(members.exit_code, 0) << members.output;
  EXPECT_EQ(Lines(members.output).size(), 3u) << members.output;
  // "<id>, started, <name>, <peer URL>, <client URL>, <is learner>": each
  // member with the ID etcd gives it, and its own (plaintext) client URL.
  std::set<std::string> listed;
  static const std::regex kLine("([0-9a-f]+), started, (member-[0-9]), ([^,]+), ([^,]+), false");
  for (const std::string& line : Lines(members.output)) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, kLine)) << line;
    const int m = match[2].str().back() - '0';
    ASSERT_LT(m, kMembers) << line;
    EXPECT_EQ(match[3].str(), cluster().member(m).peer_url()) << line;
    EXPECT_EQ(match[4].str(), cluster().member(m).client_url()) << line;
    listed.insert(match[1].str());
  }
  EXPECT_EQ(listed, std::set<std::string>(ids.begin(), ids.end())) << members.output;
}

TEST_F(GrpcClusterTest, EndpointHealthAndStatusOfTheThreeProxies) {
  const int leader = cluster().Leader();
  ASSERT_GE(leader, 0);
  const CommandResult health = Etcdctl(all(), "root", {"endpoint", "health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_EQ(Lines(health.output).size(), 3u) << health.output;
  for (int i = 0; i < kMembers; ++i) {
    EXPECT_TRUE(Contains(health.output, Endpoint(cluster().proxy(i).port()) + " is healthy"))
        << health.output;
  }

  // One line per proxy: "<endpoint>, <member ID>, <version>, <db size>,
  // <is leader>, <is learner>, <raft term>, <raft index>, <applied>, <errors>".
  // Each proxy answers for its own member, and only the leader's says so.
  const CommandResult status = Etcdctl(all(), "root", {"endpoint", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_EQ(Lines(status.output).size(), 3u) << status.output;
  for (int i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("the proxy of member-" + std::to_string(i));
    const std::string id = JsonField(cluster().SelfStats(i).body, "id");
    ASSERT_FALSE(id.empty());
    const std::regex line("(^|\n)" + Endpoint(cluster().proxy(i).port()) + ", " + id +
                          ", 3\\.4\\.[0-9]+, [^,]+, " + (i == leader ? "true" : "false") +
                          ", false, ");
    EXPECT_TRUE(std::regex_search(status.output, line)) << status.output;
  }
}

// `--cluster` makes etcdctl ask the members' advertised client URLs, not the
// endpoints it was given: here etcd's own plaintext ports, so the proxies
// (and their ACL) are not in the way. In production the members advertise
// the proxies' https URLs, which this does not show.
TEST_F(GrpcClusterTest, EndpointStatusClusterLeavesTheProxiesForTheAdvertisedUrls) {
  const CommandResult status = Etcdctl(all(), "root", {"endpoint", "status", "--cluster"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_EQ(Lines(status.output).size(), 3u) << status.output;
  for (int i = 0; i < kMembers; ++i) {
    EXPECT_TRUE(Contains(status.output, cluster().member(i).client_url() + ", ")) << status.output;
    EXPECT_FALSE(Contains(status.output, Endpoint(cluster().proxy(i).port()))) << status.output;
  }
}

TEST_F(GrpcClusterTest, RefusedWriteIsRefusedThroughEveryProxy) {
  const std::string outside = "/" + UniqueName("grpc-cluster-outside");
  const std::string secret = "/conftool/secret/" + UniqueName("grpc-cluster");
  const int64_t revision = RevisionOf(cluster().member(0));
  ASSERT_GT(revision, 0);

  // Through each proxy alone, and through the three together.
  std::vector<std::vector<uint16_t>> endpoint_lists;
  for (int i = 0; i < kMembers; ++i) endpoint_lists.push_back({cluster().proxy(i).port()});
  endpoint_lists.push_back(all());
  for (const auto& ports : endpoint_lists) {
    for (const std::string& key : {outside, secret}) {
      SCOPED_TRACE(Endpoints(ports) + " " + key);
      const CommandResult refused = Etcdctl(ports, "conftool", {"put", key, "no"});
      EXPECT_EQ(refused.exit_code, 1) << refused.output;
      EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
    }
  }
  for (int i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("member-" + std::to_string(i));
    EXPECT_EQ(cluster().member(i).V3ValueOf(outside), std::nullopt);
    EXPECT_EQ(cluster().member(i).V3ValueOf(secret), std::nullopt);
    EXPECT_EQ(RevisionOf(cluster().member(i)), revision) << "a refused write reached etcd";
  }

  // The same writes as root go through: the refusals were the ACL's.
  const CommandResult put = Etcdctl(all(), "root", {"put", outside, "yes"});
  EXPECT_EQ(put.exit_code, 0) << put.output;
  EXPECT_EQ(cluster().member(0).V3ValueOf(outside), "yes");
  EXPECT_EQ(RevisionOf(cluster().member(0)), revision + 1);
}

// A grpcio client has one endpoint; a watch through the proxy of member-0
// sees what is written through the proxies of member-1 and member-2.
TEST_F(GrpcClusterTest, WatchThroughOneProxySeesWritesThroughTheOthers) {
  const std::string key = "/conftool/" + UniqueName("grpc-cluster-watch");
  auto watch = std::async(std::launch::async, [&] {
    return WatchThroughProxy(cluster().proxy(0).port(), "conftool", key, 2, 20);
  });
  ASSERT_TRUE(WaitForLog(cluster().proxy(0), "method=WATCH")) << cluster().proxy(0).Logs();
  const CommandResult first =
      Etcdctl({cluster().proxy(1).port()}, "conftool", {"put", key, "via-member-1"});
  EXPECT_EQ(first.exit_code, 0) << first.output;
  const CommandResult second =
      Etcdctl({cluster().proxy(2).port()}, "conftool", {"put", key, "via-member-2"});
  EXPECT_EQ(second.exit_code, 0) << second.output;
  const CommandResult seen = watch.get();
  EXPECT_EQ(seen.output, "created 0 canceled=0\nevent " + key + " via-member-1\nevent " + key +
                             " via-member-2\ndone\n");
}

// --- failover: each test has its own cluster, for it stops members ------------------

class GrpcClusterFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Cluster::Start(cluster_)); }

  // A put through `ports`, tried at most `attempts` times, 500 ms apart,
  // until etcdctl exits 0. Each failed attempt's output is kept.
  struct Tries {
    CommandResult last;
    std::vector<std::string> failures;
  };
  Tries PutUntilDone(const std::vector<uint16_t>& ports, const std::string& key,
                     const std::string& value, int attempts) {
    Tries tries;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(500ms);
      tries.last = Etcdctl(ports, "conftool", {"put", key, value});
      if (tries.last.exit_code == 0) break;
      tries.failures.push_back(tries.last.output);
    }
    return tries;
  }

  // The value of every key in `written` (key -> value), asked straight on
  // each member still running.
  void ExpectOnRunningMembers(const std::vector<std::pair<std::string, std::string>>& written) {
    for (int i = 0; i < kMembers; ++i) {
      if (!cluster_->member(i).running()) continue;
      for (const auto& [key, value] : written) {
        EXPECT_EQ(cluster_->member(i).V3ValueOf(key), value) << "member-" << i << " " << key;
      }
    }
  }

  std::unique_ptr<Cluster> cluster_;
};

TEST_F(GrpcClusterFailoverTest, EtcdctlKeepsWritingWithAFollowerAndThenItsProxyDown) {
  Cluster& cluster = *cluster_;
  const int leader = cluster.Leader();
  ASSERT_GE(leader, 0);
  // A follower, so that no election is under way; its proxy first in the
  // endpoints, as the one etcdctl is given first.
  const int down = leader == 0 ? 1 : 0;
  std::vector<uint16_t> ports = {cluster.proxy(down).port()};
  for (int i = 0; i < kMembers; ++i) {
    if (i != down) ports.push_back(cluster.proxy(i).port());
  }
  const std::string base = "/conftool/" + UniqueName("grpc-failover");
  std::vector<std::pair<std::string, std::string>> written;

  // The member goes, its proxy stays: that proxy still takes connections
  // and answers every call UNAVAILABLE. Reads are retried on the next
  // endpoint by clientv3, so every get succeeds; a put that met that proxy
  // fails (clientv3 does not retry a write that reached a server), and the
  // next run may meet another proxy.
  cluster.member(down).Stop();
  int failed_puts = 0;
  int retried_gets = 0;
  for (int round = 0; round < 6; ++round) {
    const std::string key = base + "/member-down-" + std::to_string(round);
    const std::string value = "value-" + std::to_string(round);
    const Tries put = PutUntilDone(ports, key, value, 20);
    EXPECT_EQ(put.last.exit_code, 0) << key << ": " << put.last.output;
    for (const std::string& failure : put.failures) {
      EXPECT_TRUE(Contains(failure, kEtcdUnavailable)) << key << ": " << failure;
    }
    failed_puts += static_cast<int>(put.failures.size());
    // The value, after one warning line for each time clientv3 retried.
    const CommandResult get = Etcdctl(ports, "conftool", {"get", key, "--print-value-only"});
    EXPECT_EQ(get.exit_code, 0) << key << ": " << get.output;
    std::vector<std::string> lines = Lines(get.output);
    ASSERT_FALSE(lines.empty()) << key;
    EXPECT_EQ(lines.back(), value) << key << ": " << get.output;
    lines.pop_back();
    for (const std::string& line : lines) {
      EXPECT_TRUE(Contains(line, kRetrying) && Contains(line, kUnavailableFromTheProxy))
          << key << ": " << line;
    }
    retried_gets += lines.empty() ? 0 : 1;
    written.emplace_back(key, value);
  }
  std::cout << "[          ] member down: " << failed_puts
            << " put run(s) met its proxy and failed; " << retried_gets
            << " of 6 gets met it and were retried\n";

  // `endpoint health` tells that proxy's member is down.
  const CommandResult health = Etcdctl(ports, "root", {"endpoint", "health"});
  EXPECT_EQ(health.exit_code, 1) << health.output;
  EXPECT_TRUE(Contains(health.output, Endpoint(ports[0]) + " is unhealthy")) << health.output;
  for (std::size_t k = 1; k < ports.size(); ++k) {
    EXPECT_TRUE(Contains(health.output, Endpoint(ports[k]) + " is healthy")) << health.output;
  }

  // Its proxy goes too: the connection is refused, clientv3 leaves that
  // endpoint out, and every put and get succeeds the first time.
  ASSERT_TRUE(cluster.proxy(down).Stop());
  for (int round = 0; round < 6; ++round) {
    const std::string key = base + "/proxy-down-" + std::to_string(round);
    const std::string value = "value-" + std::to_string(round);
    const CommandResult put = Etcdctl(ports, "conftool", {"put", key, value});
    EXPECT_EQ(put.exit_code, 0) << key << ": " << put.output;
    const CommandResult get = Etcdctl(ports, "conftool", {"get", key, "--print-value-only"});
    EXPECT_EQ(get.exit_code, 0) << key << ": " << get.output;
    EXPECT_EQ(get.output, value + "\n") << key;
    written.emplace_back(key, value);
  }

  // A refused write is refused through the proxies still up, and through
  // the three endpoints; nothing of it reaches etcd.
  const std::string outside = "/" + UniqueName("grpc-failover-outside");
  const int survivor = leader;
  const int64_t revision = RevisionOf(cluster.member(survivor));
  ASSERT_GT(revision, 0);
  for (std::size_t k = 1; k < ports.size(); ++k) {
    const CommandResult refused = Etcdctl({ports[k]}, "conftool", {"put", outside, "no"});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  }
  const CommandResult refused = Etcdctl(ports, "conftool", {"put", outside, "no"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(Contains(refused.output, kPermissionDenied)) << refused.output;
  for (int i = 0; i < kMembers; ++i) {
    if (i == down) continue;
    EXPECT_EQ(cluster.member(i).V3ValueOf(outside), std::nullopt) << "member-" << i;
    EXPECT_EQ(RevisionOf(cluster.member(i)), revision) << "member-" << i;
  }

  ExpectOnRunningMembers(written);
  EXPECT_TRUE(cluster.ProxiesAlive());
}

TEST_F(GrpcClusterFailoverTest, EtcdctlWritesAgainOnceANewLeaderIsElected) {
  Cluster& cluster = *cluster_;
  const int leader = cluster.Leader();
  ASSERT_GE(leader, 0);
  std::vector<uint16_t> ports = {cluster.proxy(leader).port()};
  for (int i = 0; i < kMembers; ++i) {
    if (i != leader) ports.push_back(cluster.proxy(i).port());
  }
  const std::string base = "/conftool/" + UniqueName("grpc-leader-down");
  std::vector<std::pair<std::string, std::string>> written;
  const Tries before = PutUntilDone(ports, base + "/before", "before", 1);
  EXPECT_EQ(before.last.exit_code, 0) << before.last.output;
  written.emplace_back(base + "/before", "before");

  // The leader and its proxy go; the two others elect one of them. Until
  // they have, a put may fail ("no leader", a timeout): try again, at most
  // 20 times.
  ASSERT_TRUE(cluster.proxy(leader).Stop());
  cluster.member(leader).Stop();
  int failed_puts = 0;
  for (int round = 0; round < 4; ++round) {
    const std::string key = base + "/after-" + std::to_string(round);
    const std::string value = "value-" + std::to_string(round);
    const Tries put = PutUntilDone(ports, key, value, 20);
    EXPECT_EQ(put.last.exit_code, 0) << key << ": " << put.last.output;
    failed_puts += static_cast<int>(put.failures.size());
    for (const std::string& failure : put.failures) std::cout << "[          ] " << failure;
    const CommandResult get = Etcdctl(ports, "conftool", {"get", key, "--print-value-only"});
    EXPECT_EQ(get.exit_code, 0) << key << ": " << get.output;
    EXPECT_EQ(get.output, value + "\n") << key;
    written.emplace_back(key, value);
  }
  std::cout << "[          ] leader down: " << failed_puts << " put run(s) failed\n";
  const int new_leader = cluster.Leader();
  EXPECT_GE(new_leader, 0);
  EXPECT_NE(new_leader, leader);

  ExpectOnRunningMembers(written);
  EXPECT_TRUE(cluster.ProxiesAlive());
}

}  // namespace
}  // namespace tlsproxy::integration
