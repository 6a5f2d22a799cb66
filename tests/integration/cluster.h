// A 3-member etcd cluster on loopback with one etcd-tlsproxy in front of
// each member (as deployed, one per host), shared by cluster_test.cc (v2
// clients) and grpc_cluster_test.cc (v3 clients over gRPC).
//
// Each member advertises its own plaintext client URL (in production that is
// the proxy's https URL on the same host).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {

inline constexpr int kClusterMembers = 3;

// The member IDs in a GET /v2/members body, sorted.
std::vector<std::string> MemberIds(const std::string& body);

// A string field of a flat JSON object, e.g. JsonField(stats, "id").
std::string JsonField(const std::string& body, const std::string& field);

// Three members and a proxy in front of each. Everything stops when it goes.
class Cluster {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the members together (each becomes healthy only once a quorum
  // runs), waits at most 30 s for all three, then starts the proxies. When
  // a port was taken between FreePort() and etcd's bind, starts over on new
  // ports (at most three times).
  static ::testing::AssertionResult Start(std::unique_ptr<Cluster>& out);

  EtcdServer& member(int i) { return *members_.at(static_cast<std::size_t>(i)); }
  ProxyProcess& proxy(int i) { return *proxies_.at(static_cast<std::size_t>(i)); }
  std::vector<uint16_t> proxy_ports() const;

  // GET /v2/stats/self straight from member i.
  HttpResponse SelfStats(int i) { return member(i).Request("GET", "/v2/stats/self"); }
  // The index of the member that says it leads (asked straight over
  // plaintext), waiting at most 10 s for one; -1 if none did.
  int Leader();

  // GET /v2/members straight from member i (plaintext, no proxy).
  std::string MembersFrom(int i) { return member(i).Request("GET", "/v2/members").body; }

  // Waits at most 10 s until every running member lists exactly `ids`.
  ::testing::AssertionResult AllListMembers(const std::vector<std::string>& ids);

  // Returns once the members have been up for `settled` since the cluster
  // became healthy (etcd's strict reconfiguration check wants every member
  // connected for 5 s before a member add).
  void WaitConnectedFor(std::chrono::milliseconds settled) const;

  // Every proxy that should run still does.
  ::testing::AssertionResult ProxiesAlive();

 private:
  ::testing::AssertionResult StartOnce();

  // Members first, so that the proxies (declared later) stop first.
  std::array<std::unique_ptr<EtcdServer>, kClusterMembers> members_;
  std::array<std::unique_ptr<ProxyProcess>, kClusterMembers> proxies_;
  Clock::time_point healthy_at_;
};

// A test suite sharing one cluster between its tests, which leave it as
// they found it (under ctest each test is its own process, so its own
// cluster). After every test each proxy must still run.
class SharedClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
  void TearDown() override;

  static Cluster& cluster() { return *cluster_; }

 private:
  static std::unique_ptr<Cluster> cluster_;
  static std::string setup_error_;
};

}  // namespace tlsproxy::integration
