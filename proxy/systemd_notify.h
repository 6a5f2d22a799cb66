// Tells the service manager what the process is doing, with sd_notify(3):
// the readiness protocol of a systemd Type=notify unit.
//
// Each call sends one datagram to $NOTIFY_SOCKET and returns. Without
// NOTIFY_SOCKET in the environment (started by hand, by a test, or by a unit
// of another type) nothing is sent and nothing changes. A failure to send is
// logged, never fatal: the proxy serves whether or not anyone listens.
// `status` becomes the STATUS= line `systemctl status` shows; control bytes
// in it (a newline would end the field) are sent as spaces. Call from the
// control loop, so the messages keep the order of the events.
#pragma once

#include <string>

namespace tlsproxy::proxy::systemd {

// READY=1: start-up is done (every listener is bound), or a reload has
// finished, applied or refused.
void NotifyReady(const std::string& status);

// RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, µs): a reload begins.
// A NotifyReady() must follow once it has finished.
void NotifyReloading(const std::string& status);

// STOPPING=1: draining before exit.
void NotifyStopping(const std::string& status);

}  // namespace tlsproxy::proxy::systemd
