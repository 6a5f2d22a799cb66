#include "proxy/access_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "proxy/log_escape.h"

namespace tlsproxy::proxy {

namespace {

// A sink of its own on a FILE of its own: no lock shared with another writer.
using FileSink = spdlog::sinks::basic_file_sink_st;
using StderrSink = spdlog::sinks::stdout_sink_base<spdlog::details::console_nullmutex>;

// Each FILE gets a buffer this large, so that any line (a path is at most
// max_header_bytes, four times that escaped) leaves in a single write(2);
// pages are only touched as far as lines reach.
constexpr size_t kLineBuffer = 1 << 20;

}  // namespace

std::unique_ptr<AccessLog> AccessLog::Open(const std::string& destination, size_t writers,
                                           std::string* error) {
  std::unique_ptr<AccessLog> log(new AccessLog(writers == 0 ? 1 : writers));
  if (destination == "off") return log;
  // A full disk (or a removed file) must not stop the proxy, nor flood its
  // error log: report the first failure, then stay quiet.
  auto reported = std::make_shared<std::atomic<bool>>(false);
  for (size_t i = 0; i < log->writers_; ++i) {
    char* buffer = log->buffers_.emplace_back(new char[kLineBuffer]).get();
    std::shared_ptr<spdlog::sinks::sink> sink;
    try {
      if (destination == "stderr") {
        const int fd = dup(STDERR_FILENO);
        std::FILE* copy = fd < 0 ? nullptr : fdopen(fd, "a");
        if (copy == nullptr) {
          if (fd >= 0) close(fd);
          *error = std::string("cannot duplicate stderr: ") + std::strerror(errno);
          return nullptr;
        }
        log->stderr_copies_.push_back(copy);
        setvbuf(copy, buffer, _IOFBF, kLineBuffer);
        sink = std::make_shared<StderrSink>(copy);
      } else {
        spdlog::file_event_handlers handlers;
        handlers.after_open = [buffer](const spdlog::filename_t&, std::FILE* file) {
          setvbuf(file, buffer, _IOFBF, kLineBuffer);
        };
        sink = std::make_shared<FileSink>(destination, false, handlers);
      }
    } catch (const spdlog::spdlog_ex& e) {
      *error = e.what();
      return nullptr;
    }
    auto logger = std::make_shared<spdlog::logger>("access", std::move(sink));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z access %v");
    logger->set_error_handler([destination, reported](const std::string& message) {
      if (!reported->exchange(true)) {
        spdlog::error("access log {}: {} (further access-log errors are not reported)", destination,
                      message);
      }
    });
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    log->loggers_.push_back(std::move(logger));
  }
  return log;
}

AccessLog::~AccessLog() {
  loggers_.clear();
  for (std::FILE* copy : stderr_copies_) std::fclose(copy);
}

void AccessLog::Write(size_t writer, const AccessRecord& r) {
  if (loggers_.empty()) return;
  // Empty, or " shadow_denied=<status>": the field is left out, not "-",
  // so the lines of an enforcing proxy are as they always were.
  const std::string shadow =
      r.shadow_denied < 0 ? std::string() : " shadow_denied=" + std::to_string(r.shadow_denied);
  if (!r.grpc) {
    loggers_[writer]->info(
        "client={} identity=\"{}\" method={} path=\"{}\" status={} bytes={} ms={:.3f} "
        "rule=\"{}\"{}",
        r.client, LogText(r.identity), r.method, LogText(r.path), r.status, r.bytes, r.milliseconds,
        LogText(r.rule), shadow);
    return;
  }
  loggers_[writer]->info(
      "client={} identity=\"{}\" method={} path=\"{}\" status={} grpc_status={} key=\"{}\" "
      "bytes={} ms={:.3f} rule=\"{}\"{}",
      r.client, LogText(r.identity), r.method, LogText(r.path), r.status,
      r.grpc_status < 0 ? std::string("-") : std::to_string(r.grpc_status), LogText(r.key), r.bytes,
      r.milliseconds, LogText(r.rule), shadow);
}

}  // namespace tlsproxy::proxy
