#include "proxy/server.h"

#include <event2/thread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "proxy/systemd_notify.h"

namespace tlsproxy::proxy {

std::unique_ptr<Server> Server::Create(std::string config_path,
                                       std::shared_ptr<const Runtime> runtime, std::string* error) {
  evthread_use_pthreads();  // workers wake the control loop when they stop
  const config::Config& config = *runtime->config;
  std::unique_ptr<Server> server(new Server(runtime));
  server->config_path_ = std::move(config_path);
  server->base_.reset(event_base_new());
  if (!server->base_) {
    *error = "cannot create event loop";
    return nullptr;
  }
  // Before anything binds: a client (or logrotate) that sees the port open
  // may signal at once, and SIGHUP's default action would end the process.
  // libevent holds a signal until Run() dispatches it.
  for (int signal_number : {SIGINT, SIGTERM}) {
    event* ev =
        evsignal_new(server->base_.get(), signal_number, &Server::OnStopSignal, server.get());
    event_add(ev, nullptr);
    server->signals_.emplace_back(ev);
  }
  event* hup = evsignal_new(server->base_.get(), SIGHUP, &Server::OnReloadSignal, server.get());
  event_add(hup, nullptr);
  server->signals_.emplace_back(hup);
  server->metrics_.SetCertificateExpiry(runtime->tls->NotAfter());
  server->worker_stopped_.reset(
      event_new(server->base_.get(), -1, 0, &Server::OnWorkerStopped, server.get()));
  event* stopped = server->worker_stopped_.get();
  for (size_t i = 0; i < WorkerCount(config); ++i) {
    auto worker = Worker::Create(
        static_cast<int>(i), runtime, server->metrics_,
        [stopped, count = &server->stopped_workers_] {
          ++*count;
          event_active(stopped, EV_TIMEOUT, 0);
        },
        error);
    if (!worker) return nullptr;
    server->workers_.push_back(std::move(worker));
  }
  if (config.admin_listen) {
    server->admin_ = AdminServer::Create(server->base_.get(), *config.admin_listen, config.upstream,
                                         server->metrics_, error);
    if (!server->admin_) return nullptr;
    spdlog::info("admin listener on {}", config.admin_listen->text);
  }
  return server;
}

Server::~Server() {
  for (auto& worker : workers_) worker->RequestDrain(0);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  workers_.clear();
  admin_.reset();
  signals_.clear();
  worker_stopped_.reset();
}

int Server::Run() {
  spdlog::info("forwarding to {} with {} worker(s)", runtime_->config->upstream.text,
               workers_.size());
  if (const std::string shadow = ShadowModeWarning(*runtime_->config); !shadow.empty()) {
    spdlog::warn("{}", shadow);
  }
  for (auto& worker : workers_) {
    threads_.emplace_back([w = worker.get()] { w->Run(); });
  }
  if (admin_) admin_->SetReady(true);
  systemd::NotifyReady("serving, forwarding to " + runtime_->config->upstream.text);
  event_base_dispatch(base_.get());
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  spdlog::info("stopped");
  return 0;
}

Server::ReloadResult Server::Reload() {
  Runtime::Result built = Runtime::Build(config_path_, runtime_.get());
  if (!built.runtime) {
    const std::string refused = "reload refused, old configuration stays in force: " + config_path_;
    for (const auto& problem : built.errors) {
      spdlog::error("{}: {}", refused, problem.ToString());
    }
    metrics_.CountReload(false);
    std::string summary = refused;
    if (!built.errors.empty()) summary += ": " + built.errors.front().ToString();
    if (built.errors.size() > 1) {
      summary += " (and " + std::to_string(built.errors.size() - 1) + " more in the log)";
    }
    return ReloadResult{false, summary};
  }
  const config::Config& old_config = *runtime_->config;
  const config::Config& new_config = *built.runtime->config;
  if (new_config.upstream.text != old_config.upstream.text ||
      new_config.workers != old_config.workers) {
    spdlog::warn("reload: upstream and workers changes take effect at the next restart");
  }
  if (!built.runtime->tls->SharesSessionsWith(*runtime_->tls)) {
    spdlog::info(
        "reload: client certificate verification changed (tls.client_ca, tls.crl or "
        "tls.require_client_cert): TLS sessions from before the reload need a full handshake");
  }
  // Read before the swap: old_config may go with the old runtime.
  const bool was_shadow = old_config.shadow;
  const std::string shadow = ShadowModeWarning(new_config);
  spdlog::default_logger()->set_level(spdlog::level::from_str(new_config.log.level));
  metrics_.SetCertificateExpiry(built.runtime->tls->NotAfter());
  runtime_ = std::move(built.runtime);
  for (auto& worker : workers_) worker->SetRuntime(runtime_);
  metrics_.CountReload(true);
  spdlog::info("reloaded {}", config_path_);
  if (!shadow.empty()) {
    spdlog::warn("{}", shadow);
  } else if (was_shadow) {
    spdlog::warn("reload: shadow mode is off: the ACL refuses again");
  }
  return ReloadResult{true, "reload applied: " + config_path_};
}

void Server::StartDrain() {
  if (draining_) return;
  draining_ = true;
  if (admin_) admin_->SetReady(false);
  const size_t seconds = runtime_->config->drain_timeout_seconds;
  spdlog::info("draining for up to {} s", seconds);
  systemd::NotifyStopping("draining for up to " + std::to_string(seconds) + " s");
  for (auto& worker : workers_) worker->RequestDrain(seconds);
}

void Server::OnWorkerStopped(evutil_socket_t, short, void* self) {
  auto* server = static_cast<Server*>(self);
  // event_active may coalesce several workers' wake-ups into one call: count.
  if (server->stopped_workers_ == server->workers_.size()) {
    event_base_loopexit(server->base_.get(), nullptr);
  }
}

void Server::OnStopSignal(evutil_socket_t signal_number, short, void* self) {
  spdlog::info("received signal {}, shutting down", static_cast<int>(signal_number));
  static_cast<Server*>(self)->StartDrain();
}

void Server::OnReloadSignal(evutil_socket_t, short, void* self) {
  spdlog::info("received SIGHUP, reloading");
  auto* server = static_cast<Server*>(self);
  // While draining systemd has been told STOPPING=1; a READY=1 would contradict it.
  if (!server->draining_) systemd::NotifyReloading("reloading " + server->config_path_);
  const ReloadResult result = server->Reload();
  if (!server->draining_) systemd::NotifyReady(result.summary);
}

}  // namespace tlsproxy::proxy
