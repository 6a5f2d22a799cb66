// The gRPC front end of the v3 operation (acl/v3_operation): classifies one
// protobuf message of an etcd v3 gRPC call into the same V3Request the JSON
// gateway front end (acl/v3_request) produces for the equivalent gateway
// endpoint, so Acl::DecideV3 decides both the same way. Pure: no I/O, no
// framing (the caller hands over one whole, uncompressed message), no
// exceptions escape.
//
// Guarantees:
// - `method` must be the canonical gRPC :path, matched exactly
//   ("/etcdserverpb.KV/Range"). Any other spelling (no leading slash, other
//   case, a trailing slash) is an unknown method: admin-only, the "/" rule
//   alone. Canonicalising what etcd would also accept is the caller's job.
// - A method maps to its gateway endpoint ("/etcdserverpb.KV/Range" ->
//   "kv/range") and from there through the shared endpoint table; a method
//   the gateway does not know (and any unknown method) is admin-only as a
//   write, keeping the :path as its endpoint; grpc.health.v1.Health/Check is
//   an admin-only read (read_only lets it through, the "/" rule decides).
// - Messages are decoded with the protobuf classes protoc generates from
//   etcd's own .proto files, so the key decided on is the key etcd will use
//   (a non-repeated field given twice: the last wins). Bytes that do not
//   parse are an error. The messages of admin-only methods are not read.
// - prev_kv on Put and DeleteRange returns the keys it replaces: a read of
//   the same keys, after the write (the gateway front end does the same).
// - A txn nested deeper than kMaxTxnDepth is an error, as on the gateway.
#pragma once

#include <string_view>

#include "acl/v3_operation.h"

namespace tlsproxy::acl {

// How many messages each side of a call carries. Watch and LeaseKeepAlive
// are bidi streams; Snapshot and Election/Observe stream responses to one
// request; every other known method is unary. An unknown method (admin-only,
// so only the "/" rule may use it) may be anything: each message is decided.
enum class GrpcCallShape { kUnary, kServerStream, kBidiStream };
GrpcCallShape ShapeOf(std::string_view method);

// One message of a unary call (or the first message of a client stream);
// for Watch/Watch, as ParseGrpcWatchRequest.
V3ParseResult ParseGrpcRequest(std::string_view method, std::string_view message);

// One WatchRequest of a Watch bidi stream: create_request is a read of
// [key, range_end); cancel_request, progress_request and an empty message
// touch no key. The request's endpoint is "watch".
V3ParseResult ParseGrpcWatchRequest(std::string_view message);

}  // namespace tlsproxy::acl
