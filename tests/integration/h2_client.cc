#include "tests/integration/h2_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

std::string OpenSslErrorText() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "(no OpenSSL error)" : text;
}

std::vector<nghttp2_nv> NameValues(const H2Headers& headers) {
  std::vector<nghttp2_nv> nva;
  for (const auto& [name, value] : headers) {
    nva.push_back(nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                             const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                             name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

H2Client* Self(void* self) { return static_cast<H2Client*>(self); }

}  // namespace

// ---- H2Tls -------------------------------------------------------------------------

std::unique_ptr<H2Tls> H2Tls::Connect(uint16_t port, const Options& options, std::string* error,
                                      std::chrono::milliseconds timeout) {
  // A peer that closes while we write must fail the write, not kill the
  // test binary.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<H2Tls> tls(new H2Tls());
  const Certificates& certs = TestCertificates();
  tls->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!tls->ctx_ ||
      SSL_CTX_load_verify_locations(tls->ctx_.get(), certs.ca.c_str(), nullptr) != 1) {
    *error = "SSL_CTX: " + OpenSslErrorText();
    return nullptr;
  }
  SSL_CTX_set_verify(tls->ctx_.get(), SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(tls->ctx_.get(), kAlpn, sizeof kAlpn);
  if (options.client &&
      (SSL_CTX_use_certificate_file(tls->ctx_.get(), certs.ClientCert(*options.client).c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_use_PrivateKey_file(tls->ctx_.get(), certs.ClientKey(*options.client).c_str(),
                                   SSL_FILETYPE_PEM) != 1)) {
    *error = "client certificate: " + OpenSslErrorText();
    return nullptr;
  }

  tls->fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (tls->fd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  if (options.receive_buffer > 0) {
    setsockopt(tls->fd_, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer,
               sizeof options.receive_buffer);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(tls->fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    return nullptr;
  }
  const int one = 1;  // frames go out as written, as with real gRPC clients
  setsockopt(tls->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(tls->fd_, F_SETFL, fcntl(tls->fd_, F_GETFL) | O_NONBLOCK);

  tls->ssl_.reset(SSL_new(tls->ctx_.get()));
  SSL* ssl = tls->ssl_.get();
  SSL_set_fd(ssl, tls->fd_);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set1_host(ssl, "localhost");
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const int result = SSL_connect(ssl);
    if (result == 1) break;
    const int why = SSL_get_error(ssl, result);
    const short events = why == SSL_ERROR_WANT_READ    ? POLLIN
                         : why == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                       : 0;
    if (events == 0 || !tls->PollUntil(events, deadline)) {
      *error = "TLS handshake: " + OpenSslErrorText();
      return nullptr;
    }
  }
  return tls;
}

H2Tls::~H2Tls() {
  if (ssl_ && !closed_) SSL_shutdown(ssl_.get());  // best effort; non-blocking
  ssl_.reset();
  if (fd_ >= 0) close(fd_);
  ERR_clear_error();
}

std::string H2Tls::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

bool H2Tls::PollUntil(short events, Clock::time_point deadline) const {
  while (true) {
    pollfd entry{fd_, events, 0};
    const int ready = poll(&entry, 1, static_cast<int>(Left(deadline).count()));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool H2Tls::Write(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  size_t written = 0;
  while (written < bytes.size()) {
    if (closed_) return false;
    const int chunk = static_cast<int>(std::min<size_t>(bytes.size() - written, 1 << 16));
    const int n = SSL_write(ssl_.get(), bytes.data() + written, chunk);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    const int why = SSL_get_error(ssl_.get(), n);
    const short events = why == SSL_ERROR_WANT_READ    ? POLLIN
                         : why == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                       : 0;
    if (events == 0) {
      closed_ = true;
      ERR_clear_error();
      return false;
    }
    if (!PollUntil(events, deadline)) return false;
  }
  return true;
}

long H2Tls::Read(std::string* out, std::chrono::milliseconds timeout) {
  if (closed_) return -1;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    char buffer[16384];
    const int n = SSL_read(ssl_.get(), buffer, sizeof buffer);
    if (n > 0) {
      out->append(buffer, static_cast<size_t>(n));
      return n;
    }
    const int why = SSL_get_error(ssl_.get(), n);
    const short events = why == SSL_ERROR_WANT_READ    ? POLLIN
                         : why == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                       : 0;
    if (events == 0) {
      closed_ = true;
      ERR_clear_error();
      return -1;
    }
    if (!PollUntil(events, deadline)) return 0;
  }
}

bool H2Tls::WaitClosed(std::chrono::milliseconds timeout, std::string* out, size_t max_bytes) {
  const auto deadline = Clock::now() + timeout;
  std::string sink;
  while (Clock::now() < deadline) {
    std::string* into = out != nullptr && out->size() < max_bytes ? out : &sink;
    if (Read(into, std::min(Left(deadline), std::chrono::milliseconds(200))) < 0) return true;
    sink.clear();
  }
  return closed_;
}

// ---- Raw frames -------------------------------------------------------------------

std::string H2Preface() {
  return std::string(NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN) +
         H2Frame(kH2Settings, 0, 0, "");
}

std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload) {
  std::string frame;
  const size_t length = payload.size();
  frame.push_back(static_cast<char>((length >> 16) & 0xff));
  frame.push_back(static_cast<char>((length >> 8) & 0xff));
  frame.push_back(static_cast<char>(length & 0xff));
  frame.push_back(static_cast<char>(type));
  frame.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) {
    frame.push_back(static_cast<char>(((stream_id & 0x7fffffff) >> shift) & 0xff));
  }
  frame.append(payload);
  return frame;
}

std::string HpackBlock(const H2Headers& headers) {
  nghttp2_hd_deflater* deflater = nullptr;
  if (nghttp2_hd_deflate_new(&deflater, 4096) != 0) return "";
  std::vector<nghttp2_nv> nva = NameValues(headers);
  std::string block(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
  const ssize_t length = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(block.data()),
                                               block.size(), nva.data(), nva.size());
  nghttp2_hd_deflate_del(deflater);
  block.resize(length < 0 ? 0 : static_cast<size_t>(length));
  return block;
}

std::vector<H2RawFrame> TakeFrames(std::string* buffer) {
  std::vector<H2RawFrame> frames;
  size_t at = 0;
  while (buffer->size() - at >= 9) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer->data() + at);
    const size_t length = (size_t{p[0]} << 16) | (size_t{p[1]} << 8) | p[2];
    if (buffer->size() - at < 9 + length) break;
    H2RawFrame frame;
    frame.type = p[3];
    frame.flags = p[4];
    frame.stream_id =
        ((uint32_t{p[5]} << 24) | (uint32_t{p[6]} << 16) | (uint32_t{p[7]} << 8) | uint32_t{p[8]}) &
        0x7fffffff;
    frame.payload = buffer->substr(at + 9, length);
    frames.push_back(std::move(frame));
    at += 9 + length;
  }
  buffer->erase(0, at);
  return frames;
}

uint32_t H2ErrorCodeOf(const H2RawFrame& frame) {
  // RST_STREAM: the code; GOAWAY: last stream id, then the code.
  const size_t at = frame.type == kH2Goaway ? 4 : 0;
  if (frame.payload.size() < at + 4) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(frame.payload.data() + at);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// ---- H2Client ------------------------------------------------------------------------

std::unique_ptr<H2Client> H2Client::Connect(uint16_t port, const Options& options,
                                            std::string* error) {
  std::unique_ptr<H2Client> client(new H2Client());
  H2Tls::Options tls_options;
  tls_options.client = options.client;
  client->tls_ = H2Tls::Connect(port, tls_options, error);
  if (!client->tls_) return nullptr;
  if (client->tls_->alpn() != "h2") {
    *error = "ALPN chose \"" + client->tls_->alpn() + "\", not h2";
    return nullptr;
  }
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Record what the server sends as it is, without nghttp2's HTTP checks.
  nghttp2_option_set_no_http_messaging(option, 1);
  if (!options.window_updates) nghttp2_option_set_no_auto_window_update(option, 1);
  const int created =
      nghttp2_session_client_new2(&client->session_, callbacks, client.get(), option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    client->session_ = nullptr;
    *error = "nghttp2_session_client_new2 failed";
    return nullptr;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options.initial_window_size},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(client->session_, NGHTTP2_FLAG_NONE, settings, 2);
  if (!client->Flush(std::chrono::seconds(10))) {
    *error = "cannot send the connection preface";
    return nullptr;
  }
  return client;
}

H2Client::~H2Client() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

int32_t H2Client::Open(const H2Headers& headers, bool end_stream) {
  const std::vector<nghttp2_nv> nva = NameValues(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = &ReadBody;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                            end_stream ? nullptr : &provider, nullptr);
  if (id > 0) streams_[id];
  return id;
}

void H2Client::Send(int32_t stream_id, std::string bytes, bool end_stream) {
  StreamState& state = streams_[stream_id];
  if (!bytes.empty()) state.chunks.push_back(std::move(bytes));
  if (end_stream) state.end = true;
  nghttp2_session_resume_data(session_, stream_id);
}

void H2Client::Reset(int32_t stream_id, uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

size_t H2Client::Queued(int32_t stream_id) {
  size_t bytes = 0;
  for (const std::string& chunk : streams_[stream_id].chunks) bytes += chunk.size();
  return bytes;
}

bool H2Client::Flush(std::chrono::milliseconds timeout) {
  if (connection_closed_) return false;
  while (nghttp2_session_want_write(session_)) {
    const uint8_t* data = nullptr;
    const ssize_t length = nghttp2_session_mem_send(session_, &data);
    if (length < 0) {
      connection_closed_ = true;
      return false;
    }
    if (length == 0) break;
    if (!tls_->Write(
            std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(length)),
            timeout)) {
      connection_closed_ = true;
      return false;
    }
  }
  return true;
}

bool H2Client::RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    Flush(std::max(Left(deadline), std::chrono::milliseconds(1)));
    if (done()) return true;
    if (connection_closed_ || Clock::now() >= deadline) return false;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      return done();
    }
    std::string input;
    const long n = tls_->Read(&input, std::min(Left(deadline), std::chrono::milliseconds(100)));
    if (n < 0) {
      connection_closed_ = true;
      return done();
    }
    if (n == 0) continue;
    const ssize_t used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const uint8_t*>(input.data()), input.size());
    if (used < 0) {
      connection_closed_ = true;
      return done();
    }
  }
}

const H2Client::Stream& H2Client::WaitClosed(int32_t stream_id, std::chrono::milliseconds timeout) {
  RunUntil([&] { return streams_[stream_id].record.closed; }, timeout);
  return streams_[stream_id].record;
}

H2Client::Stream H2Client::Call(const std::string& path, const std::string& body,
                                const H2Headers& extra, std::chrono::milliseconds timeout) {
  const int32_t id = Open(GrpcHeaders(path, extra));
  if (id <= 0) {
    Stream failed;
    failed.reset = true;
    return failed;
  }
  Send(id, body, true);
  return WaitClosed(id, timeout);
}

ssize_t H2Client::ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                           uint32_t* flags, nghttp2_data_source*, void* self) {
  StreamState& state = Self(self)->streams_[stream_id];
  if (state.chunks.empty()) {
    if (!state.end) return NGHTTP2_ERR_DEFERRED;
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  std::string& chunk = state.chunks.front();
  const size_t n = std::min(length, chunk.size());
  std::memcpy(buffer, chunk.data(), n);
  chunk.erase(0, n);
  if (chunk.empty()) {
    state.chunks.pop_front();
    if (state.chunks.empty() && state.end) *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return static_cast<ssize_t>(n);
}

int H2Client::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                       void* self) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream& record = Self(self)->streams_[frame->hd.stream_id].record;
  H2Headers& into = frame->headers.cat == NGHTTP2_HCAT_HEADERS ? record.trailers : record.headers;
  into.emplace_back(std::string(reinterpret_cast<const char*>(name), name_length),
                    std::string(reinterpret_cast<const char*>(value), value_length));
  return 0;
}

int H2Client::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  H2Client* client = Self(self);
  switch (frame->hd.type) {
    case NGHTTP2_GOAWAY:
      client->goaway_ = true;
      client->goaway_code_ = frame->goaway.error_code;
      break;
    case NGHTTP2_RST_STREAM: {
      Stream& record = client->streams_[frame->hd.stream_id].record;
      record.reset = true;
      record.reset_code = frame->rst_stream.error_code;
      break;
    }
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        client->streams_[frame->hd.stream_id].record.end_stream = true;
      }
      break;
    default:
      break;
  }
  return 0;
}

int H2Client::OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                          size_t length, void* self) {
  Self(self)->streams_[stream_id].record.data.append(reinterpret_cast<const char*>(data), length);
  return 0;
}

int H2Client::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* self) {
  Self(self)->streams_[stream_id].record.closed = true;
  return 0;
}

std::string H2Client::Stream::Find(const std::string& name) const {
  for (const H2Headers* list : {&trailers, &headers}) {
    for (const auto& [key, value] : *list) {
      if (key == name) return value;
    }
  }
  return "";
}

int H2Client::Stream::GrpcStatus() const {
  const std::string value = Find("grpc-status");
  if (value.empty() || value.size() > 3 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(value);
}

std::string H2Client::Stream::HttpStatus() const {
  for (const auto& [key, value] : headers) {
    if (key == ":status") return value;
  }
  return "";
}

std::string H2Client::Stream::Describe() const {
  std::string text = "headers{";
  for (const auto& [key, value] : headers) text += key + ": " + value + "; ";
  text += "} trailers{";
  for (const auto& [key, value] : trailers) text += key + ": " + value + "; ";
  text += "} data=" + std::to_string(data.size()) + " bytes";
  if (end_stream) text += " END_STREAM";
  if (reset) text += " RST_STREAM(" + std::to_string(reset_code) + ")";
  if (!closed) text += " (not closed)";
  return text;
}

// ---- gRPC and etcd --------------------------------------------------------------

H2Headers GrpcHeaders(const std::string& path, const H2Headers& extra) {
  H2Headers headers = {
      {":method", "POST"},
      {":scheme", "https"},
      {":authority", "localhost"},
      {":path", path},
      {"content-type", "application/grpc"},
      {"te", "trailers"},
  };
  headers.insert(headers.end(), extra.begin(), extra.end());
  return headers;
}

std::string GrpcPrefix(uint32_t length, bool compressed) {
  std::string prefix(1, compressed ? '\1' : '\0');
  for (int shift = 24; shift >= 0; shift -= 8) {
    prefix.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  return prefix;
}

std::unique_ptr<H2Client> Connect(uint16_t port, std::optional<std::string> cert,
                                  H2Client::Options options) {
  options.client = std::move(cert);
  std::string error;
  std::unique_ptr<H2Client> client = H2Client::Connect(port, options, &error);
  EXPECT_TRUE(client) << error;
  return client;
}

std::string GrpcFrame(std::string_view message, bool compressed) {
  return GrpcPrefix(static_cast<uint32_t>(message.size()), compressed) + std::string(message);
}

std::vector<std::string> GrpcMessages(std::string_view data) {
  std::vector<std::string> messages;
  while (data.size() >= 5) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const size_t length =
        (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | size_t{p[4]};
    if (data.size() < 5 + length) break;
    messages.emplace_back(data.substr(5, length));
    data.remove_prefix(5 + length);
  }
  return messages;
}

std::string PutRequestBytes(const std::string& key, const std::string& value) {
  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  return request.SerializeAsString();
}

std::string RangeRequestBytes(const std::string& key) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  return request.SerializeAsString();
}

std::string WatchCreateBytes(const std::string& key) {
  etcdserverpb::WatchRequest request;
  request.mutable_create_request()->set_key(key);
  return request.SerializeAsString();
}

std::string ProtoBytesField(uint32_t field, std::string_view bytes) {
  std::string out;
  uint64_t tag = (uint64_t{field} << 3) | 2;
  for (uint64_t value : {tag, uint64_t{bytes.size()}}) {
    while (value >= 0x80) {
      out.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<char>(value));
  }
  out.append(bytes);
  return out;
}

std::optional<std::string> RangeResponseValue(const std::string& message) {
  etcdserverpb::RangeResponse response;
  if (!response.ParseFromString(message) || response.kvs_size() == 0) return std::nullopt;
  return response.kvs(0).value();
}

}  // namespace tlsproxy::integration
