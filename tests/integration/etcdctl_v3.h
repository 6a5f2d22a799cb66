// etcdctl v3 (ETCDCTL_API=3: gRPC over HTTP/2) through the proxy, run as an
// operator runs it, identified by a client certificate of
// TestCertificates() or by nothing; and etcd's v3 JSON gateway asked
// directly, to set up history and check what etcd holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {

// What etcdctl prints when the proxy answers grpc-status 7 (PermissionDenied).
inline constexpr char kPermissionDenied[] = "Error: etcdserver: permission denied";

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The argv of etcdctl against the proxy at `port`, as certificate `who`
// ("" for none), with a 5 s dial and a 10 s command timeout.
std::vector<std::string> EtcdctlArgv(uint16_t port, const std::string& who,
                                     const std::vector<std::string>& command);

// Runs etcdctl (EtcdctlArgv) to completion, at most `timeout`.
CommandResult Etcdctl(uint16_t port, const std::string& who,
                      const std::vector<std::string>& command,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

// `watch KEY --rev=REVISION` (plus `flags`) for 6 s: a watch never ends by
// itself, so RunCommand's timeout stops it, and the test reads what it
// printed by then. Starting at a revision already written makes the event
// part of etcd's history: the watch gets it however late it is set up.
CommandResult EtcdctlWatch(uint16_t port, const std::string& who, const std::string& key,
                           int64_t revision, std::vector<std::string> flags = {});

// The int64 `field` of a 200 JSON-gateway response ("" when absent).
std::string Int64Field(const HttpResponse& response, const std::string& field);

// Writes key=value in etcd directly (v3); the revision of the write, or -1.
int64_t PutInEtcd(const EtcdServer& etcd, const std::string& key, const std::string& value);

}  // namespace tlsproxy::integration
