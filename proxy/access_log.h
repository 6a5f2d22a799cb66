// One line per request, written through spdlog (wrapped here):
//   2026-01-02T03:04:05.678+00:00 access client=127.0.0.1:53422
//   identity="basic:conftool" method=PUT path="/v2/keys/conftool/a"
//   status=201 bytes=107 ms=1.477 rule="/conftool"
// A gRPC call's line has method=GRPC (WATCH for each Watch create decided),
// the :path as path, and two more fields after status: grpc_status= and
// key="..." (the first key the call decided on, escaped like path).
// Under `enforce: shadow`, a request the ACL would have refused, and
// forwarded anyway, ends with shadow_denied=<would-be status> (the HTTP
// status; for a gRPC line the grpc-status); rule then names the rule that
// would have refused it.
// Fields in that order, `name=value`, one space apart. identity, path and
// rule carry bytes from clients (user names, certificate CNs, the decoded
// path) or from the config: they are always quoted and escaped with
// EscapeForLog() (proxy/log_escape.h), so inside the quotes every byte
// outside printable ASCII, and '"' and '\', is \xHH. Each request is then
// exactly one line of printable ASCII whose fields parse back to exactly
// the bytes they stand for. The other fields never carry client bytes:
// client is the peer address as inet_ntop prints it, method is one of
// libhttp-parser's method names (or "-"), the rest are numbers. identity is
// "-" when there is none, path "-" when the target was refused, rule "-"
// when no rule decided. Never the query (it can carry values), a password
// or an Authorization value: the record has no field for them.
//
// One writer per worker, each with its own spdlog logger, sink and FILE
// (the file opened in append mode, or a duplicate of stderr), so workers
// never take a shared lock to log. Each line is written and flushed with
// one write(2) on an O_APPEND descriptor, so lines from different workers
// do not interleave. Writer i is used only by worker i's thread.
#pragma once

#include <spdlog/logger.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace tlsproxy::proxy {

// Views into the connection's state, valid for the Write() call only.
struct AccessRecord {
  std::string_view client;    // "127.0.0.1:53422"
  std::string_view identity;  // acl::Identity::ToString()
  std::string_view method;
  std::string_view path;  // canonical path, or "-" when the target was refused
  int status = 0;
  size_t bytes = 0;  // body bytes sent to the client
  double milliseconds = 0;
  std::string_view rule;  // deciding ACL rule, or "-"
  // gRPC calls only (method GRPC, or WATCH for one Watch create): the call's
  // grpc-status (-1: none, the stream was reset; logged as "-") and the
  // first key decided on.
  bool grpc = false;
  int grpc_status = -1;
  std::string_view key;
  // Shadow mode: the status the ACL would have refused with (HTTP status,
  // or the grpc-status for a gRPC line), logged last as shadow_denied=;
  // -1 (the field left out) when the ACL allowed or refused for real.
  int shadow_denied = -1;
};

class AccessLog {
 public:
  // `destination` is "stderr", "off" or a file path (appended to), with
  // `writers` writers (at least one). Returns nullptr and sets `error` when
  // the file cannot be opened.
  static std::unique_ptr<AccessLog> Open(const std::string& destination, size_t writers,
                                         std::string* error);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  size_t writers() const { return writers_; }
  // `writer` < writers(); only one thread may use a given writer.
  void Write(size_t writer, const AccessRecord& record);

 private:
  explicit AccessLog(size_t writers) : writers_(writers) {}
  size_t writers_;
  std::vector<std::unique_ptr<char[]>> buffers_;          // the FILEs' buffers: must outlive them
  std::vector<std::shared_ptr<spdlog::logger>> loggers_;  // empty when "off"
  std::vector<std::FILE*> stderr_copies_;                 // closed by the destructor
};

}  // namespace tlsproxy::proxy
