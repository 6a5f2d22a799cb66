// The process: the control loop on the main thread (signals, reload, the
// admin listener) and the workers, one event loop per thread, that serve
// clients.
//
// Create() binds every `listen` address in every worker (and admin_listen)
// before returning, so a port in use is a start-up error, not a surprise
// later. Run() serves until SIGINT or SIGTERM, then drains: workers stop
// accepting, end open watches with a clean end of stream and let other
// requests in flight finish for up to drain_timeout; Run() returns 0 once
// every worker has stopped.
// SIGHUP rebuilds the Runtime from the config file; only a fully valid new
// set replaces the old one, which then serves new connections and the next
// request on kept-alive ones. Requests in flight keep the set they began
// with; an old set is released (its access log closed) when the last of
// them ends. What must outlive a reload is carried into the new set (see
// Runtime::Build). `listen`, `upstream` and `workers` changes need a restart.
// Under systemd (NOTIFY_SOCKET set) Run() sends READY=1 once serving, a
// SIGHUP RELOADING=1 and then READY=1 with the reload's summary as STATUS,
// and SIGTERM/SIGINT STOPPING=1 (see systemd_notify.h).
#pragma once

#include <event2/event.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/admin_server.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {

class Server {
 public:
  // `config_path` is re-read on SIGHUP.
  static std::unique_ptr<Server> Create(std::string config_path,
                                        std::shared_ptr<const Runtime> runtime, std::string* error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int Run();

  // What a reload did, for the log and for systemd's STATUS line.
  struct ReloadResult {
    bool applied = false;
    // "reload applied: PATH", or "reload refused, ...: KEY (line N): why"
    // naming the first problem (and how many more there are).
    std::string summary;
  };
  // Re-reads the config file; keeps the old set if the new one is invalid.
  ReloadResult Reload();

 private:
  explicit Server(std::shared_ptr<const Runtime> runtime) : runtime_(std::move(runtime)) {}
  void StartDrain();

  static void OnStopSignal(evutil_socket_t signal, short, void* self);
  static void OnReloadSignal(evutil_socket_t signal, short, void* self);
  static void OnWorkerStopped(evutil_socket_t, short, void* self);

  std::unique_ptr<event_base, EventBaseDeleter> base_;
  std::string config_path_;
  std::shared_ptr<const Runtime> runtime_;  // the set in force; main thread only
  Metrics metrics_;
  std::unique_ptr<AdminServer> admin_;
  std::vector<std::unique_ptr<event, EventDeleter>> signals_;
  std::unique_ptr<event, EventDeleter> worker_stopped_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> stopped_workers_{0};
  bool draining_ = false;
};

}  // namespace tlsproxy::proxy
