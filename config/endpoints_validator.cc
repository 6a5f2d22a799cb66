// config/: the Validator's network endpoints (see validator.h): `listen`,
// `upstream` and `admin_listen`, each host:port (IPv6 in brackets), and the
// check that the proxy does not listen on its own upstream.
#include <algorithm>

#include <re2/re2.h>

#include "config/validator.h"

namespace tlsproxy::config::internal {
namespace {

// Parses "host:port" or "[v6]:port". On failure returns nullopt and sets *why.
std::optional<HostPort> ParseHostPort(const std::string& text, std::string* why) {
  static const RE2 kBracketed(R"(\[([0-9A-Fa-f:.]+)\]:([0-9]+))");
  static const RE2 kPlain(R"(([A-Za-z0-9.\-]+):([0-9]+))");
  HostPort result;
  std::string port_text;
  if (!RE2::FullMatch(text, kBracketed, &result.host, &port_text) &&
      !RE2::FullMatch(text, kPlain, &result.host, &port_text)) {
    *why = "expected host:port (IPv6 in brackets, e.g. [::]:2379)";
    return std::nullopt;
  }
  const std::optional<uint64_t> port = ParseDecimal(port_text);
  if (!port || *port < 1 || *port > 65535) {
    *why = "port must be between 1 and 65535";
    return std::nullopt;
  }
  result.port = static_cast<uint16_t>(*port);
  result.text = text;
  return result;
}

// Parses "http://host:port" with an optional "/" path.
std::optional<HostPort> ParseUpstreamUrl(const std::string& url, std::string* why) {
  static const RE2 kUrl(R"(([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(.*))");
  std::string scheme;
  std::string authority;
  std::string rest;
  if (!RE2::FullMatch(url, kUrl, &scheme, &authority, &rest)) {
    *why = "expected http://host:port";
    return std::nullopt;
  }
  if (scheme != "http") {
    *why = "only the http scheme is supported (etcd's plaintext client URL)";
    return std::nullopt;
  }
  if (!rest.empty() && rest != "/") {
    *why = "must not have a path, query or fragment";
    return std::nullopt;
  }
  std::optional<HostPort> result = ParseHostPort(authority, why);
  if (result) result->text = url;
  return result;
}

// True when a socket listening on `listen` would receive connections made
// to `target`: same port and same host, or a wildcard/loopback alias.
bool SameEndpoint(const HostPort& listen, const HostPort& target) {
  if (listen.port != target.port) return false;
  if (listen.host == target.host) return true;
  if (listen.host == "0.0.0.0" || listen.host == "::") return true;
  const auto is_loopback = [](const std::string& host) {
    return host == "localhost" || host == "127.0.0.1" || host == "::1";
  };
  return target.host == "localhost" && is_loopback(listen.host);
}

}  // namespace

void Validator::OnListen(const Entry& entry) {
  if (!ExpectList(entry)) return;
  config_.listen.clear();
  if (entry.value.size() == 0) {
    AddError(entry.path, entry.line, "needs at least one host:port");
    return;
  }
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    const Entry element{entry.path + "[" + std::to_string(i) + "]", "", LineOf(item), item};
    const std::optional<std::string> text = ReadString(element);
    if (!text) continue;
    std::string why;
    std::optional<HostPort> address = ParseHostPort(*text, &why);
    if (!address) {
      AddError(element.path, element.line, "'" + *text + "': " + why);
      continue;
    }
    const bool duplicate =
        std::any_of(config_.listen.begin(), config_.listen.end(), [&](const HostPort& other) {
          return other.host == address->host && other.port == address->port;
        });
    if (duplicate) {
      AddError(element.path, element.line, "'" + *text + "' is listed twice");
      continue;
    }
    address->line = element.line;
    config_.listen.push_back(*address);
  }
}

void Validator::OnUpstream(const Entry& entry) {
  const std::optional<std::string> url = ReadString(entry);
  if (!url) return;
  std::string why;
  std::optional<HostPort> upstream = ParseUpstreamUrl(*url, &why);
  if (!upstream) {
    AddError(entry.path, entry.line, "'" + *url + "': " + why);
    return;
  }
  upstream->line = entry.line;
  config_.upstream = *upstream;
}

void Validator::OnAdminListen(const Entry& entry) {
  const std::optional<std::string> text = ReadString(entry);
  if (!text) return;
  if (*text == "off") {
    config_.admin_listen.reset();
    return;
  }
  std::string why;
  std::optional<HostPort> address = ParseHostPort(*text, &why);
  if (!address) {
    AddError(entry.path, entry.line, why + ", or off");
    return;
  }
  address->line = entry.line;
  config_.admin_listen = std::move(address);
}

void Validator::CheckListenIsNotUpstream() {
  for (std::size_t i = 0; i < config_.listen.size(); ++i) {
    if (SameEndpoint(config_.listen[i], config_.upstream)) {
      AddError("listen[" + std::to_string(i) + "]", config_.listen[i].line,
               "'" + config_.listen[i].text + "' is the upstream address " + config_.upstream.text +
                   ": the proxy would forward to itself");
    }
  }
}

}  // namespace tlsproxy::config::internal
