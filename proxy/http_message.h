// The parts of an HTTP/1.x message the proxy keeps, and the pure checks made
// on them before anything is forwarded. No I/O here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acl/ascii.h"
#include "proxy/header_list.h"

namespace tlsproxy::proxy {

// The ASCII helpers live in acl/ (proxy -> acl); header code here uses them.
using acl::EqualsIgnoreCase;
using acl::LowerAscii;

// A request line and its headers, as received (names keep their case).
struct RequestHead {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // request-target exactly as sent
  int http_major = 1;
  int http_minor = 1;
  HeaderList headers;

  // Values of every header named `name` (case-insensitive), in order.
  std::vector<std::string_view> All(std::string_view name) const;
  // The first value of `name`, if any.
  std::optional<std::string_view> First(std::string_view name) const;
};

// A response status line and its headers from the upstream.
struct ResponseHead {
  int status = 0;
  int http_major = 1;
  int http_minor = 1;
  HeaderList headers;
};

// Gathers header names and values as libhttp-parser hands them over, in
// pieces that may split a name or a value anywhere.
class HeaderCollector {
 public:
  // Returns the bytes this piece adds to the head as sent, counting ": " and
  // CRLF once per new header (for the max_header_bytes limit).
  size_t Field(HeaderList& headers, const char* at, size_t length);
  // False when a value arrives before any name (a malformed head).
  bool Value(HeaderList& headers, const char* at, size_t length);
  void Reset() { value_last_ = false; }

 private:
  bool value_last_ = false;
};

// Why a request head must be refused before any ACL decision: ambiguous
// body framing (request smuggling), protocol switches, unsupported versions.
// Returns nullopt when the head is acceptable. The message is a fixed
// literal safe to put in a JSON string.
std::optional<const char*> CheckRequestFraming(const RequestHead& head);

// True for headers that describe one connection rather than the message
// (RFC 9110 section 7.6.1) plus those the proxy sets itself; they are never
// copied from one side to the other. `connection_tokens` are the names listed
// in the message's own Connection header(s), which are hop-by-hop too.
bool IsHopByHop(std::string_view name, const std::vector<std::string>& connection_tokens);

// Lower-cased, trimmed tokens of every Connection header in `headers`.
std::vector<std::string> ConnectionTokens(const HeaderList& headers);

// True when every character may appear in a header name (an RFC 9110
// token). "Content-Length : 8" has a space, which would make the name mean
// one thing to us and another to the next hop: such requests are refused.
bool IsTokenText(std::string_view text);

// Appends "name: value\r\n" to `out`.
void AppendHeader(std::string& out, std::string_view name, std::string_view value);

// The reason phrase for a status code ("OK", "Not Found"), from
// libhttp-parser's table (http_status_str); "<unknown>" for a code it does
// not list.
const char* ReasonPhrase(int status);

}  // namespace tlsproxy::proxy
