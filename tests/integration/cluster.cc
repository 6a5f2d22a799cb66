#include "tests/integration/cluster.h"

#include <algorithm>
#include <regex>
#include <thread>

namespace tlsproxy::integration {

std::vector<std::string> MemberIds(const std::string& body) {
  static const std::regex kId("\"id\":\"([0-9a-f]+)\"");
  std::vector<std::string> ids;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kId); it != std::sregex_iterator();
       ++it) {
    ids.push_back((*it)[1].str());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string JsonField(const std::string& body, const std::string& field) {
  const std::regex pattern("\"" + field + "\":\"([^\"]*)\"");
  std::smatch match;
  return std::regex_search(body, match, pattern) ? match[1].str() : "";
}

::testing::AssertionResult Cluster::Start(std::unique_ptr<Cluster>& out) {
  for (int attempt = 0;; ++attempt) {
    auto cluster = std::make_unique<Cluster>();
    ::testing::AssertionResult started = cluster->StartOnce();
    if (started) {
      out = std::move(cluster);
      return started;
    }
    bool port_taken = false;
    for (const auto& member : cluster->members_) {
      port_taken |= member->Logs().find("address already in use") != std::string::npos;
    }
    if (!port_taken || attempt == 2) return started;
  }
}

std::vector<uint16_t> Cluster::proxy_ports() const {
  std::vector<uint16_t> ports;
  for (const auto& proxy : proxies_) ports.push_back(proxy->port());
  return ports;
}

int Cluster::Leader() {
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    for (int i = 0; i < kClusterMembers; ++i) {
      if (member(i).running() && JsonField(SelfStats(i).body, "state") == "StateLeader") {
        return i;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  return -1;
}

::testing::AssertionResult Cluster::AllListMembers(const std::vector<std::string>& ids) {
  const auto deadline = Clock::now() + 10s;
  std::string last;
  while (Clock::now() < deadline) {
    bool all = true;
    for (int i = 0; i < kClusterMembers && all; ++i) {
      if (!member(i).running()) continue;
      last = MembersFrom(i);
      all = MemberIds(last) == ids;
    }
    if (all) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(100ms);
  }
  return ::testing::AssertionFailure() << "members not as expected within 10 s; last: " << last;
}

void Cluster::WaitConnectedFor(std::chrono::milliseconds settled) const {
  std::this_thread::sleep_until(healthy_at_ + settled);
}

::testing::AssertionResult Cluster::ProxiesAlive() {
  for (auto& proxy : proxies_) {
    if (!proxy->running()) continue;
    if (::testing::AssertionResult alive = proxy->Alive(); !alive) return alive;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Cluster::StartOnce() {
  std::string initial_cluster;
  for (int i = 0; i < kClusterMembers; ++i) {
    members_[static_cast<std::size_t>(i)] = std::make_unique<EtcdServer>();
    if (i > 0) initial_cluster += ",";
    initial_cluster += "member-" + std::to_string(i) + "=" + member(i).peer_url();
  }
  const std::string token = UniqueName("tlsproxy-cluster");
  for (int i = 0; i < kClusterMembers; ++i) {
    member(i).SetMembership({"member-" + std::to_string(i), initial_cluster, "new", token});
    if (::testing::AssertionResult launched = member(i).Launch(); !launched) return launched;
  }
  const auto deadline = Clock::now() + 30s;
  std::array<bool, kClusterMembers> healthy{};
  while (std::count(healthy.begin(), healthy.end(), true) < kClusterMembers) {
    if (Clock::now() >= deadline) {
      ::testing::AssertionResult failed = ::testing::AssertionFailure();
      failed << "the cluster was not healthy within 30 s";
      for (int i = 0; i < kClusterMembers; ++i) {
        failed << "\n--- member-" << i << ":\n" << member(i).Logs();
      }
      return failed;
    }
    for (int i = 0; i < kClusterMembers; ++i) {
      if (healthy[static_cast<std::size_t>(i)]) continue;
      ::testing::AssertionResult up = member(i).WaitHealthy(100ms);
      if (up) healthy[static_cast<std::size_t>(i)] = true;
      if (!up && !member(i).running()) return up;  // it exited
    }
  }
  healthy_at_ = Clock::now();
  for (int i = 0; i < kClusterMembers; ++i) {
    proxies_[static_cast<std::size_t>(i)] = std::make_unique<ProxyProcess>();
    ProxyOptions options;
    options.upstream_port = member(i).client_port();
    if (::testing::AssertionResult started = proxy(i).Start(options); !started) return started;
  }
  return ::testing::AssertionSuccess();
}

std::unique_ptr<Cluster> SharedClusterTest::cluster_;
std::string SharedClusterTest::setup_error_;

void SharedClusterTest::SetUpTestSuite() {
  setup_error_.clear();
  if (::testing::AssertionResult started = Cluster::Start(cluster_); !started) {
    setup_error_ = started.message();
  }
}

void SharedClusterTest::TearDown() {
  if (cluster_) {
    EXPECT_TRUE(cluster_->ProxiesAlive());
  }
}

}  // namespace tlsproxy::integration
