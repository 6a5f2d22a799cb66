// A blocking, test-only HTTP/2 client for the proxy's gRPC front end, at
// three levels:
//   H2Tls      TCP to 127.0.0.1:port, TLS offering ALPN "h2" only (so the
//              proxy picks HTTP/2), trusting ca.pem, optionally with a client
//              certificate; raw bytes in and out with bounded waits. Attacks
//              nghttp2 will not produce (floods, CONTINUATION chains) write
//              their own frames with it (H2Frame, HpackBlock).
//   H2Client   an nghttp2 client session over an H2Tls: streams with any
//              headers (malformed ones included: the client does not check
//              what it sends) and any DATA bytes, one DATA frame per Send();
//              records response headers, DATA, trailers, RST_STREAM and GOAWAY.
//   gRPC       framing (the 5-byte prefix) and etcd request messages.
//
// Every wait is bounded by a timeout given by the caller (10 s by default);
// nothing here asserts on time. Objects own their socket, SSL and session and
// close them in their destructors. Not thread-safe.
#pragma once

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsproxy::integration {

using H2Headers = std::vector<std::pair<std::string, std::string>>;

// One TLS connection that negotiated (or at least offered) "h2" only.
class H2Tls {
 public:
  struct Options {
    std::optional<std::string> client;  // client certificate name ("root", "conftool")
    int receive_buffer = 0;             // SO_RCVBUF before connect; 0: the kernel's default
  };
  // Connects and completes the handshake within `timeout`; nullptr with
  // `error` set when anything fails.
  static std::unique_ptr<H2Tls> Connect(
      uint16_t port, const Options& options, std::string* error,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~H2Tls();
  H2Tls(const H2Tls&) = delete;
  H2Tls& operator=(const H2Tls&) = delete;

  // The protocol ALPN chose ("h2"), or "" when the server chose none.
  std::string alpn() const;
  // Writes all of `bytes`; false when the connection fails, is closed, or
  // `timeout` passes with bytes still unwritten (the peer does not read).
  bool Write(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Appends what arrives within `timeout` to `out`: the number of bytes
  // read (> 0), 0 when nothing came, -1 when the connection is closed.
  long Read(std::string* out, std::chrono::milliseconds timeout);
  // Reads until the peer closes the connection (true) or `timeout` passes
  // (false), discarding at most `max_bytes` into `out` (nullptr: dropped).
  bool WaitClosed(std::chrono::milliseconds timeout, std::string* out = nullptr,
                  size_t max_bytes = 1 << 20);
  bool closed() const { return closed_; }

 private:
  H2Tls() = default;
  // Waits for `events` on the socket until `deadline`; false on timeout.
  bool PollUntil(short events, std::chrono::steady_clock::time_point deadline) const;

  struct CtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  int fd_ = -1;
  bool closed_ = false;
};

// ---- Raw frames (for attacks) ------------------------------------------------

// Frame types and flags, as RFC 9113 numbers them.
enum H2FrameType : uint8_t {
  kH2Data = 0,
  kH2Headers = 1,
  kH2RstStream = 3,
  kH2Settings = 4,
  kH2Ping = 6,
  kH2Goaway = 7,
  kH2WindowUpdate = 8,
  kH2Continuation = 9,
};
inline constexpr uint8_t kH2EndStream = 0x1;
inline constexpr uint8_t kH2EndHeaders = 0x4;
inline constexpr uint8_t kH2Ack = 0x1;

// The client connection preface followed by an empty SETTINGS frame.
std::string H2Preface();
// One frame: 9-byte header and `payload`.
std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload);
// `headers` HPACK-encoded by a fresh nghttp2 deflater (a header block for
// one HEADERS frame plus CONTINUATIONs, however the caller splits it).
std::string HpackBlock(const H2Headers& headers);

struct H2RawFrame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
  std::string payload;
};
// Takes every complete frame off the front of `buffer`.
std::vector<H2RawFrame> TakeFrames(std::string* buffer);
// The error code of a GOAWAY or RST_STREAM frame's payload.
uint32_t H2ErrorCodeOf(const H2RawFrame& frame);

// ---- The nghttp2 client -----------------------------------------------------------

class H2Client {
 public:
  struct Options {
    std::optional<std::string> client;  // client certificate name
    // SETTINGS_INITIAL_WINDOW_SIZE sent at start (each stream's receive window).
    uint32_t initial_window_size = 65535;
    // false: never send WINDOW_UPDATE (a reader whose windows only shrink).
    bool window_updates = true;
  };
  // Connects, checks that ALPN chose h2 and sends the preface and SETTINGS.
  static std::unique_ptr<H2Client> Connect(uint16_t port, const Options& options,
                                           std::string* error);
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  struct Stream {
    H2Headers headers;        // the response head (a trailers-only response: all here)
    H2Headers trailers;       // headers after the response head
    std::string data;         // DATA bytes received
    bool end_stream = false;  // the server ended the stream (END_STREAM)
    bool reset = false;       // the server sent RST_STREAM
    uint32_t reset_code = 0;  // its error code
    bool closed = false;      // nghttp2 closed the stream (any way)
    // The value of `name` in the trailers, else in the head; "" if absent.
    std::string Find(const std::string& name) const;
    // grpc-status as a number (trailers, else a trailers-only head); -1 if none.
    int GrpcStatus() const;
    std::string GrpcMessage() const { return Find("grpc-message"); }
    // The response's :status; "" if none.
    std::string HttpStatus() const;
    std::string Describe() const;  // for failure messages
  };

  // Opens a stream with exactly these headers, in this order. With
  // `end_stream` the HEADERS frame ends the request; otherwise the body is
  // what Send() queues. Returns the stream id (> 0), or a negative nghttp2
  // error.
  int32_t Open(const H2Headers& headers, bool end_stream = false);
  // Queues `bytes` to go as one DATA frame (split only past the peer's frame
  // size or window); `end_stream` ends the request after them.
  void Send(int32_t stream_id, std::string bytes, bool end_stream = false);
  // Ends the request (an empty DATA frame with END_STREAM if nothing is queued).
  void End(int32_t stream_id) { Send(stream_id, "", true); }
  void Reset(int32_t stream_id, uint32_t error_code = NGHTTP2_CANCEL);
  // Bytes Send() queued on the stream that nghttp2 has not yet taken (the
  // server's flow-control window holds them back).
  size_t Queued(int32_t stream_id);

  // Sends what is queued and reads and processes frames until `done()`, the
  // connection closes, or `timeout` passes. Returns done().
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Runs until stream `id` is closed; returns its record.
  const Stream& WaitClosed(int32_t stream_id,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // A whole unary gRPC call: `path` with the usual gRPC headers plus
  // `extra`, the body as given (framed by the caller), END_STREAM; waits for
  // the stream to close.
  Stream Call(const std::string& path, const std::string& body, const H2Headers& extra = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(10));

  const Stream& stream(int32_t stream_id) { return streams_[stream_id].record; }
  bool goaway() const { return goaway_; }
  uint32_t goaway_code() const { return goaway_code_; }
  // The connection is gone (closed by the peer, an I/O or protocol error).
  bool connection_closed() const { return connection_closed_; }
  nghttp2_session* session() { return session_; }
  H2Tls& tls() { return *tls_; }

 private:
  H2Client() = default;
  bool Flush(std::chrono::milliseconds timeout);

  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t length, void* self);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);

  struct StreamState {
    Stream record;
    std::deque<std::string> chunks;  // DATA to send, one frame each
    bool end = false;                // END_STREAM after the chunks
  };
  std::unique_ptr<H2Tls> tls_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, StreamState> streams_;
  bool goaway_ = false;
  uint32_t goaway_code_ = 0;
  bool connection_closed_ = false;
};

// ---- gRPC and etcd --------------------------------------------------------------

// The headers a gRPC client sends for `path`, then `extra`.
H2Headers GrpcHeaders(const std::string& path, const H2Headers& extra = {});
// `message` with gRPC's 5-byte prefix (flag byte, big-endian length).
std::string GrpcFrame(std::string_view message, bool compressed = false);

// An H2Client as `cert` (a client certificate name, or none); fails the
// test (non-fatally) and returns nullptr when it cannot connect.
std::unique_ptr<H2Client> Connect(uint16_t port, std::optional<std::string> cert,
                                  H2Client::Options options = {});
// A prefix alone: flag byte and a declared `length`.
std::string GrpcPrefix(uint32_t length, bool compressed = false);
// The messages in `data` (gRPC-framed); stops at a partial one.
std::vector<std::string> GrpcMessages(std::string_view data);

inline constexpr char kPutPath[] = "/etcdserverpb.KV/Put";
inline constexpr char kRangePath[] = "/etcdserverpb.KV/Range";
inline constexpr char kWatchPath[] = "/etcdserverpb.Watch/Watch";

// Serialized etcdserverpb messages.
std::string PutRequestBytes(const std::string& key, const std::string& value);
std::string RangeRequestBytes(const std::string& key);
std::string WatchCreateBytes(const std::string& key);
// One protobuf length-delimited field (wire type 2): tag, varint length, bytes.
std::string ProtoBytesField(uint32_t field, std::string_view bytes);
// The value of the first kv of a serialized RangeResponse; nullopt if none
// (or it does not parse).
std::optional<std::string> RangeResponseValue(const std::string& message);

}  // namespace tlsproxy::integration
