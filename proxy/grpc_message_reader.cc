#include "proxy/grpc_message_reader.h"

namespace tlsproxy::proxy {
namespace {

uint32_t DeclaredLength(std::string_view prefix) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(prefix[1])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(prefix[2])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(prefix[3])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(prefix[4]));
}

}  // namespace

GrpcMessageReader::Status GrpcMessageReader::Feed(std::string_view data,
                                                  std::vector<GrpcMessage>* out) {
  if (failed_) return Status::kTooLarge;
  while (!data.empty()) {
    // The prefix first, byte by byte if it arrives split.
    if (pending_.size() < kGrpcPrefixBytes) {
      const size_t take = std::min(kGrpcPrefixBytes - pending_.size(), data.size());
      pending_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (pending_.size() < kGrpcPrefixBytes) break;
      if (DeclaredLength(pending_) > max_message_bytes_) {
        failed_ = true;
        pending_.clear();
        return Status::kTooLarge;
      }
    }
    const size_t length = DeclaredLength(pending_);
    const size_t have = pending_.size() - kGrpcPrefixBytes;
    const size_t take = std::min(length - have, data.size());
    pending_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (pending_.size() - kGrpcPrefixBytes < length) break;
    GrpcMessage message;
    message.flag = static_cast<uint8_t>(pending_[0]);
    message.compressed = message.flag != 0;
    message.bytes = pending_.substr(kGrpcPrefixBytes);
    out->push_back(std::move(message));
    pending_.clear();
  }
  return Status::kOk;
}

std::string FrameGrpcMessage(std::string_view message) {
  const auto length = static_cast<uint32_t>(message.size());
  std::string framed;
  framed.reserve(kGrpcPrefixBytes + message.size());
  framed.push_back('\0');
  framed.push_back(static_cast<char>(length >> 24));
  framed.push_back(static_cast<char>((length >> 16) & 0xff));
  framed.push_back(static_cast<char>((length >> 8) & 0xff));
  framed.push_back(static_cast<char>(length & 0xff));
  framed.append(message);
  return framed;
}

}  // namespace tlsproxy::proxy
