#include "proxy/http2_session.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "proxy/direct_write.h"
#include "proxy/grpc_call.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {
namespace {

// Response bytes queued on the socket before the session stops producing
// more (it resumes when the socket drains).
constexpr size_t kOutputHighWater = 256 << 10;
// nghttp2's guards against floods, set explicitly: at most this many client
// RST_STREAMs in a burst, refilled at this rate per second (rapid reset);
// CONTINUATION frames per header block; queued PING/SETTINGS ACKs a client
// can make us owe; SETTINGS entries in one frame.
constexpr uint64_t kResetBurst = 200;
constexpr uint64_t kResetsPerSecond = 33;
constexpr size_t kMaxContinuations = 8;
constexpr size_t kMaxOutboundAck = 1000;
constexpr size_t kMaxSettings = 32;

Http2Session* Self(void* self) { return static_cast<Http2Session*>(self); }

}  // namespace

void Http2Session::Start(Worker& worker, bufferevent* bev, std::string peer,
                         std::optional<std::string> cert_user) {
  auto* session = new Http2Session(worker, bev, std::move(peer), std::move(cert_user));
  worker.Add(session);
  if (!session->Init()) {
    spdlog::warn("{}: cannot start an HTTP/2 session", session->peer_);
    return session->Close();
  }
  session->ReadInput();  // bytes that arrived with the end of the handshake
}

Http2Session::Http2Session(Worker& worker, bufferevent* bev, std::string peer,
                           std::optional<std::string> cert_user)
    : worker_(worker), bev_(bev), peer_(std::move(peer)), cert_user_(std::move(cert_user)) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  char ip[INET6_ADDRSTRLEN] = "";
  if (getpeername(bufferevent_getfd(bev_), reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    const void* bytes =
        address.ss_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr)
            : &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr;
    inet_ntop(address.ss_family, bytes, ip, sizeof ip);
  }
  peer_ip_ = ip;
}

Http2Session::~Http2Session() {
  closed_ = true;
  calls_.clear();  // before the session: calls reset their upstream streams
  if (session_ != nullptr) nghttp2_session_del(session_);
  if (send_event_ != nullptr) event_free(send_event_);
  SSL* ssl = bufferevent_openssl_get_ssl(bev_);
  if (ssl != nullptr) SSL_shutdown(ssl);  // best effort close_notify
  bufferevent_free(bev_);
  worker_.Remove(this);
}

bool Http2Session::Init() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &OnFrameSend);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_stream_reset_rate_limit(option, kResetBurst, kResetsPerSecond);
  nghttp2_option_set_max_continuations(option, kMaxContinuations);
  nghttp2_option_set_max_outbound_ack(option, kMaxOutboundAck);
  nghttp2_option_set_max_settings(option, kMaxSettings);
  const int created = nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    session_ = nullptr;
    return false;
  }
  const auto header_limit = static_cast<uint32_t>(worker_.runtime()->config->max_header_bytes);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, header_limit},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 3);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  send_event_ = event_new(worker_.base(), -1, 0, &OnSendEvent, this);
  if (send_event_ == nullptr) return false;
  bufferevent_setcb(bev_, &OnRead, &OnWrite, &OnEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  UpdateIdleTimeout();
  SendNow();
  return true;
}

// ---- For the calls -----------------------------------------------------------

void Http2Session::SubmitResponse(int32_t stream_id, const HeaderList& headers, bool end_stream) {
  if (closed_) return;
  const std::vector<nghttp2_nv> nva = NameValues(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = &ReadBody;
  nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(),
                          end_stream ? nullptr : &provider);
  ScheduleSend();
}

void Http2Session::ResumeResponse(int32_t stream_id) {
  if (closed_) return;
  nghttp2_session_resume_data(session_, stream_id);
  ScheduleSend();
}

void Http2Session::SubmitTrailers(int32_t stream_id, const HeaderList& trailers) {
  const std::vector<nghttp2_nv> nva = NameValues(trailers);
  nghttp2_submit_trailer(session_, stream_id, nva.data(), nva.size());
}

void Http2Session::ConsumeRequest(int32_t stream_id, size_t length) {
  if (closed_ || length == 0) return;
  if (nghttp2_session_consume(session_, stream_id, length) != 0) {
    nghttp2_session_consume_connection(session_, length);
  }
  ScheduleSend();
}

void Http2Session::AddPartialBytes(int64_t delta) {
  const bool was_over = PartialBytesOverBudget();
  partial_bytes_ = static_cast<size_t>(static_cast<int64_t>(partial_bytes_) + delta);
  if (was_over && !PartialBytesOverBudget()) {
    // Room again: calls that held back their acknowledgements may go on
    // (from SendNow, outside any call's code).
    resume_requests_ = true;
    ScheduleSend();
  }
}

bool Http2Session::PartialBytesOverBudget() const {
  return partial_bytes_ > worker_.runtime()->config->max_body_bytes;
}

void Http2Session::ResetStream(int32_t stream_id, uint32_t error_code) {
  if (closed_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  ScheduleSend();
}

GrpcCall* Http2Session::CallOf(int32_t stream_id) const {
  const auto it = calls_.find(stream_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

// ---- Draining and closing --------------------------------------------------

void Http2Session::BeginDrain() {
  if (draining_ || closed_) return;
  draining_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  for (auto& [id, call] : calls_) call->BeginDrain();
  ScheduleSend();
}

void Http2Session::Close() {
  if (closed_) return;
  closed_ = true;
  bufferevent_setcb(bev_, nullptr, nullptr, nullptr, nullptr);
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  const timeval now = {0, 0};
  event_base_once(worker_.base(), -1, EV_TIMEOUT, &Http2Session::OnDestroy, this, &now);
}

void Http2Session::OnDestroy(evutil_socket_t, short, void* self) { delete Self(self); }

// A connection with no stream open is idle: timeouts.idle closes it. With a
// stream open (a watch may be quiet for hours) there is no read timeout.
void Http2Session::UpdateIdleTimeout() {
  const bool want = calls_.empty();
  if (want == idle_timer_on_) return;
  idle_timer_on_ = want;
  if (want) {
    const timeval idle = {static_cast<time_t>(worker_.runtime()->config->timeouts.idle), 0};
    bufferevent_set_timeouts(bev_, &idle, nullptr);
  } else {
    bufferevent_set_timeouts(bev_, nullptr, nullptr);
  }
}

// ---- Socket events ----------------------------------------------------------

void Http2Session::ReadInput() {
  evbuffer* input = bufferevent_get_input(bev_);
  while (!closed_ && evbuffer_get_length(input) > 0) {
    evbuffer_iovec chunk;
    evbuffer_peek(input, -1, nullptr, &chunk, 1);
    const ssize_t used = nghttp2_session_mem_recv(
        session_, static_cast<const uint8_t*>(chunk.iov_base), chunk.iov_len);
    if (used < 0) {
      spdlog::debug("{}: HTTP/2 error: {}", peer_, nghttp2_strerror(static_cast<int>(used)));
      // Send what nghttp2 queued (a GOAWAY for most protocol errors; none
      // for a flood it cuts short), then close.
      SendNow();
      return Close();
    }
    evbuffer_drain(input, static_cast<size_t>(used));
  }
  SendNow();
}

void Http2Session::ScheduleSend() {
  if (!closed_ && send_event_ != nullptr) event_active(send_event_, EV_TIMEOUT, 0);
}

void Http2Session::SendNow() {
  if (closed_) return;
  if (resume_requests_) {
    resume_requests_ = false;
    for (auto& [id, call] : calls_) call->ResumeRequest();
  }
  evbuffer* output = bufferevent_get_output(bev_);
  // Everything nghttp2 has to send now, in one write (and so as few TLS
  // records as it takes), straight to the socket when nothing is queued.
  send_batch_.clear();
  while (evbuffer_get_length(output) + send_batch_.size() < kOutputHighWater &&
         nghttp2_session_want_write(session_)) {
    const uint8_t* data = nullptr;
    const ssize_t length = nghttp2_session_mem_send(session_, &data);
    if (length < 0) return Close();
    if (length == 0) break;
    send_batch_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  }
  WriteTls(bev_, send_batch_);
  if (send_batch_.capacity() > kOutputHighWater) std::string().swap(send_batch_);
  UpdateIdleTimeout();
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      evbuffer_get_length(output) == 0) {
    Close();
  }
}

void Http2Session::OnRead(bufferevent*, void* self) { Self(self)->ReadInput(); }

void Http2Session::OnWrite(bufferevent*, void* self) { Self(self)->SendNow(); }

void Http2Session::OnSendEvent(evutil_socket_t, short, void* self) { Self(self)->SendNow(); }

void Http2Session::OnEvent(bufferevent*, short what, void* self) {
  Http2Session* session = Self(self);
  if (what & BEV_EVENT_TIMEOUT) {
    spdlog::debug("{}: idle HTTP/2 connection closed", session->peer_);
  }
  session->Close();
}

// ---- nghttp2 callbacks ------------------------------------------------------

int Http2Session::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  Http2Session* session = Self(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const int32_t id = frame->hd.stream_id;
  session->calls_[id] = std::make_unique<GrpcCall>(*session, id, session->worker_.runtime());
  session->UpdateIdleTimeout();
  return 0;
}

int Http2Session::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                           size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                           void* self) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  GrpcCall* call = Self(self)->CallOf(frame->hd.stream_id);
  if (call == nullptr) return 0;
  const bool fits =
      call->AddHeader(std::string_view(reinterpret_cast<const char*>(name), name_length),
                      std::string_view(reinterpret_cast<const char*>(value), value_length),
                      frame->headers.cat != NGHTTP2_HCAT_REQUEST);
  // Over max_header_bytes: nghttp2 resets the stream.
  return fits ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int Http2Session::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  GrpcCall* call = Self(self)->CallOf(frame->hd.stream_id);
  if (call == nullptr) return 0;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    call->OnRequestHeaders();
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end_stream) {
    call->OnRequestEnd();
  }
  return 0;
}

int Http2Session::OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (!end_stream) return 0;
  if (GrpcCall* call = Self(self)->CallOf(frame->hd.stream_id)) call->OnResponseSent();
  return 0;
}

int Http2Session::OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                              size_t length, void* self) {
  Http2Session* session = Self(self);
  if (GrpcCall* call = session->CallOf(stream_id)) {
    call->OnRequestData(data, length);
  } else {
    session->ConsumeRequest(stream_id, length);
  }
  return 0;
}

int Http2Session::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                void* self) {
  Http2Session* session = Self(self);
  const auto it = session->calls_.find(stream_id);
  if (it == session->calls_.end()) return 0;
  it->second->OnStreamClosed(error_code);
  session->calls_.erase(it);
  return 0;
}

ssize_t Http2Session::ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                               uint32_t* flags, nghttp2_data_source*, void* self) {
  GrpcCall* call = Self(self)->CallOf(stream_id);
  if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  return call->ReadResponseBody(buffer, length, flags);
}

}  // namespace tlsproxy::proxy
