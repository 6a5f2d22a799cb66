// Classifies a request to etcd's v3 JSON gateway (grpc-gateway) into the key
// ranges it reads and writes, so the same ACL table that guards /v2/keys can
// guard the v3 key space. Pure: no I/O, no exceptions escape.
//
// What etcd does with a body, and so what this mirrors (etcd 3.3-3.5):
// - The gateway is served under /v3 (3.4+), /v3beta (3.3-3.5) and /v3alpha
//   (up to 3.3); the endpoint is the rest of the path, e.g. "kv/range".
// - A unary endpoint decodes the first JSON value of the body with protobuf's
//   JSON mapping (jsonpb): field names in proto spelling ("range_end") or
//   lowerCamelCase ("rangeEnd"); bytes fields are base64; an empty body is an
//   empty message. `watch` decodes a sequence of JSON values, one WatchRequest
//   each, and acts on all of them.
// - range_end empty: the single key `key`; range_end "\0" (one zero byte):
//   every key >= key; otherwise the byte-ordered range [key, range_end).
//
// Fail closed: anything this code is not sure etcd reads the same way is an
// error (a 400, never forwarded): malformed JSON or UTF-8, a non-object body,
// bytes that are not base64, a wrong JSON type on a field that carries or
// holds keys, an unknown field in a message that carries keys (jsonpb would
// ignore it, but it may be a newer key field), one field given in both
// spellings, two members of one oneof, null in place of a message, trailing
// data after a unary body, txn nesting deeper than kMaxTxnDepth.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

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
  std::string endpoint;  // the path after the gateway prefix, e.g. "kv/txn"
  // kv/compaction, lease/*, auth/*, cluster/*, maintenance/*, election/*,
  // lock/* and every endpoint not listed as key-aware: only the "/" rule may
  // use it, whatever the body says; `accesses` is then empty.
  bool admin_only = false;
  // For admin_only endpoints: false only for a few known read-only ones
  // (maintenance/status, lease/leases, ...), which read_only lets through.
  bool admin_write = false;
  std::vector<KeyAccess> accesses;  // in body order; may be empty (watch cancel)

  // True when read_only must refuse it: an admin write or any write access.
  bool IsWrite() const;
};

struct V3ParseResult {
  std::optional<V3Request> request;
  std::string error;  // set when request is empty: a short reason for a 400
};

// Nested txn deeper than this (the top-level txn is depth 1) is an error.
inline constexpr int kMaxTxnDepth = 16;

// The endpoint of a canonical path under a gateway prefix ("/v3/kv/range" ->
// "kv/range"; "/v3" -> ""), or nullopt when `path` is not a gateway path.
std::optional<std::string_view> V3Endpoint(std::string_view path);

// `path` is the canonical request path (RequestTarget::path) and must satisfy
// V3Endpoint(path); `body` the whole request body. The bodies of admin_only
// endpoints are not read.
V3ParseResult ParseV3Request(std::string_view path, std::string_view body);

// The rules an access needs: every rule that wins at least one key of the
// access's range (a rule wins a key when its prefix matches the key on whole
// segments and no longer prefix does, as for v2; a key not starting with '/'
// falls under "/"). Computed exactly over byte-ordered keys. An empty or
// inverted range ([key, range_end) with range_end <= key) needs the rule of
// `key` alone.
struct RangeRules {
  std::vector<const config::AclRule*> rules;  // in the order of `acls`, no duplicates
  bool unruled = false;  // some key in the range falls under no rule (no "/" rule)
};
RangeRules RulesForAccess(const std::vector<config::AclRule>& acls, const KeyAccess& access);

}  // namespace tlsproxy::acl
