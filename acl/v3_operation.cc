#include "acl/v3_operation.h"

#include <algorithm>
#include <array>

namespace tlsproxy::acl {
namespace {

// Admin endpoints that change nothing; read_only lets them through (the "/"
// rule still decides). Everything else admin_only counts as a write.
constexpr std::array<std::string_view, 16> kAdminReads = {
    "maintenance/status",  "maintenance/hash", "maintenance/hashkv", "maintenance/snapshot",
    "lease/leases",        "lease/timetolive", "kv/lease/leases",    "kv/lease/timetolive",
    "cluster/member/list", "auth/status",      "auth/user/get",      "auth/user/list",
    "auth/role/get",       "auth/role/list",   "election/leader",    "election/observe",
};

}  // namespace

bool V3Request::IsWrite() const {
  if (admin_only) return admin_write;
  return std::any_of(accesses.begin(), accesses.end(),
                     [](const KeyAccess& a) { return a.kind == AccessKind::kWrite; });
}

V3Operation OperationOf(std::string_view endpoint) {
  if (endpoint == "kv/range") return V3Operation::kRange;
  if (endpoint == "kv/put") return V3Operation::kPut;
  if (endpoint == "kv/deleterange") return V3Operation::kDeleteRange;
  if (endpoint == "kv/txn") return V3Operation::kTxn;
  if (endpoint == "watch") return V3Operation::kWatch;
  return V3Operation::kAdmin;
}

V3Request AdminRequest(std::string_view endpoint) {
  const bool write =
      std::find(kAdminReads.begin(), kAdminReads.end(), endpoint) == kAdminReads.end();
  return AdminRequest(endpoint, write);
}

V3Request AdminRequest(std::string_view endpoint, bool write) {
  V3Request request;
  request.endpoint = std::string(endpoint);
  request.admin_only = true;
  request.admin_write = write;
  request.public_read =
      !write && (endpoint == "cluster/member/list" || endpoint == "maintenance/status" ||
                 endpoint == "/grpc.health.v1.Health/Check");
  return request;
}

}  // namespace tlsproxy::acl
