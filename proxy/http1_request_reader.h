// Reads the HTTP/1.1 requests of one connection, one at a time, with
// libhttp-parser, and stops at the first byte of anything that must not
// reach the ACL: framing that could smuggle a second request or upgrade the
// protocol (CheckRequestFraming), a target over max_header_bytes (414), a
// head over it (431), a declared or actual body over max_body_bytes (413),
// trailer fields, header names that are not tokens, and whatever
// libhttp-parser cannot parse (400).
//
// It knows no socket: the session hands it the bytes it read (Parse) and
// sends the interim "100 Continue" it asks for. After a complete request
// the parser is paused, so pipelined bytes stay with the caller until
// Reset() starts the next request.
//
// Not copyable or movable (libhttp-parser points back at it).
#pragma once

#include <http_parser.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "proxy/error_response.h"
#include "proxy/http_message.h"

namespace tlsproxy::proxy {

class Http1RequestReader {
 public:
  struct Limits {
    size_t max_header_bytes = 0;  // the target alone, and the whole head
    size_t max_body_bytes = 0;
  };
  // Why a request was not read: the refusal to send, then close.
  struct Error {
    ProxyError error;
    const char* message;  // a fixed literal (ErrorResponse's rule)
  };

  // `send_continue` runs from inside Parse(), when a request's head asked
  // for "Expect: 100-continue" and passed every check.
  explicit Http1RequestReader(std::function<void()> send_continue);
  Http1RequestReader(const Http1RequestReader&) = delete;
  Http1RequestReader& operator=(const Http1RequestReader&) = delete;

  // Ready for the next request: the last one's head and body are dropped.
  void Reset();

  // Parses bytes of the request being read, under `limits`, and returns how
  // many it used: all of them, unless the request completed or failed.
  size_t Parse(const char* data, size_t length, const Limits& limits);

  bool complete() const { return message_complete_; }
  // Why parsing stopped, or nullopt while it has not.
  std::optional<Error> error() const;
  // Between a request's first byte and its end.
  bool reading() const { return reading_message_; }
  // Bytes of the head read so far; 0 before a request's first byte.
  size_t head_bytes() const { return head_bytes_; }
  // When the current (or last) request's first byte was read.
  std::chrono::steady_clock::time_point started() const { return started_; }

  // The request read; complete once complete().
  const RequestHead& head() const { return head_; }
  const std::string& body() const { return body_; }
  // Whether the client allows another request on the connection after it.
  bool keep_alive() const { return keep_alive_; }

 private:
  static Http1RequestReader* Self(http_parser* parser);
  bool Fail(ProxyError error, const char* message);  // returns false
  bool CountHeadBytes(size_t length);

  // libhttp-parser callbacks.
  static int OnMessageBegin(http_parser* parser);
  static int OnUrl(http_parser* parser, const char* at, size_t length);
  static int OnHeaderField(http_parser* parser, const char* at, size_t length);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t length);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBody(http_parser* parser, const char* at, size_t length);
  static int OnMessageComplete(http_parser* parser);
  static const http_parser_settings kSettings;

  std::function<void()> send_continue_;
  const Limits* limits_ = nullptr;  // during Parse()
  http_parser parser_;
  RequestHead head_;
  std::string body_;
  size_t head_bytes_ = 0;
  size_t url_bytes_ = 0;
  HeaderCollector headers_;
  std::chrono::steady_clock::time_point started_;
  bool message_complete_ = false;
  bool reading_message_ = false;  // between a request's first byte and its end
  bool head_complete_ = false;    // headers done; any further field is a trailer
  bool keep_alive_ = true;
  std::optional<ProxyError> parse_error_;
  const char* parse_error_message_ = "";
};

}  // namespace tlsproxy::proxy
