#include "proxy/direct_write.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>

namespace tlsproxy::proxy {

void WriteTls(bufferevent* bev, std::string_view bytes) {
  if (bytes.empty()) return;
  size_t sent = 0;
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    SSL* ssl = bufferevent_openssl_get_ssl(bev);
    if (ERR_peek_error() != 0)
      ERR_clear_error();  // clearing an empty queue costs ~700 instructions
    const int length = static_cast<int>(std::min<size_t>(bytes.size(), 1 << 30));
    const int n = SSL_write(ssl, bytes.data(), length);
    if (n > 0) {
      sent = static_cast<size_t>(n);
    } else {
      ERR_clear_error();  // libevent reports the error when it retries
    }
  }
  if (sent < bytes.size()) bufferevent_write(bev, bytes.data() + sent, bytes.size() - sent);
}

void WritePlain(bufferevent* bev, std::string_view bytes) {
  if (bytes.empty()) return;
  size_t sent = 0;
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    const ssize_t n = send(bufferevent_getfd(bev), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) sent = static_cast<size_t>(n);  // an error: libevent reports it when it retries
  }
  if (sent < bytes.size()) bufferevent_write(bev, bytes.data() + sent, bytes.size() - sent);
}

}  // namespace tlsproxy::proxy
