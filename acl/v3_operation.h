// The protocol-neutral v3 operation: what one request to etcd's v3 API reads
// and writes, whichever front end decoded it (acl/v3_request: the JSON
// gateway; acl/grpc_request: gRPC protobuf). Both map a request onto the
// same V3Request through the same endpoint table below, so Acl::DecideV3
// cannot tell them apart. Pure values and pure functions; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::acl {

enum class AccessKind { kRead, kWrite };

// One key or key range the request reads or writes, as etcd will act on it.
struct KeyAccess {
  AccessKind kind = AccessKind::kRead;
  std::string key;        // decoded bytes; may be empty or not start with '/'
  std::string range_end;  // decoded bytes; empty: single key; "\0": all keys >= key
  bool operator==(const KeyAccess&) const = default;
};

struct V3Request {
  // The gateway endpoint, e.g. "kv/txn" (for gRPC, the gateway endpoint of the
  // method; a method with none keeps its own name).
  std::string endpoint;
  // kv/compaction, lease/*, auth/*, cluster/*, maintenance/*, election/*,
  // lock/* and every endpoint not listed as key-aware: only the "/" rule may
  // use it, whatever the body says; `accesses` is then empty.
  bool admin_only = false;
  // For admin_only endpoints: false only for a few known read-only ones
  // (maintenance/status, lease/leases, ...), which read_only lets through.
  bool admin_write = false;
  // For admin_only reads that say nothing about keys (cluster/member/list,
  // maintenance/status, the gRPC health check): public_reads lets them
  // through, as it does /v2/members and /v2/stats.
  bool public_read = false;
  std::vector<KeyAccess> accesses;  // in message order; may be empty (watch cancel)

  // True when read_only must refuse it: an admin write or any write access.
  bool IsWrite() const;
  bool operator==(const V3Request&) const = default;
};

struct V3ParseResult {
  std::optional<V3Request> request;
  std::string error;  // set when request is empty: a short reason for a 400
};

// Nested txn deeper than this (the top-level txn is depth 1) is an error.
inline constexpr int kMaxTxnDepth = 16;

// The endpoint table: what a front end must decode for an endpoint. Each
// key-aware operation is one etcd request message (RangeRequest, PutRequest,
// DeleteRangeRequest, TxnRequest, WatchRequest); everything else is admin.
enum class V3Operation { kRange, kPut, kDeleteRange, kTxn, kWatch, kAdmin };
V3Operation OperationOf(std::string_view endpoint);

// The request of an admin endpoint (OperationOf is kAdmin): admin_only, with
// admin_write false only for the known read-only endpoints.
V3Request AdminRequest(std::string_view endpoint);

// As AdminRequest, with admin_write given by the caller: for an admin method
// that has no gateway endpoint (gRPC health checks).
V3Request AdminRequest(std::string_view endpoint, bool write);

}  // namespace tlsproxy::acl
