// Fuzzes the request path through the HTTP layer without sockets: raw bytes
// -> libhttp-parser with callbacks that collect a RequestHead and body the
// way proxy/http1_request_reader.cc does (the thin glue is repeated here;
// keep the two in step) -> CheckRequestFraming at
// the end of the head -> per complete request ParseRequestTarget,
// ReachesSubtree, ParseBasicAuth, ParseV3Request and the ACL decision.
//
// Pipelined requests are followed as the proxy follows them (one at a time,
// parser paused after each). The input is parsed twice, in one piece and one
// byte at a time, and both must yield the same requests: what the proxy
// decides cannot depend on how TCP split the bytes.
//
// Invariants on every request that passes the framing check: its header list
// is the one the framing check saw (trailers do not join it), no CR or LF in
// a header name or value (they are copied into the upstream request), HTTP/1.0
// or 1.1 only, at most one Content-Length and never with Transfer-Encoding,
// a Content-Length body is exactly that long, and the parser never stalls.
#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acl/acl.h"
#include "acl/basic_auth.h"
#include "acl/request_target.h"
#include "acl/v3_request.h"
#include "proxy/http_message.h"
#include "tests/fuzz/fuzz_support.h"

namespace tlsproxy::fuzz {
namespace {

// Small limits so the fuzzer reaches the refusals; the proxy's are config.
constexpr size_t kMaxHeaderBytes = 2048;
constexpr size_t kMaxBodyBytes = 4096;

enum class Refusal { kNone, kHeadersTooLarge, kUriTooLong, kBadFraming, kBodyTooLarge };

// What one request turned into: the parsed message, or why it was refused.
struct Outcome {
  proxy::RequestHead head;
  proxy::HeaderList checked_headers;  // head.headers when the framing check ran
  std::string body;
  Refusal refusal = Refusal::kNone;
  int parser_errno = HPE_OK;
  bool keep_alive = false;
  bool Accepted() const { return refusal == Refusal::kNone && parser_errno == HPE_OK; }
  bool operator==(const Outcome& o) const {
    return head.method == o.head.method && head.target == o.head.target &&
           head.http_major == o.head.http_major && head.http_minor == o.head.http_minor &&
           head.headers == o.head.headers && body == o.body && refusal == o.refusal &&
           parser_errno == o.parser_errno && keep_alive == o.keep_alive;
  }
};

// The per-request state Http1RequestReader keeps while parsing.
struct Reader {
  Outcome current;
  size_t head_bytes = 0;
  size_t url_bytes = 0;
  proxy::HeaderCollector collector;
  bool head_complete = false;
  bool message_complete = false;

  void Reset() { *this = Reader(); }

  bool CountHeadBytes(size_t length) {
    head_bytes += length;
    if (head_bytes <= kMaxHeaderBytes) return true;
    current.refusal = Refusal::kHeadersTooLarge;
    return false;
  }
};

Reader* Self(http_parser* parser) { return static_cast<Reader*>(parser->data); }

int OnUrl(http_parser* parser, const char* at, size_t length) {
  Reader* self = Self(parser);
  self->url_bytes += length;
  self->current.head.target.append(at, length);
  if (self->url_bytes > kMaxHeaderBytes) {
    self->current.refusal = Refusal::kUriTooLong;
    return 1;
  }
  return self->CountHeadBytes(length) ? 0 : 1;
}

int OnHeaderField(http_parser* parser, const char* at, size_t length) {
  Reader* self = Self(parser);
  // As Http1RequestReader::OnHeaderField: no trailers, names must be tokens.
  if (self->head_complete || !proxy::IsTokenText(std::string_view(at, length))) {
    self->current.refusal = Refusal::kBadFraming;
    return 1;
  }
  return self->CountHeadBytes(self->collector.Field(self->current.head.headers, at, length)) ? 0
                                                                                             : 1;
}

int OnHeaderValue(http_parser* parser, const char* at, size_t length) {
  Reader* self = Self(parser);
  if (self->head_complete || !self->collector.Value(self->current.head.headers, at, length)) {
    return 1;
  }
  return self->CountHeadBytes(length) ? 0 : 1;
}

int OnHeadersComplete(http_parser* parser) {
  Reader* self = Self(parser);
  self->head_complete = true;
  proxy::RequestHead& head = self->current.head;
  head.method = http_method_str(static_cast<http_method>(parser->method));
  head.http_major = parser->http_major;
  head.http_minor = parser->http_minor;
  self->current.keep_alive = http_should_keep_alive(parser) != 0;
  self->current.checked_headers = head.headers;
  if (proxy::CheckRequestFraming(head)) {
    self->current.refusal = Refusal::kBadFraming;
    return 3;
  }
  if (head.First("content-length") && parser->content_length > kMaxBodyBytes) {
    self->current.refusal = Refusal::kBodyTooLarge;
    return 3;
  }
  return 0;
}

int OnBody(http_parser* parser, const char* at, size_t length) {
  Reader* self = Self(parser);
  if (self->current.body.size() + length > kMaxBodyBytes) {
    self->current.refusal = Refusal::kBodyTooLarge;
    return 1;
  }
  self->current.body.append(at, length);
  return 0;
}

int OnMessageComplete(http_parser* parser) {
  Self(parser)->message_complete = true;
  http_parser_pause(parser, 1);
  return 0;
}

const http_parser_settings kSettings = [] {
  http_parser_settings s{};
  s.on_url = &OnUrl;
  s.on_header_field = &OnHeaderField;
  s.on_header_value = &OnHeaderValue;
  s.on_headers_complete = &OnHeadersComplete;
  s.on_body = &OnBody;
  s.on_message_complete = &OnMessageComplete;
  return s;
}();

// Parses `input` handed over `piece` bytes at a time, as Http1Session's
// ParseInput() loop does. Stops after a refusal or a non-keep-alive request.
std::vector<Outcome> ParseAll(std::string_view input, size_t piece) {
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  Reader reader;
  parser.data = &reader;
  std::vector<Outcome> outcomes;
  size_t pos = 0;
  while (pos < input.size()) {
    const size_t length = std::min(piece, input.size() - pos);
    const size_t parsed = http_parser_execute(&parser, &kSettings, input.data() + pos, length);
    pos += parsed;
    if (reader.message_complete) {
      outcomes.push_back(reader.current);
      if (!reader.current.keep_alive) break;
      reader.Reset();
      http_parser_pause(&parser, 0);
      continue;
    }
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      reader.current.parser_errno = HTTP_PARSER_ERRNO(&parser);
      outcomes.push_back(reader.current);
      break;
    }
    // The proxy's read loop would spin forever on a parser that takes nothing.
    FUZZ_CHECK(parsed == length, "parser stalled at byte " + std::to_string(pos));
  }
  return outcomes;
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// "METHOD target HTTP/x.y | name: value | ..." for invariant messages.
std::string HeadText(const proxy::RequestHead& head) {
  std::string text = head.method + " " + head.target + " HTTP/" + std::to_string(head.http_major) +
                     "." + std::to_string(head.http_minor);
  for (const auto& [name, value] : head.headers) text += " | " + name + ": " + value;
  return text;
}

void CheckAccepted(const Outcome& o) {
  const proxy::RequestHead& head = o.head;
  const std::string text = HeadText(head);
  // What was checked is what is decided and forwarded: nothing (such as a
  // chunked body's trailer fields, which libhttp-parser reports through the
  // same header callbacks) may join the head after the framing check.
  FUZZ_CHECK(head.headers == o.checked_headers, "fields added after the head: " + text);
  FUZZ_CHECK(head.http_major == 1 && head.http_minor <= 1, head.target);
  FUZZ_CHECK(head.method != "<unknown>" && !head.method.empty(), head.method);
  FUZZ_CHECK(head.method != "CONNECT", head.target);
  FUZZ_CHECK(!HasLineBreak(head.target) && head.target.find(' ') == std::string::npos, head.target);
  for (const auto& [name, value] : head.headers) {
    // A field name is an RFC 9110 token: the framing checks match names
    // exactly, so "Content-Length " (which libhttp-parser honours as
    // Content-Length) must never get this far (RFC 9112 5.1: reject).
    FUZZ_CHECK(!name.empty(), name);
    for (char c : name) FUZZ_CHECK(IsTokenChar(c), "header name '" + name + "'");
    FUZZ_CHECK(!HasLineBreak(value), name + ": " + value);
  }
  const auto lengths = head.All("content-length");
  const auto encodings = head.All("transfer-encoding");
  FUZZ_CHECK(lengths.size() <= 1, text);
  FUZZ_CHECK(lengths.empty() || encodings.empty(), text);
  FUZZ_CHECK(head.All("upgrade").empty(), text);
  if (lengths.size() == 1) {
    const std::string_view digits = lengths[0];
    size_t value = 0;
    bool numeric = !digits.empty();
    for (char c : digits) {
      if (c < '0' || c > '9') {
        numeric = false;
        break;
      }
      value = value * 10 + static_cast<size_t>(c - '0');
      if (value > kMaxBodyBytes) break;
    }
    // A Content-Length the parser accepted frames the body exactly.
    if (numeric) FUZZ_CHECK(o.body.size() == value, std::string(digits));
  }
  if (encodings.empty() && lengths.empty()) FUZZ_CHECK(o.body.empty(), head.target);
}

// What Http1Session::HandleRequest does with an accepted request, up to
// the decision; checks only that the pieces agree with each other.
void Decide(const Outcome& o) {
  const acl::TargetResult parsed = acl::ParseRequestTarget(o.head.target);
  if (!parsed.target) return;
  const acl::RequestTarget& target = *parsed.target;
  const acl::TargetResult again = acl::ParseRequestTarget(target.forward_target);
  FUZZ_CHECK(again.target && again.target->path == target.path, target.forward_target);

  acl::Identity identity;
  const auto authorization = o.head.All("authorization");
  if (authorization.size() == 1) {
    if (auto credentials = acl::ParseBasicAuth(authorization[0])) {
      FUZZ_CHECK(credentials->user.find(':') == std::string::npos, credentials->user);
      identity.basic_user = credentials->user;  // as if the password verified
    }
  }
  const AclVariant& variant = AclVariants()[1];  // public_reads, read_only off
  if (acl::V3Endpoint(target.path)) {
    const acl::V3ParseResult v3 = acl::ParseV3Request(target.path, o.body);
    if (v3.request) variant.acl->DecideV3(identity, *v3.request);
    return;
  }
  acl::AclRequest request;
  request.identity = identity;
  request.method = o.head.method;
  request.target = target;
  request.reaches_subtree = acl::ReachesSubtree(
      target.query, o.body, o.head.First("content-type").value_or(std::string_view()));
  const acl::Decision decision = variant.acl->Decide(request);
  FUZZ_CHECK(!decision.rule.empty(), target.path);
}

}  // namespace
}  // namespace tlsproxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy::fuzz;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<Outcome> whole = ParseAll(input, input.size());
  const std::vector<Outcome> bytewise = ParseAll(input, 1);
  FUZZ_CHECK(whole.size() == bytewise.size(),
             "request count depends on how bytes arrive: " + std::to_string(whole.size()) + " vs " +
                 std::to_string(bytewise.size()));
  for (size_t i = 0; i < whole.size(); ++i) {
    // A refused request may have collected more or less before the error,
    // depending on where the callbacks fired; only the refusal must agree.
    const std::string what = "request " + std::to_string(i) +
                             " depends on how bytes arrive: " + whole[i].head.target + " vs " +
                             bytewise[i].head.target;
    FUZZ_CHECK(whole[i].Accepted() == bytewise[i].Accepted(), what);
    if (!whole[i].Accepted()) continue;
    FUZZ_CHECK(whole[i] == bytewise[i], what);
    CheckAccepted(whole[i]);
    Decide(whole[i]);
  }
  return 0;
}
