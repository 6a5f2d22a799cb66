#include "tests/integration/etcdctl_v3.h"

#include <regex>

namespace tlsproxy::integration {

std::vector<std::string> EtcdctlArgv(uint16_t port, const std::string& who,
                                     const std::vector<std::string>& command) {
  const Certificates& certs = TestCertificates();
  std::vector<std::string> argv = {"/usr/bin/etcdctl",
                                   "--endpoints",
                                   "https://localhost:" + std::to_string(port),
                                   "--cacert",
                                   certs.ca,
                                   "--dial-timeout",
                                   "5s",
                                   "--command-timeout",
                                   "10s"};
  if (!who.empty()) {
    argv.insert(argv.end(), {"--cert", certs.ClientCert(who), "--key", certs.ClientKey(who)});
  }
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

CommandResult Etcdctl(uint16_t port, const std::string& who,
                      const std::vector<std::string>& command, std::chrono::milliseconds timeout) {
  return RunCommand(EtcdctlArgv(port, who, command), {"ETCDCTL_API=3"}, timeout);
}

CommandResult EtcdctlWatch(uint16_t port, const std::string& who, const std::string& key,
                           int64_t revision, std::vector<std::string> flags) {
  std::vector<std::string> command = {"watch", key, "--rev=" + std::to_string(revision)};
  command.insert(command.end(), flags.begin(), flags.end());
  return Etcdctl(port, who, command, 6s);
}

std::string Int64Field(const HttpResponse& response, const std::string& field) {
  const std::regex pattern("\"" + field + "\":\"(-?[0-9]+)\"");
  std::smatch match;
  if (response.status != 200 || !std::regex_search(response.body, match, pattern)) return "";
  return match[1].str();
}

int64_t PutInEtcd(const EtcdServer& etcd, const std::string& key, const std::string& value) {
  const HttpResponse put =
      etcd.Request("POST", "/v3/kv/put",
                   "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64(value) + "\"}");
  const std::string revision = Int64Field(put, "revision");
  return revision.empty() ? -1 : std::stoll(revision);
}

}  // namespace tlsproxy::integration
