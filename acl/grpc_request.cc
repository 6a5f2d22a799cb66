#include "acl/grpc_request.h"

#include <array>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace tlsproxy::acl {
namespace {

namespace pb = etcdserverpb;

struct MethodEndpoint {
  std::string_view method;    // the canonical gRPC :path
  std::string_view endpoint;  // the gateway endpoint (rpc.proto's google.api.http post)
};

// Every method of etcd 3.4's rpc.proto, v3lock.proto and v3election.proto,
// with the gateway endpoint rpc.proto annotates it with (HashKV's is
// "maintenance/hash" in 3.4).
constexpr std::array<MethodEndpoint, 47> kMethods = {{
    {"/etcdserverpb.KV/Range", "kv/range"},
    {"/etcdserverpb.KV/Put", "kv/put"},
    {"/etcdserverpb.KV/DeleteRange", "kv/deleterange"},
    {"/etcdserverpb.KV/Txn", "kv/txn"},
    {"/etcdserverpb.KV/Compact", "kv/compaction"},
    {"/etcdserverpb.Watch/Watch", "watch"},
    {"/etcdserverpb.Lease/LeaseGrant", "lease/grant"},
    {"/etcdserverpb.Lease/LeaseRevoke", "lease/revoke"},
    {"/etcdserverpb.Lease/LeaseKeepAlive", "lease/keepalive"},
    {"/etcdserverpb.Lease/LeaseTimeToLive", "lease/timetolive"},
    {"/etcdserverpb.Lease/LeaseLeases", "lease/leases"},
    {"/etcdserverpb.Cluster/MemberAdd", "cluster/member/add"},
    {"/etcdserverpb.Cluster/MemberRemove", "cluster/member/remove"},
    {"/etcdserverpb.Cluster/MemberUpdate", "cluster/member/update"},
    {"/etcdserverpb.Cluster/MemberList", "cluster/member/list"},
    {"/etcdserverpb.Cluster/MemberPromote", "cluster/member/promote"},
    {"/etcdserverpb.Maintenance/Alarm", "maintenance/alarm"},
    {"/etcdserverpb.Maintenance/Status", "maintenance/status"},
    {"/etcdserverpb.Maintenance/Defragment", "maintenance/defragment"},
    {"/etcdserverpb.Maintenance/Hash", "maintenance/hash"},
    {"/etcdserverpb.Maintenance/HashKV", "maintenance/hash"},
    {"/etcdserverpb.Maintenance/Snapshot", "maintenance/snapshot"},
    {"/etcdserverpb.Maintenance/MoveLeader", "maintenance/transfer-leadership"},
    {"/etcdserverpb.Auth/AuthEnable", "auth/enable"},
    {"/etcdserverpb.Auth/AuthDisable", "auth/disable"},
    {"/etcdserverpb.Auth/Authenticate", "auth/authenticate"},
    {"/etcdserverpb.Auth/UserAdd", "auth/user/add"},
    {"/etcdserverpb.Auth/UserGet", "auth/user/get"},
    {"/etcdserverpb.Auth/UserList", "auth/user/list"},
    {"/etcdserverpb.Auth/UserDelete", "auth/user/delete"},
    {"/etcdserverpb.Auth/UserChangePassword", "auth/user/changepw"},
    {"/etcdserverpb.Auth/UserGrantRole", "auth/user/grant"},
    {"/etcdserverpb.Auth/UserRevokeRole", "auth/user/revoke"},
    {"/etcdserverpb.Auth/RoleAdd", "auth/role/add"},
    {"/etcdserverpb.Auth/RoleGet", "auth/role/get"},
    {"/etcdserverpb.Auth/RoleList", "auth/role/list"},
    {"/etcdserverpb.Auth/RoleDelete", "auth/role/delete"},
    {"/etcdserverpb.Auth/RoleGrantPermission", "auth/role/grant"},
    {"/etcdserverpb.Auth/RoleRevokePermission", "auth/role/revoke"},
    {"/v3lockpb.Lock/Lock", "lock/lock"},
    {"/v3lockpb.Lock/Unlock", "lock/unlock"},
    {"/v3electionpb.Election/Campaign", "election/campaign"},
    {"/v3electionpb.Election/Proclaim", "election/proclaim"},
    {"/v3electionpb.Election/Leader", "election/leader"},
    {"/v3electionpb.Election/Observe", "election/observe"},
    {"/v3electionpb.Election/Resign", "election/resign"},
    // etcd 3.5+; its gateway endpoint is in 3.5's table.
    {"/etcdserverpb.Auth/AuthStatus", "auth/status"},
}};

// The gRPC health check has no gateway endpoint; it reads nothing but
// etcd's health, as /v2/stats does, so read_only lets it through (the "/"
// rule still decides, as for maintenance/status).
constexpr std::string_view kHealthCheck = "/grpc.health.v1.Health/Check";

V3ParseResult Fail(std::string_view endpoint, const std::string& error) {
  return V3ParseResult{std::nullopt, std::string(endpoint) + ": " + error};
}

template <typename Message>
bool Decode(std::string_view bytes, Message* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

void AddAccess(AccessKind kind, const std::string& key, const std::string& range_end,
               std::vector<KeyAccess>* out) {
  out->push_back(KeyAccess{kind, key, range_end});
}

// Put and DeleteRange write; with prev_kv they also read what they replace.
void AddPut(const pb::PutRequest& put, std::vector<KeyAccess>* out) {
  AddAccess(AccessKind::kWrite, put.key(), "", out);
  if (put.prev_kv()) AddAccess(AccessKind::kRead, put.key(), "", out);
}

void AddDelete(const pb::DeleteRangeRequest& del, std::vector<KeyAccess>* out) {
  AddAccess(AccessKind::kWrite, del.key(), del.range_end(), out);
  if (del.prev_kv()) AddAccess(AccessKind::kRead, del.key(), del.range_end(), out);
}

std::string CollectTxn(const pb::TxnRequest& txn, int depth, std::vector<KeyAccess>* out);

// One RequestOp of a txn's success or failure list; "" or an error.
std::string CollectOp(const pb::RequestOp& op, int depth, std::vector<KeyAccess>* out) {
  switch (op.request_case()) {
    case pb::RequestOp::kRequestRange:
      AddAccess(AccessKind::kRead, op.request_range().key(), op.request_range().range_end(), out);
      return "";
    case pb::RequestOp::kRequestPut:
      AddPut(op.request_put(), out);
      return "";
    case pb::RequestOp::kRequestDeleteRange:
      AddDelete(op.request_delete_range(), out);
      return "";
    case pb::RequestOp::kRequestTxn:
      if (depth >= kMaxTxnDepth) return "txn nested deeper than the limit";
      return CollectTxn(op.request_txn(), depth + 1, out);
    case pb::RequestOp::REQUEST_NOT_SET:
      return "";  // an empty op does nothing
  }
  return "unknown request op";
}

// A TxnRequest at nesting `depth` (1 for the call's message itself).
std::string CollectTxn(const pb::TxnRequest& txn, int depth, std::vector<KeyAccess>* out) {
  for (const pb::Compare& compare : txn.compare()) {
    AddAccess(AccessKind::kRead, compare.key(), compare.range_end(), out);
  }
  for (const auto* branch : {&txn.success(), &txn.failure()}) {
    for (const pb::RequestOp& op : *branch) {
      if (std::string error = CollectOp(op, depth, out); !error.empty()) return error;
    }
  }
  return "";
}

// Decodes `message` as the request of a key-aware operation and collects its
// accesses; "" or an error.
std::string CollectKeyAware(V3Operation operation, std::string_view message,
                            std::vector<KeyAccess>* out) {
  switch (operation) {
    case V3Operation::kRange: {
      pb::RangeRequest range;
      if (!Decode(message, &range)) break;
      AddAccess(AccessKind::kRead, range.key(), range.range_end(), out);
      return "";
    }
    case V3Operation::kPut: {
      pb::PutRequest put;
      if (!Decode(message, &put)) break;
      AddPut(put, out);
      return "";
    }
    case V3Operation::kDeleteRange: {
      pb::DeleteRangeRequest del;
      if (!Decode(message, &del)) break;
      AddDelete(del, out);
      return "";
    }
    case V3Operation::kTxn: {
      pb::TxnRequest txn;
      if (!Decode(message, &txn)) break;
      return CollectTxn(txn, 1, out);
    }
    case V3Operation::kWatch: {
      pb::WatchRequest watch;
      if (!Decode(message, &watch)) break;
      if (watch.has_create_request()) {
        const pb::WatchCreateRequest& create = watch.create_request();
        AddAccess(AccessKind::kRead, create.key(), create.range_end(), out);
      }
      return "";  // cancel, progress and an empty request touch no key
    }
    case V3Operation::kAdmin:
      return "not a key-aware operation";
  }
  return "malformed protobuf message";
}

V3ParseResult ParseKeyAware(std::string_view endpoint, std::string_view message) {
  V3Request request;
  request.endpoint = std::string(endpoint);
  std::string error = CollectKeyAware(OperationOf(endpoint), message, &request.accesses);
  if (!error.empty()) return Fail(endpoint, error);
  return V3ParseResult{std::move(request), ""};
}

// The gateway endpoint of a known method, or nullopt.
std::optional<std::string_view> GatewayEndpoint(std::string_view method) {
  for (const MethodEndpoint& known : kMethods) {
    if (known.method == method) return known.endpoint;
  }
  return std::nullopt;
}

}  // namespace

GrpcCallShape ShapeOf(std::string_view method) {
  if (method == "/etcdserverpb.Watch/Watch" || method == "/etcdserverpb.Lease/LeaseKeepAlive") {
    return GrpcCallShape::kBidiStream;
  }
  if (method == "/etcdserverpb.Maintenance/Snapshot" ||
      method == "/v3electionpb.Election/Observe") {
    return GrpcCallShape::kServerStream;
  }
  if (method == kHealthCheck || GatewayEndpoint(method)) return GrpcCallShape::kUnary;
  return GrpcCallShape::kBidiStream;
}

V3ParseResult ParseGrpcRequest(std::string_view method, std::string_view message) {
  if (method == kHealthCheck) return V3ParseResult{AdminRequest(method, /*write=*/false), ""};
  const std::optional<std::string_view> endpoint = GatewayEndpoint(method);
  if (!endpoint) return V3ParseResult{AdminRequest(method, /*write=*/true), ""};
  if (OperationOf(*endpoint) == V3Operation::kAdmin) {
    return V3ParseResult{AdminRequest(*endpoint), ""};
  }
  try {
    return ParseKeyAware(*endpoint, message);
  } catch (const std::exception& e) {  // bad_alloc; libprotobuf itself does not throw
    return Fail(*endpoint, std::string("cannot parse: ") + e.what());
  }
}

V3ParseResult ParseGrpcWatchRequest(std::string_view message) {
  return ParseGrpcRequest("/etcdserverpb.Watch/Watch", message);
}

}  // namespace tlsproxy::acl
