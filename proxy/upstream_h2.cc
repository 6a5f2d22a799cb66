#include "proxy/upstream_h2.h"

#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "proxy/direct_write.h"

namespace tlsproxy::proxy {
namespace {

// Bytes queued on the socket before the session stops producing more.
constexpr size_t kOutputHighWater = 256 << 10;
// The connection-level receive window: large, so that one stalled stream
// (64 KiB window) does not hold back the others on the same connection.
constexpr int32_t kConnectionWindow = 16 << 20;

UpstreamH2Connection* Self(void* self) { return static_cast<UpstreamH2Connection*>(self); }

}  // namespace

UpstreamH2Connection::UpstreamH2Connection(event_base* base, const sockaddr_storage& address,
                                           socklen_t length)
    : base_(base), address_(address), length_(length) {}

UpstreamH2Connection::~UpstreamH2Connection() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  if (bev_ != nullptr) bufferevent_free(bev_);
  if (send_event_ != nullptr) event_free(send_event_);
}

bool UpstreamH2Connection::Start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  const int created = nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    session_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

  send_event_ = event_new(base_, -1, 0, &OnSendEvent, this);
  bev_ = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
  if (send_event_ == nullptr || bev_ == nullptr) return false;
  bufferevent_setcb(bev_, &OnRead, &OnWrite, &OnEvent, this);
  if (bufferevent_socket_connect(bev_, reinterpret_cast<sockaddr*>(&address_),
                                 static_cast<int>(length_)) != 0) {
    return false;
  }
  const evutil_socket_t fd = bufferevent_getfd(bev_);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  return true;
}

bool UpstreamH2Connection::usable() const {
  return !dead_ && session_ != nullptr && nghttp2_session_check_request_allowed(session_) != 0;
}

int32_t UpstreamH2Connection::Submit(const HeaderList& headers, UpstreamStreamOwner* owner) {
  if (!usable()) return -1;
  const std::vector<nghttp2_nv> nva = NameValues(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = &ReadBody;
  const int32_t id =
      nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, nullptr);
  if (id < 0) return -1;
  owners_[id] = owner;
  ScheduleSend();
  return id;
}

void UpstreamH2Connection::ResumeSending(int32_t stream_id) {
  if (dead_) return;
  nghttp2_session_resume_data(session_, stream_id);
  ScheduleSend();
}

void UpstreamH2Connection::Consume(int32_t stream_id, size_t length) {
  if (dead_ || length == 0) return;
  if (nghttp2_session_consume(session_, stream_id, length) != 0) {
    nghttp2_session_consume_connection(session_, length);
  }
  ScheduleSend();
}

void UpstreamH2Connection::Reset(int32_t stream_id, uint32_t error_code) {
  if (owners_.erase(stream_id) == 0 || dead_) return;
  incoming_.erase(stream_id);
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  ScheduleSend();
}

UpstreamStreamOwner* UpstreamH2Connection::OwnerOf(int32_t stream_id) const {
  const auto it = owners_.find(stream_id);
  return it == owners_.end() ? nullptr : it->second;
}

// ---- Sending --------------------------------------------------------------

void UpstreamH2Connection::ScheduleSend() {
  if (!dead_ && send_event_ != nullptr) event_active(send_event_, EV_TIMEOUT, 0);
}

void UpstreamH2Connection::SendNow() {
  if (dead_ || !connected_) return;
  evbuffer* output = bufferevent_get_output(bev_);
  send_batch_.clear();
  while (evbuffer_get_length(output) + send_batch_.size() < kOutputHighWater &&
         nghttp2_session_want_write(session_)) {
    const uint8_t* data = nullptr;
    const ssize_t length = nghttp2_session_mem_send(session_, &data);
    if (length < 0) return Fail(nghttp2_strerror(static_cast<int>(length)));
    if (length == 0) break;
    send_batch_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  }
  WritePlain(bev_, send_batch_);
  if (send_batch_.capacity() > kOutputHighWater) std::string().swap(send_batch_);
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      evbuffer_get_length(output) == 0) {
    Fail("etcd ended the HTTP/2 connection");
  }
}

void UpstreamH2Connection::Fail(const std::string& why) {
  if (dead_) return;
  dead_ = true;
  if (!owners_.empty()) spdlog::warn("upstream HTTP/2 connection to etcd failed: {}", why);
  std::map<int32_t, UpstreamStreamOwner*> owners;
  owners.swap(owners_);
  incoming_.clear();
  bufferevent_free(bev_);  // closes the socket now; the session goes with the pool's reap
  bev_ = nullptr;
  for (const auto& [id, owner] : owners) owner->OnUpstreamClose(0, why);
}

// ---- Socket events ----------------------------------------------------------

void UpstreamH2Connection::OnRead(bufferevent* bev, void* self) {
  UpstreamH2Connection* connection = Self(self);
  evbuffer* input = bufferevent_get_input(bev);
  while (!connection->dead_ && evbuffer_get_length(input) > 0) {
    evbuffer_iovec chunk;
    evbuffer_peek(input, -1, nullptr, &chunk, 1);
    const ssize_t used = nghttp2_session_mem_recv(
        connection->session_, static_cast<const uint8_t*>(chunk.iov_base), chunk.iov_len);
    if (used < 0) return connection->Fail(nghttp2_strerror(static_cast<int>(used)));
    evbuffer_drain(input, static_cast<size_t>(used));
  }
  connection->SendNow();
}

void UpstreamH2Connection::OnWrite(bufferevent*, void* self) { Self(self)->SendNow(); }

void UpstreamH2Connection::OnEvent(bufferevent*, short what, void* self) {
  UpstreamH2Connection* connection = Self(self);
  if (what & BEV_EVENT_CONNECTED) {
    connection->connected_ = true;
    return connection->SendNow();
  }
  if (what & BEV_EVENT_EOF) return connection->Fail("etcd closed the connection");
  if (what & BEV_EVENT_ERROR) {
    return connection->Fail(connection->connected_
                                ? std::string("connection lost: ") +
                                      evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                : std::string("cannot connect: ") +
                                      evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  }
}

void UpstreamH2Connection::OnSendEvent(evutil_socket_t, short, void* self) {
  Self(self)->SendNow();
}

// ---- nghttp2 callbacks ------------------------------------------------------

int UpstreamH2Connection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  if (frame->hd.type == NGHTTP2_HEADERS) Self(self)->incoming_[frame->hd.stream_id].clear();
  return 0;
}

int UpstreamH2Connection::OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                                   const uint8_t* name, size_t name_length, const uint8_t* value,
                                   size_t value_length, uint8_t, void* self) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  const auto it = Self(self)->incoming_.find(frame->hd.stream_id);
  if (it == Self(self)->incoming_.end()) return 0;
  it->second.emplace_back(std::string(reinterpret_cast<const char*>(name), name_length),
                          std::string(reinterpret_cast<const char*>(value), value_length));
  return 0;
}

int UpstreamH2Connection::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  UpstreamH2Connection* connection = Self(self);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  const int32_t id = frame->hd.stream_id;
  const auto it = connection->incoming_.find(id);
  if (it == connection->incoming_.end()) return 0;
  HeaderList headers = std::move(it->second);
  connection->incoming_.erase(it);
  if (UpstreamStreamOwner* owner = connection->OwnerOf(id)) {
    const bool trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS;
    owner->OnUpstreamHeaders(headers, trailers, (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
  }
  return 0;
}

int UpstreamH2Connection::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                                      const uint8_t* data, size_t length, void* self) {
  if (UpstreamStreamOwner* owner = Self(self)->OwnerOf(stream_id)) {
    owner->OnUpstreamData(data, length);
  } else {
    nghttp2_session_consume(session, stream_id, length);  // nobody will read it
  }
  return 0;
}

int UpstreamH2Connection::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                        void* self) {
  UpstreamH2Connection* connection = Self(self);
  connection->incoming_.erase(stream_id);
  const auto it = connection->owners_.find(stream_id);
  if (it == connection->owners_.end()) return 0;
  UpstreamStreamOwner* owner = it->second;
  connection->owners_.erase(it);
  owner->OnUpstreamClose(error_code, "");
  return 0;
}

ssize_t UpstreamH2Connection::ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buffer,
                                       size_t length, uint32_t* flags, nghttp2_data_source*,
                                       void* self) {
  UpstreamStreamOwner* owner = Self(self)->OwnerOf(stream_id);
  if (owner == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  bool eof = false;
  const size_t copied = owner->ReadRequestBody(buffer, length, &eof);
  if (eof) *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (copied == 0 && !eof) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(copied);
}

// ---- The pool -----------------------------------------------------------------

UpstreamH2Pool::UpstreamH2Pool(event_base* base, const sockaddr_storage& address, socklen_t length)
    : base_(base), address_(address), length_(length) {
  reap_event_ = event_new(base_, -1, 0, &OnReap, this);
}

UpstreamH2Pool::~UpstreamH2Pool() {
  connections_.clear();
  if (reap_event_ != nullptr) event_free(reap_event_);
}

UpstreamStreamHandle UpstreamH2Pool::Open(const HeaderList& headers, UpstreamStreamOwner* owner) {
  if (reap_event_ != nullptr) event_active(reap_event_, EV_TIMEOUT, 0);
  UpstreamH2Connection* best = nullptr;
  for (const auto& connection : connections_) {
    if (!connection->usable()) continue;
    if (best == nullptr || connection->open_streams() < best->open_streams()) {
      best = connection.get();
    }
  }
  const size_t live = static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                                        [](const auto& c) { return !c->dead(); }));
  if (best == nullptr ||
      (best->open_streams() >= kStreamsPerConnection && live < kMaxConnections)) {
    auto fresh = std::make_unique<UpstreamH2Connection>(base_, address_, length_);
    if (fresh->Start()) {
      best = fresh.get();
      connections_.push_back(std::move(fresh));
    }
  }
  if (best == nullptr) return {};
  const int32_t id = best->Submit(headers, owner);
  if (id < 0) return {};
  return UpstreamStreamHandle{best, id};
}

void UpstreamH2Pool::Reap() {
  std::erase_if(connections_, [](const auto& c) { return c->dead() && c->open_streams() == 0; });
}

void UpstreamH2Pool::OnReap(evutil_socket_t, short, void* self) {
  static_cast<UpstreamH2Pool*>(self)->Reap();
}

}  // namespace tlsproxy::proxy
