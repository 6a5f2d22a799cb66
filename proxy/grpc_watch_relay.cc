#include "proxy/grpc_watch_relay.h"

#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace tlsproxy::proxy {

std::string WatchRelay::CreateRefused(const GrpcStatus& refusal) {
  if (creates_.empty()) return Refusal(refusal);
  creates_.emplace_back(refusal);
  return "";
}

// Built when sent, so it carries etcd's latest header.
std::string WatchRelay::Refusal(const GrpcStatus& refusal) const {
  etcdserverpb::WatchResponse response;
  if (!have_header_ || !response.mutable_header()->ParseFromString(last_header_)) {
    response.mutable_header()->Clear();  // present, even if empty
  }
  response.set_watch_id(-1);
  response.set_created(true);
  response.set_canceled(true);
  response.set_cancel_reason("rpc error: code = " + std::string(GrpcCodeName(refusal.code)) +
                             " desc = " + refusal.message);
  return FrameGrpcMessage(response.SerializeAsString());
}

WatchRelay::Output WatchRelay::FromEtcd(std::string_view data) {
  Output out;
  std::vector<GrpcMessage> messages;
  out.too_large = reader_.Feed(data, &messages) != GrpcMessageReader::Status::kOk;
  for (const GrpcMessage& message : messages) {
    std::string framed = FrameGrpcMessage(message.bytes);
    framed[0] = static_cast<char>(message.flag);
    out.bytes += framed;
    etcdserverpb::WatchResponse response;
    if (message.compressed || !response.ParseFromString(message.bytes)) continue;
    if (response.has_header()) {
      last_header_ = response.header().SerializeAsString();
      have_header_ = true;
    }
    if (response.created() && !response.canceled() &&
        watch_ids_.insert(response.watch_id()).second) {
      ++out.watches_opened;
    }
    if (response.canceled() && watch_ids_.erase(response.watch_id()) > 0) ++out.watches_closed;
    if (response.created()) Answered(&out);
  }
  return out;
}

// etcd answered the oldest forwarded create: the refusals queued behind it
// may go now, up to the next create still waiting for etcd.
void WatchRelay::Answered(Output* out) {
  if (!creates_.empty() && !creates_.front()) creates_.pop_front();
  while (!creates_.empty() && creates_.front()) {
    out->bytes += Refusal(*creates_.front());
    creates_.pop_front();
  }
}

}  // namespace tlsproxy::proxy
