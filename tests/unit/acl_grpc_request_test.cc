// Unit tests for acl/grpc_request: which keys one gRPC message of etcd's v3
// API reads and writes, and the property of issue 12: the gRPC and the JSON
// gateway front ends never disagree on a request (same V3Request, same
// Acl::DecideV3 verdict), the JSON made from the same protobuf message by
// libprotobuf's JSON mapping, as grpc-gateway reads it.
#include <google/protobuf/util/json_util.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acl/acl.h"
#include "acl/grpc_request.h"
#include "acl/v3_request.h"
#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "tests/unit/acl_test_rules.h"

namespace tlsproxy::acl {
namespace {

namespace pb = etcdserverpb;
using std::string_literals::operator""s;

KeyAccess Read(std::string key, std::string range_end = "") {
  return KeyAccess{AccessKind::kRead, std::move(key), std::move(range_end)};
}
KeyAccess Write(std::string key, std::string range_end = "") {
  return KeyAccess{AccessKind::kWrite, std::move(key), std::move(range_end)};
}

V3Request Keys(std::string endpoint, std::vector<KeyAccess> accesses) {
  V3Request request;
  request.endpoint = std::move(endpoint);
  request.accesses = std::move(accesses);
  return request;
}
V3Request Admin(std::string endpoint, bool write) {
  V3Request request;
  request.endpoint = std::move(endpoint);
  request.admin_only = true;
  request.admin_write = write;
  return request;
}

// Message builders.
pb::RangeRequest Range(std::string key, std::string range_end = "") {
  pb::RangeRequest m;
  m.set_key(key);
  m.set_range_end(range_end);
  return m;
}
pb::PutRequest Put(std::string key, bool prev_kv = false) {
  pb::PutRequest m;
  m.set_key(key);
  m.set_value("v");
  m.set_prev_kv(prev_kv);
  return m;
}
pb::DeleteRangeRequest Delete(std::string key, std::string range_end = "", bool prev_kv = false) {
  pb::DeleteRangeRequest m;
  m.set_key(key);
  m.set_range_end(range_end);
  m.set_prev_kv(prev_kv);
  return m;
}
pb::WatchRequest WatchCreate(std::string key, std::string range_end = "") {
  pb::WatchRequest m;
  m.mutable_create_request()->set_key(key);
  m.mutable_create_request()->set_range_end(range_end);
  m.mutable_create_request()->set_prev_kv(true);
  return m;
}
pb::WatchRequest WatchCancel() {
  pb::WatchRequest m;
  m.mutable_cancel_request()->set_watch_id(7);
  return m;
}
pb::WatchRequest WatchProgress() {
  pb::WatchRequest m;
  m.mutable_progress_request();
  return m;
}

// A txn: compares on `compare_keys`, success ops, failure ops.
pb::TxnRequest Txn(std::vector<std::string> compare_keys, std::vector<pb::RequestOp> success,
                   std::vector<pb::RequestOp> failure = {}) {
  pb::TxnRequest m;
  for (const std::string& key : compare_keys) {
    pb::Compare* c = m.add_compare();
    c->set_key(key);
    c->set_target(pb::Compare::VERSION);
    c->set_version(0);
  }
  for (pb::RequestOp& op : success) *m.add_success() = std::move(op);
  for (pb::RequestOp& op : failure) *m.add_failure() = std::move(op);
  return m;
}
pb::RequestOp Op(pb::RangeRequest r) {
  pb::RequestOp op;
  *op.mutable_request_range() = std::move(r);
  return op;
}
pb::RequestOp Op(pb::PutRequest r) {
  pb::RequestOp op;
  *op.mutable_request_put() = std::move(r);
  return op;
}
pb::RequestOp Op(pb::DeleteRangeRequest r) {
  pb::RequestOp op;
  *op.mutable_request_delete_range() = std::move(r);
  return op;
}
pb::RequestOp Op(pb::TxnRequest r) {
  pb::RequestOp op;
  *op.mutable_request_txn() = std::move(r);
  return op;
}

// Txn nested `depth` deep (1: just the txn) with a put of `key` innermost.
pb::TxnRequest NestedTxn(int depth, std::string key) {
  pb::TxnRequest txn = Txn({}, {Op(Put(key))});
  for (int i = 1; i < depth; ++i) txn = Txn({}, {Op(std::move(txn))});
  return txn;
}

// A gRPC call: its method and one message, kept as the message so the
// agreement test can also render it as JSON.
struct Call {
  std::string name;
  std::string method;
  std::shared_ptr<const google::protobuf::Message> message;  // nullptr: raw bytes
  std::string raw;                                           // used when message is nullptr
  std::string Bytes() const { return message ? message->SerializeAsString() : raw; }
};

template <typename M>
Call Make(std::string name, std::string method, M message) {
  return Call{std::move(name), std::move(method), std::make_shared<M>(std::move(message)), ""};
}
Call Raw(std::string name, std::string method, std::string bytes) {
  return Call{std::move(name), std::move(method), nullptr, std::move(bytes)};
}

struct ParseCase {
  Call call;
  std::optional<V3Request> expected;  // nullopt: an error
};
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.call.name; }

class GrpcRequestTest : public testing::TestWithParam<ParseCase> {};

TEST_P(GrpcRequestTest, Parses) {
  const ParseCase& c = GetParam();
  const V3ParseResult got = ParseGrpcRequest(c.call.method, c.call.Bytes());
  ASSERT_EQ(got.request.has_value(), c.expected.has_value()) << got.error;
  if (!c.expected) {
    EXPECT_FALSE(got.error.empty());
    return;
  }
  EXPECT_EQ(got.request->endpoint, c.expected->endpoint);
  EXPECT_EQ(got.request->admin_only, c.expected->admin_only);
  EXPECT_EQ(got.request->admin_write, c.expected->admin_write);
  EXPECT_EQ(got.request->accesses, c.expected->accesses);
}

const std::string kHiddenWriteName = "txn_nested_hidden_write";
pb::TxnRequest HiddenWrite() {
  return Txn({"/conftool/a"}, {Op(Put("/conftool/a"))},
             {Op(Txn({}, {Op(Range("/conftool/b"))}, {Op(Put("/conftool/secret/x"))}))});
}

INSTANTIATE_TEST_SUITE_P(
    Methods, GrpcRequestTest,
    testing::Values(
        ParseCase{Make("range", "/etcdserverpb.KV/Range", Range("/a")),
                  Keys("kv/range", {Read("/a")})},
        ParseCase{Make("range_prefix", "/etcdserverpb.KV/Range", Range("/a/", "/a0")),
                  Keys("kv/range", {Read("/a/", "/a0")})},
        ParseCase{Make("range_from_key", "/etcdserverpb.KV/Range", Range("/a", "\0"s)),
                  Keys("kv/range", {Read("/a", "\0"s)})},
        ParseCase{Make("range_all", "/etcdserverpb.KV/Range", Range("", "\0"s)),
                  Keys("kv/range", {Read("", "\0"s)})},
        ParseCase{Make("range_empty_message", "/etcdserverpb.KV/Range", pb::RangeRequest()),
                  Keys("kv/range", {Read("")})},
        ParseCase{Make("range_binary_key", "/etcdserverpb.KV/Range", Range("\xff\0x"s)),
                  Keys("kv/range", {Read("\xff\0x"s)})},
        ParseCase{Make("put", "/etcdserverpb.KV/Put", Put("/a")), Keys("kv/put", {Write("/a")})},
        ParseCase{Make("put_prev_kv", "/etcdserverpb.KV/Put", Put("/a", true)),
                  Keys("kv/put", {Write("/a"), Read("/a")})},
        ParseCase{Make("deleterange", "/etcdserverpb.KV/DeleteRange", Delete("/a/", "/a0")),
                  Keys("kv/deleterange", {Write("/a/", "/a0")})},
        ParseCase{
            Make("deleterange_prev_kv", "/etcdserverpb.KV/DeleteRange", Delete("/a/", "/a0", true)),
            Keys("kv/deleterange", {Write("/a/", "/a0"), Read("/a/", "/a0")})},
        ParseCase{Make("txn_empty", "/etcdserverpb.KV/Txn", pb::TxnRequest()), Keys("kv/txn", {})},
        ParseCase{
            Make("txn_all_parts", "/etcdserverpb.KV/Txn",
                 Txn({"/c"}, {Op(Range("/r", "/s")), Op(Put("/p"))}, {Op(Delete("/d", "/e"))})),
            Keys("kv/txn", {Read("/c"), Read("/r", "/s"), Write("/p"), Write("/d", "/e")})},
        ParseCase{Make(kHiddenWriteName, "/etcdserverpb.KV/Txn", HiddenWrite()),
                  Keys("kv/txn", {Read("/conftool/a"), Write("/conftool/a"), Read("/conftool/b"),
                                  Write("/conftool/secret/x")})},
        ParseCase{Make("txn_empty_op", "/etcdserverpb.KV/Txn", Txn({}, {pb::RequestOp()})),
                  Keys("kv/txn", {})},
        ParseCase{
            Make("txn_at_depth_limit", "/etcdserverpb.KV/Txn", NestedTxn(kMaxTxnDepth, "/deep")),
            Keys("kv/txn", {Write("/deep")})},
        ParseCase{
            Make("txn_too_deep", "/etcdserverpb.KV/Txn", NestedTxn(kMaxTxnDepth + 1, "/deep")),
            std::nullopt},
        ParseCase{Make("watch_create", "/etcdserverpb.Watch/Watch", WatchCreate("/a/", "/a0")),
                  Keys("watch", {Read("/a/", "/a0")})},
        ParseCase{Make("watch_cancel", "/etcdserverpb.Watch/Watch", WatchCancel()),
                  Keys("watch", {})},
        ParseCase{Make("watch_progress", "/etcdserverpb.Watch/Watch", WatchProgress()),
                  Keys("watch", {})},
        ParseCase{Make("watch_empty", "/etcdserverpb.Watch/Watch", pb::WatchRequest()),
                  Keys("watch", {})},
        // Admin methods: the "/" rule alone; read-only ones as on the gateway.
        ParseCase{Make("compact", "/etcdserverpb.KV/Compact", pb::CompactionRequest()),
                  Admin("kv/compaction", true)},
        ParseCase{Raw("lease_grant", "/etcdserverpb.Lease/LeaseGrant", ""),
                  Admin("lease/grant", true)},
        ParseCase{Raw("lease_revoke", "/etcdserverpb.Lease/LeaseRevoke", "\x08\x01"),
                  Admin("lease/revoke", true)},
        ParseCase{Raw("lease_keepalive", "/etcdserverpb.Lease/LeaseKeepAlive", ""),
                  Admin("lease/keepalive", true)},
        ParseCase{Raw("lease_leases", "/etcdserverpb.Lease/LeaseLeases", ""),
                  Admin("lease/leases", false)},
        ParseCase{Raw("lease_ttl", "/etcdserverpb.Lease/LeaseTimeToLive", ""),
                  Admin("lease/timetolive", false)},
        ParseCase{Raw("member_list", "/etcdserverpb.Cluster/MemberList", ""),
                  Admin("cluster/member/list", false)},
        ParseCase{Raw("member_add", "/etcdserverpb.Cluster/MemberAdd", ""),
                  Admin("cluster/member/add", true)},
        ParseCase{Raw("status", "/etcdserverpb.Maintenance/Status", ""),
                  Admin("maintenance/status", false)},
        ParseCase{Raw("snapshot", "/etcdserverpb.Maintenance/Snapshot", ""),
                  Admin("maintenance/snapshot", false)},
        ParseCase{Raw("hashkv", "/etcdserverpb.Maintenance/HashKV", ""),
                  Admin("maintenance/hash", false)},
        ParseCase{Raw("defragment", "/etcdserverpb.Maintenance/Defragment", ""),
                  Admin("maintenance/defragment", true)},
        ParseCase{Raw("move_leader", "/etcdserverpb.Maintenance/MoveLeader", ""),
                  Admin("maintenance/transfer-leadership", true)},
        ParseCase{Raw("alarm", "/etcdserverpb.Maintenance/Alarm", ""),
                  Admin("maintenance/alarm", true)},
        ParseCase{Raw("authenticate", "/etcdserverpb.Auth/Authenticate", "\x0a\x01u"),
                  Admin("auth/authenticate", true)},
        ParseCase{Raw("user_get", "/etcdserverpb.Auth/UserGet", ""), Admin("auth/user/get", false)},
        ParseCase{Raw("role_grant", "/etcdserverpb.Auth/RoleGrantPermission", ""),
                  Admin("auth/role/grant", true)},
        ParseCase{Raw("lock", "/v3lockpb.Lock/Lock", ""), Admin("lock/lock", true)},
        ParseCase{Raw("unlock", "/v3lockpb.Lock/Unlock", ""), Admin("lock/unlock", true)},
        ParseCase{Raw("campaign", "/v3electionpb.Election/Campaign", ""),
                  Admin("election/campaign", true)},
        ParseCase{Raw("leader", "/v3electionpb.Election/Leader", ""),
                  Admin("election/leader", false)},
        ParseCase{Raw("health_check", "/grpc.health.v1.Health/Check", ""),
                  Admin("/grpc.health.v1.Health/Check", false)},
        // Admin messages are not read: bytes that do not parse still decide.
        ParseCase{Raw("admin_garbage", "/etcdserverpb.Lease/LeaseGrant", "\xff\xff"),
                  Admin("lease/grant", true)},
        // Unknown or non-canonical methods: admin-only writes under their own name.
        ParseCase{
            Raw("unknown_service", "/etcdserverpb.Nope/Range", Range("/a").SerializeAsString()),
            Admin("/etcdserverpb.Nope/Range", true)},
        ParseCase{Raw("unknown_method", "/etcdserverpb.KV/Ranges", Range("/a").SerializeAsString()),
                  Admin("/etcdserverpb.KV/Ranges", true)},
        ParseCase{Raw("no_leading_slash", "etcdserverpb.KV/Put", Put("/a").SerializeAsString()),
                  Admin("etcdserverpb.KV/Put", true)},
        ParseCase{Raw("gateway_name", "kv/put", Put("/a").SerializeAsString()),
                  Admin("kv/put", true)},
        ParseCase{Raw("trailing_slash", "/etcdserverpb.KV/Put/", Put("/a").SerializeAsString()),
                  Admin("/etcdserverpb.KV/Put/", true)},
        ParseCase{Raw("lower_case", "/etcdserverpb.kv/put", Put("/a").SerializeAsString()),
                  Admin("/etcdserverpb.kv/put", true)},
        ParseCase{Raw("empty_method", "", ""), Admin("", true)},
        // Protobuf semantics: the last of a repeated non-repeated field wins.
        ParseCase{Raw("put_key_twice", "/etcdserverpb.KV/Put", "\x0a\x02/a\x0a\x02/b"s),
                  Keys("kv/put", {Write("/b")})},
        ParseCase{Raw("range_unknown_field", "/etcdserverpb.KV/Range", "\x0a\x02/a\xa0\x06\x01"s),
                  Keys("kv/range", {Read("/a")})},
        // Malformed protobuf: an error, never a decision.
        ParseCase{Raw("truncated_length", "/etcdserverpb.KV/Put", "\x0a\x05/a"s), std::nullopt},
        ParseCase{Raw("bad_varint", "/etcdserverpb.KV/Range",
                      "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"s),
                  std::nullopt},
        ParseCase{Raw("field_zero", "/etcdserverpb.KV/Range", "\x00\x01"s), std::nullopt},
        ParseCase{Raw("end_group", "/etcdserverpb.KV/DeleteRange", "\x0c"s), std::nullopt},
        ParseCase{Raw("wrong_wire_type_txn", "/etcdserverpb.KV/Txn", "\x12\x03\x12\x01\xff"s),
                  std::nullopt},
        ParseCase{Raw("watch_garbage", "/etcdserverpb.Watch/Watch", "\x0a\x7f"s), std::nullopt}),
    [](const testing::TestParamInfo<ParseCase>& info) { return info.param.call.name; });

TEST(GrpcWatchRequestTest, OneMessageOfTheStream) {
  V3ParseResult got = ParseGrpcWatchRequest(WatchCreate("/a", "/b").SerializeAsString());
  ASSERT_TRUE(got.request) << got.error;
  EXPECT_EQ(*got.request, Keys("watch", {Read("/a", "/b")}));
  got = ParseGrpcWatchRequest(WatchCancel().SerializeAsString());
  ASSERT_TRUE(got.request) << got.error;
  EXPECT_EQ(*got.request, Keys("watch", {}));
  got = ParseGrpcWatchRequest(WatchProgress().SerializeAsString());
  ASSERT_TRUE(got.request) << got.error;
  EXPECT_EQ(*got.request, Keys("watch", {}));
  got = ParseGrpcWatchRequest("\x0a\x7f");
  EXPECT_FALSE(got.request);
  EXPECT_FALSE(got.error.empty());
}

// ---------------------------------------------------------------------------
// The two front ends never disagree.

std::vector<Call> AgreementCalls() {
  return {
      Make("range", "/etcdserverpb.KV/Range", Range("/conftool/a")),
      Make("range_prefix", "/etcdserverpb.KV/Range", Range("/conftool/", "/conftool0")),
      Make("range_spill", "/etcdserverpb.KV/Range", Range("/conf", "/cong")),
      Make("range_all", "/etcdserverpb.KV/Range", Range("", "\0"s)),
      Make("range_binary", "/etcdserverpb.KV/Range", Range("\xff\x01"s, "\xff\x02"s)),
      Make("range_empty", "/etcdserverpb.KV/Range", pb::RangeRequest()),
      Make("put", "/etcdserverpb.KV/Put", Put("/conftool/a")),
      Make("put_other", "/etcdserverpb.KV/Put", Put("/other", true)),
      Make("put_no_slash", "/etcdserverpb.KV/Put", Put("conftool")),
      Make("delete", "/etcdserverpb.KV/DeleteRange", Delete("/conftool/", "/conftool0", true)),
      Make("delete_secret", "/etcdserverpb.KV/DeleteRange", Delete("/conftool/secret/x")),
      Make("txn_empty", "/etcdserverpb.KV/Txn", pb::TxnRequest()),
      Make("txn_hidden_write", "/etcdserverpb.KV/Txn", HiddenWrite()),
      Make("txn_reads", "/etcdserverpb.KV/Txn",
           Txn({"/conftool/secret"}, {Op(Range("/a"))}, {Op(Range("/b", "\0"s))})),
      Make("txn_deep", "/etcdserverpb.KV/Txn", NestedTxn(kMaxTxnDepth, "/conftool/secret/y")),
      Make("txn_too_deep", "/etcdserverpb.KV/Txn", NestedTxn(kMaxTxnDepth + 1, "/x")),
      Make("txn_empty_op", "/etcdserverpb.KV/Txn", Txn({}, {pb::RequestOp()})),
      Make("watch_create", "/etcdserverpb.Watch/Watch", WatchCreate("/conftool/", "/conftool0")),
      Make("watch_all", "/etcdserverpb.Watch/Watch", WatchCreate("\0"s, "\0"s)),
      Make("watch_cancel", "/etcdserverpb.Watch/Watch", WatchCancel()),
      Make("watch_progress", "/etcdserverpb.Watch/Watch", WatchProgress()),
      Make("compact", "/etcdserverpb.KV/Compact", pb::CompactionRequest()),
      Make("member_list", "/etcdserverpb.Cluster/MemberList", pb::MemberListRequest()),
      Make("status", "/etcdserverpb.Maintenance/Status", pb::StatusRequest()),
      Make("lease_grant", "/etcdserverpb.Lease/LeaseGrant", pb::LeaseGrantRequest()),
      Make("auth_enable", "/etcdserverpb.Auth/AuthEnable", pb::AuthEnableRequest()),
      Make("hashkv", "/etcdserverpb.Maintenance/HashKV", pb::HashKVRequest()),
  };
}

// The gateway path of a known method (the gRPC front end's endpoint).
std::string GatewayPath(const Call& call) {
  const V3ParseResult grpc = ParseGrpcRequest(call.method, "");
  return "/v3/" + (grpc.request ? grpc.request->endpoint : "?");
}

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  return json;
}

TEST(FrontEndAgreementTest, SameRequest) {
  for (const Call& call : AgreementCalls()) {
    SCOPED_TRACE(call.name);
    const V3ParseResult grpc = ParseGrpcRequest(call.method, call.Bytes());
    const std::string json = Json(*call.message);
    const V3ParseResult gateway = ParseV3Request(GatewayPath(call), json);
    SCOPED_TRACE(json);
    ASSERT_EQ(grpc.request.has_value(), gateway.request.has_value())
        << grpc.error << " | " << gateway.error;
    if (grpc.request) {
      EXPECT_EQ(*grpc.request, *gateway.request);
    }
  }
}

using acltest::StandardRules;

TEST(FrontEndAgreementTest, SameDecision) {
  const std::vector<Identity> identities = {
      Identity{}, Identity{"root", std::nullopt}, Identity{"conftool", std::nullopt},
      Identity{std::nullopt, "conftool"}, Identity{"other", std::nullopt}};
  for (bool public_reads : {true, false}) {
    for (bool read_only : {false, true}) {
      config::Config config;
      config.acls = StandardRules();
      config.public_reads = public_reads;
      config.read_only = read_only;
      const std::shared_ptr<const Acl> acl = Acl::Compile(config);
      for (const Call& call : AgreementCalls()) {
        const V3ParseResult grpc = ParseGrpcRequest(call.method, call.Bytes());
        const V3ParseResult gateway = ParseV3Request(GatewayPath(call), Json(*call.message));
        if (!grpc.request || !gateway.request) continue;  // SameRequest covers errors
        for (const Identity& identity : identities) {
          SCOPED_TRACE(call.name + " as " + identity.ToString());
          const Decision a = acl->DecideV3(identity, *grpc.request);
          const Decision b = acl->DecideV3(identity, *gateway.request);
          EXPECT_EQ(a.verdict, b.verdict);
          EXPECT_EQ(a.rule, b.rule);
        }
      }
    }
  }
}

// The hidden write decides the same through both front ends: refused.
TEST(FrontEndAgreementTest, HiddenWriteRefusedForConftool) {
  config::Config config;
  config.acls = StandardRules();
  const std::shared_ptr<const Acl> acl = Acl::Compile(config);
  const V3ParseResult grpc =
      ParseGrpcRequest("/etcdserverpb.KV/Txn", HiddenWrite().SerializeAsString());
  ASSERT_TRUE(grpc.request) << grpc.error;
  const Decision decision = acl->DecideV3(Identity{"conftool", std::nullopt}, *grpc.request);
  EXPECT_EQ(decision.verdict, Verdict::kForbidden);
  EXPECT_EQ(decision.rule, "/conftool/secret");
}

}  // namespace
}  // namespace tlsproxy::acl
