// gRPC's length-prefixed message framing over an HTTP/2 stream's DATA
// bytes: each message is one flag byte (1: compressed), a 4-byte big-endian
// length and that many bytes. HTTP/2 may split a message over DATA frames
// or put several in one; the reader reassembles whole messages.
//
// Guarantees: a message is handed out only when all of its bytes have
// arrived; a declared length over `max_message_bytes` is an error before
// any of its bytes are buffered (so a peer cannot make it hold more than
// that limit plus one prefix); after an error the reader stays failed.
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::proxy {

struct GrpcMessage {
  uint8_t flag = 0;         // the prefix's flag byte as sent
  bool compressed = false;  // flag is not 0 (gRPC defines only 0 and 1)
  std::string bytes;        // the message, without its prefix
};

class GrpcMessageReader {
 public:
  explicit GrpcMessageReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  enum class Status { kOk, kTooLarge };
  // Appends `data`; every message it completes is appended to `out`.
  Status Feed(std::string_view data, std::vector<GrpcMessage>* out);

  // True while part of a message (or of its prefix) is waiting for the rest:
  // the stream must not end here.
  bool HasPartialMessage() const { return !pending_.empty(); }
  // Bytes held for the message being read (prefix included).
  size_t buffered() const { return pending_.size(); }
  bool failed() const { return failed_; }

 private:
  size_t max_message_bytes_;
  std::string pending_;  // prefix and bytes of the message being read
  bool failed_ = false;
};

inline constexpr size_t kGrpcPrefixBytes = 5;

// `message` with its 5-byte prefix (not compressed).
std::string FrameGrpcMessage(std::string_view message);

}  // namespace tlsproxy::proxy
