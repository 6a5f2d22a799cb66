// One line per request, written through spdlog: time, client address,
// identity, method, path (never the query, which can carry values), status,
// response bytes, milliseconds, and the ACL rule that decided. Never a
// password or an Authorization value: the record has no field for them.
// Thread-safe: every worker writes through the same AccessLog.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <string_view>

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
  // `destination` is "stderr", "off" or a file path (appended to).
  // Returns nullptr and sets `error` when the file cannot be opened.
  static std::unique_ptr<AccessLog> Open(const std::string& destination, std::string* error);

  void Write(const AccessRecord& record);

 private:
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  std::shared_ptr<spdlog::logger> logger_;  // null when "off"
};

}  // namespace tlsproxy::proxy
