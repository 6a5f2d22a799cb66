// Fuzzes the gRPC front end of the v3 ACL: ParseGrpcRequest on arbitrary
// protobuf bytes, and the property that it never disagrees with the JSON
// gateway front end.
//
// Input: one selector byte (which method, modulo the table below) and the
// message bytes.
//
// Invariants: a result is a request or an error, never both; bytes that
// libprotobuf cannot parse as the method's request message are an error;
// when they parse, the same message rendered as protobuf JSON (as
// grpc-gateway reads it) and given to ParseV3Request yields the same
// V3Request (or the same refusal), and Acl::DecideV3 gives both the same
// verdict and rule for every identity and ACL variant of fuzz_support.h.
#include <google/protobuf/util/json_util.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "acl/acl.h"
#include "acl/grpc_request.h"
#include "acl/v3_request.h"
#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace tlsproxy::fuzz {
namespace {

namespace pb = etcdserverpb;

struct Method {
  std::string_view path;
  std::string_view gateway_path;
  std::unique_ptr<google::protobuf::Message> (*make)();  // nullptr: message not read
};

template <typename M>
std::unique_ptr<google::protobuf::Message> New() {
  return std::make_unique<M>();
}

constexpr std::array<Method, 9> kMethods = {{
    {"/etcdserverpb.KV/Range", "/v3/kv/range", New<pb::RangeRequest>},
    {"/etcdserverpb.KV/Put", "/v3/kv/put", New<pb::PutRequest>},
    {"/etcdserverpb.KV/DeleteRange", "/v3/kv/deleterange", New<pb::DeleteRangeRequest>},
    {"/etcdserverpb.KV/Txn", "/v3/kv/txn", New<pb::TxnRequest>},
    {"/etcdserverpb.Watch/Watch", "/v3/watch", New<pb::WatchRequest>},
    {"/etcdserverpb.KV/Compact", "/v3/kv/compaction", nullptr},
    {"/etcdserverpb.Cluster/MemberList", "/v3/cluster/member/list", nullptr},
    {"/etcdserverpb.Maintenance/Snapshot", "/v3/maintenance/snapshot", nullptr},
    {"/etcdserverpb.Lease/LeaseRevoke", "/v3/lease/revoke", nullptr},
}};

void CheckSameDecision(const acl::V3Request& grpc, const acl::V3Request& gateway) {
  for (const AclVariant& variant : AclVariants()) {
    for (const acl::Identity& identity : Identities()) {
      const acl::Decision a = variant.acl->DecideV3(identity, grpc);
      const acl::Decision b = variant.acl->DecideV3(identity, gateway);
      const std::string what = grpc.endpoint + " as " + identity.ToString();
      FUZZ_CHECK(a.verdict == b.verdict, what);
      FUZZ_CHECK(a.rule == b.rule, what + ": " + a.rule + " vs " + b.rule);
    }
  }
}

void CheckAgreement(const Method& method, std::string_view bytes, const acl::V3ParseResult& grpc) {
  if (method.make == nullptr) {
    // Admin methods: the message is not read; the gateway body is not either.
    const acl::V3ParseResult gateway = acl::ParseV3Request(method.gateway_path, "");
    FUZZ_CHECK(grpc.request && gateway.request && *grpc.request == *gateway.request, method.path);
    return;
  }
  std::unique_ptr<google::protobuf::Message> message = method.make();
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    FUZZ_CHECK(!grpc.request, std::string(method.path) + ": unparsable bytes decided on");
    return;
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*message, &json).ok()) return;
  const acl::V3ParseResult gateway = acl::ParseV3Request(method.gateway_path, json);
  FUZZ_CHECK(grpc.request.has_value() == gateway.request.has_value(),
             std::string(method.path) + ": " + grpc.error + " | " + gateway.error + " | " + json);
  if (!grpc.request) return;
  FUZZ_CHECK(*grpc.request == *gateway.request, std::string(method.path) + ": " + json);
  CheckSameDecision(*grpc.request, *gateway.request);
}

}  // namespace
}  // namespace tlsproxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy;
  if (size == 0) return 0;
  const fuzz::Method& method = fuzz::kMethods[data[0] % fuzz::kMethods.size()];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const acl::V3ParseResult grpc = acl::ParseGrpcRequest(method.path, bytes);
  FUZZ_CHECK(grpc.request.has_value() == grpc.error.empty(), grpc.error);
  fuzz::CheckAgreement(method, bytes, grpc);
  return 0;
}
