// The cluster ID etcd reports (X-Etcd-Cluster-Id on its v2 responses), kept
// process-wide so that the proxy's own v2 refusals can carry it too:
// python-etcd logs a warning for every response without one. Unknown (null)
// until etcd has answered a request with the header; then the last ID etcd
// sent, whichever worker's request carried it.
//
// Thread-safe. Current() is one atomic load: no lock, no reference count.
// Record() of the ID already held only compares (etcd sends the header on
// nearly every response, so this is on the hot path); a new ID takes a mutex
// and is kept, with every ID seen before, for the holder's lifetime. So a
// pointer from Current() stays valid as long as the holder, and memory grows
// only with the number of distinct IDs (an etcd cluster's ID changes only
// when the cluster is rebuilt).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::proxy {

class EtcdClusterId {
 public:
  // The holder the proxy uses. Never destroyed, so workers may read it
  // until the process ends.
  static EtcdClusterId& Process();

  EtcdClusterId() = default;
  EtcdClusterId(const EtcdClusterId&) = delete;
  EtcdClusterId& operator=(const EtcdClusterId&) = delete;

  // Records the value of an X-Etcd-Cluster-Id header from etcd. Ignores a
  // value that is not what etcd sends (1 to 16 lower-case hex digits, a
  // uint64), so nothing odd is ever repeated to clients.
  void Record(std::string_view id);

  // The ID last recorded, or nullptr before any.
  const std::string* Current() const { return current_.load(std::memory_order_acquire); }

 private:
  std::atomic<const std::string*> current_{nullptr};
  std::mutex mutex_;                                      // serialises Record() of a new ID
  std::vector<std::unique_ptr<const std::string>> seen_;  // owns every ID ever current
};

}  // namespace tlsproxy::proxy
