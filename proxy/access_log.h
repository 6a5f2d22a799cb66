// One line per request, written through spdlog: time, client address,
// identity, method, path (never the query, which can carry values), status,
// response bytes, milliseconds, and the ACL rule that decided. Never a
// password or an Authorization value: the record has no field for them.
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
