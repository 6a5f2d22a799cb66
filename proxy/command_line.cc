#include "proxy/command_line.h"

namespace tlsproxy::proxy {

CommandLine CommandLine::Parse(const std::vector<std::string>& arguments) {
  CommandLine result;
  bool check = false;
  bool from_nginx = false;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--help" || argument == "-h") {
      result.action = Action::kHelp;
      return result;
    }
    if (argument == "--version") {
      result.action = Action::kVersion;
      return result;
    }
    if (argument == "--check") {
      check = true;
    } else if (argument == "--config" && i + 1 < arguments.size()) {
      result.config_path = arguments[++i];
    } else if (argument.rfind("--config=", 0) == 0) {
      result.config_path = argument.substr(9);
    } else if (argument == "--from-nginx" && i + 1 < arguments.size()) {
      from_nginx = true;
      result.nginx_path = arguments[++i];
    } else if (argument.rfind("--from-nginx=", 0) == 0) {
      from_nginx = true;
      result.nginx_path = argument.substr(13);
    } else {
      result.error = "unknown or incomplete argument: " + argument;
      return result;
    }
  }
  if (from_nginx) {
    if (result.nginx_path.empty()) {
      result.error = "--from-nginx needs a FILE";
    } else if (check || !result.config_path.empty()) {
      result.error = "--from-nginx FILE takes no other option";
    } else {
      result.action = Action::kFromNginx;
    }
    return result;
  }
  if (result.config_path.empty()) {
    result.error = "--config FILE is required";
    return result;
  }
  result.action = check ? Action::kCheck : Action::kServe;
  return result;
}

const char* CommandLine::Usage() {
  return "usage: etcd-tlsproxy --config FILE [--check]\n"
         "       etcd-tlsproxy --from-nginx FILE\n"
         "       etcd-tlsproxy --version | --help\n"
         "\n"
         "Terminates TLS in front of a local etcd, identifies clients by client\n"
         "certificate or HTTP basic auth, enforces a key-prefix ACL and forwards\n"
         "allowed requests to etcd over plaintext HTTP/1.1.\n"
         "\n"
         "  --config FILE      the YAML configuration\n"
         "  --check            validate the configuration (and the files it names),\n"
         "                     list every problem with its key and line, and exit\n"
         "  --from-nginx FILE  print the `acls` equivalent to an nginx tlsproxy site\n"
         "                     (location + limit_except + auth_basic_user_file), with\n"
         "                     a comment for each place the proxy decides differently\n"
         "  --version          print the version\n"
         "  --help             print this help\n";
}

}  // namespace tlsproxy::proxy
