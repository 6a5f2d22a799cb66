#include "proxy/etcd_cluster_id.h"

#include <algorithm>

namespace tlsproxy::proxy {
namespace {

bool IsEtcdId(std::string_view id) {
  return !id.empty() && id.size() <= 16 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

EtcdClusterId& EtcdClusterId::Process() {
  static EtcdClusterId* const process = new EtcdClusterId;
  return *process;
}

void EtcdClusterId::Record(std::string_view id) {
  const std::string* current = Current();
  if (current != nullptr && *current == id) return;
  if (!IsEtcdId(id)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto same = [id](const std::unique_ptr<const std::string>& seen) { return *seen == id; };
  auto it = std::find_if(seen_.begin(), seen_.end(), same);
  if (it == seen_.end()) {
    seen_.push_back(std::make_unique<const std::string>(id));
    it = seen_.end() - 1;
  }
  current_.store(it->get(), std::memory_order_release);
}

}  // namespace tlsproxy::proxy
