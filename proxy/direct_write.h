// Writes bytes to a bufferevent's connection, straight to the socket when
// nothing is queued, so a reply costs no write-event arming and disarming
// (two epoll_ctl calls and a loop turn each time); what the socket cannot
// take now goes to libevent's output buffer as usual.
//
// TLS: the bytes go through SSL_write. When it cannot take them all, the
// rest goes to the (empty) output buffer in one piece, so libevent's next
// SSL_write starts with exactly the bytes OpenSSL was last given, as it
// requires after a WANT_WRITE (libevent sets ACCEPT_MOVING_WRITE_BUFFER).
// Plain sockets: send(2) with MSG_NOSIGNAL.
#pragma once

#include <event2/bufferevent.h>

#include <string_view>

namespace tlsproxy::proxy {

void WriteTls(bufferevent* bev, std::string_view bytes);
void WritePlain(bufferevent* bev, std::string_view bytes);

}  // namespace tlsproxy::proxy
