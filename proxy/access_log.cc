#include "proxy/access_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "proxy/log_escape.h"

namespace tlsproxy::proxy {

std::unique_ptr<AccessLog> AccessLog::Open(const std::string& destination, std::string* error) {
  std::shared_ptr<spdlog::logger> logger;
  if (destination == "off") return std::unique_ptr<AccessLog>(new AccessLog(nullptr));
  try {
    if (destination == "stderr") {
      logger = std::make_shared<spdlog::logger>("access",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(destination));
    }
  } catch (const spdlog::spdlog_ex& e) {
    *error = e.what();
    return nullptr;
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z access %v");
  // A full disk (or a removed file) must not stop the proxy, nor flood its
  // error log: report the first failure, then stay quiet.
  auto reported = std::make_shared<std::atomic<bool>>(false);
  logger->set_error_handler([destination, reported](const std::string& message) {
    if (!reported->exchange(true)) {
      spdlog::error("access log {}: {} (further access-log errors are not reported)", destination,
                    message);
    }
  });
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  return std::unique_ptr<AccessLog>(new AccessLog(std::move(logger)));
}

void AccessLog::Write(const AccessRecord& r) {
  if (!logger_) return;
  logger_->info(
      "client={} identity=\"{}\" method={} path=\"{}\" status={} bytes={} ms={:.3f} rule=\"{}\"",
      r.client, LogText(r.identity), r.method, LogText(r.path), r.status, r.bytes, r.milliseconds,
      LogText(r.rule));
}

}  // namespace tlsproxy::proxy
