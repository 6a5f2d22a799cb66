#include "proxy/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <cstring>

namespace tlsproxy::proxy::systemd {
namespace {

// One line: a newline would end STATUS= and start a field of the caller's choosing.
std::string OneLine(std::string text) {
  for (char& c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  return text;
}

void Send(const std::string& state) {
  const int sent = sd_notify(0, state.c_str());
  if (sent < 0) spdlog::warn("sd_notify: {}", std::strerror(-sent));
}

uint64_t MonotonicMicroseconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
}

}  // namespace

void NotifyReady(const std::string& status) { Send("READY=1\nSTATUS=" + OneLine(status)); }

void NotifyReloading(const std::string& status) {
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMicroseconds()) +
       "\nSTATUS=" + OneLine(status));
}

void NotifyStopping(const std::string& status) { Send("STOPPING=1\nSTATUS=" + OneLine(status)); }

}  // namespace tlsproxy::proxy::systemd
