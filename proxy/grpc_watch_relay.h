// The response side of one Watch stream: etcd's messages on their way to
// the client, and the proxy's own answers to the creates the ACL refused,
// put in the order clients need. Pure: no I/O (bytes in, bytes out).
//
// Guarantees:
// - etcd's messages pass whole and unchanged (re-framed with their own
//   flag), in etcd's order.
// - A refused create is answered as etcd answers a create it refuses:
//   {watch_id: -1, created, canceled, cancel_reason "rpc error: code = ...
//   desc = ..."}, with the last response header etcd sent on this stream (or
//   an empty one before any: etcdctl 3.4 dereferences it), so clients react
//   as they do to an etcd with auth on.
// - Answers come in the order the creates were sent: clientv3 pairs each
//   "created" answer with its oldest pending create, so a refusal waits
//   until every create forwarded before it has had etcd's answer.
// - It counts the watches etcd created and has not canceled on this
//   stream, for the `watches` gauge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "proxy/grpc_message_reader.h"
#include "proxy/grpc_status.h"

namespace tlsproxy::proxy {

class WatchRelay {
 public:
  // etcd's messages are read whole, each up to `max_message_bytes`.
  explicit WatchRelay(size_t max_message_bytes) : reader_(max_message_bytes) {}

  // A create the ACL allowed went to etcd.
  void CreateForwarded() { creates_.emplace_back(std::nullopt); }
  // A create the ACL refused; returns what to send the client now (empty
  // when the answer must wait for earlier creates).
  std::string CreateRefused(const GrpcStatus& refusal);

  struct Output {
    std::string bytes;       // for the client, in order
    int watches_opened = 0;  // for the gauge
    int watches_closed = 0;
    bool too_large = false;  // a message over the limit: the stream must end
  };
  // DATA bytes from etcd.
  Output FromEtcd(std::string_view data);

  // Watches etcd created on this stream and has not canceled.
  size_t open_watches() const { return watch_ids_.size(); }

 private:
  void Answered(Output* out);
  std::string Refusal(const GrpcStatus& refusal) const;

  GrpcMessageReader reader_;
  // Creates awaiting their answer, oldest first: nullopt for one forwarded
  // to etcd, else the refusal to send once those before it are answered.
  std::deque<std::optional<GrpcStatus>> creates_;
  std::string last_header_;  // etcd's latest ResponseHeader here, serialized
  bool have_header_ = false;
  std::set<int64_t> watch_ids_;
};

}  // namespace tlsproxy::proxy
