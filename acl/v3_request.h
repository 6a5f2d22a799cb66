// The JSON front end of the v3 operation (acl/v3_operation): classifies a
// request to etcd's v3 JSON gateway (grpc-gateway) into the key
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
#include <string_view>

#include "acl/v3_operation.h"

namespace tlsproxy::acl {

// The endpoint of a canonical path under a gateway prefix ("/v3/kv/range" ->
// "kv/range"; "/v3" -> ""), or nullopt when `path` is not a gateway path.
std::optional<std::string_view> V3Endpoint(std::string_view path);

// `path` is the canonical request path (RequestTarget::path) and must satisfy
// V3Endpoint(path); `body` the whole request body. The bodies of admin_only
// endpoints are not read.
V3ParseResult ParseV3Request(std::string_view path, std::string_view body);

}  // namespace tlsproxy::acl
