// config/: YAML text -> one validated, immutable Config (see config.h).
//
// One Validator walks the YAML tree once, filling a Config and collecting
// every error; cross-field checks run after the walk. Errors point at the
// line of the key whose value is wrong (or of the list element), because a
// null or block value's own mark is often the line after the key.
#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace tlsproxy::config {
namespace {

constexpr std::size_t kMaxBodyBytesLimit = std::size_t{1} << 30;  // 1 GiB
constexpr std::size_t kMinHeaderBytes = 1024;
constexpr std::size_t kMaxHeaderBytesLimit = 1048576;
constexpr std::size_t kMaxConfigFileBytes = 16 << 20;

// A key and its value inside a YAML map (or an element of a list, where
// `name` is empty). `path` is the dotted path used in error messages.
struct Entry {
  std::string path;
  std::string name;
  int line = 0;
  YAML::Node value;
};

// 1-based line of a node, 0 when yaml-cpp has no position for it.
int LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

bool HasControlChar(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// Empty when `path` names a readable regular file; otherwise why not.
std::string UnreadableReason(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::strerror(errno);
  if (!S_ISREG(info.st_mode)) return "not a regular file";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  return "";
}

std::optional<uint64_t> ParseDecimal(std::string_view digits) {
  static const RE2 kDigits("[0-9]+");
  if (!RE2::FullMatch(digits, kDigits)) return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

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

// Canonical form of an ACL prefix, or nullopt with *why set.
std::optional<std::string> CanonicalPrefix(const std::string& raw, std::string* why) {
  if (raw.empty() || raw[0] != '/') {
    *why = "must start with '/'";
    return std::nullopt;
  }
  if (HasControlChar(raw)) {
    *why = "must not contain control characters";
    return std::nullopt;
  }
  if (raw.find_first_of("\\%") != std::string::npos) {
    *why = "must not contain '\\' or '%' (write the decoded key)";
    return std::nullopt;
  }
  std::string prefix = raw;
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix == "/") return prefix;
  std::size_t start = 1;
  while (start <= prefix.size()) {
    std::size_t end = prefix.find('/', start);
    if (end == std::string::npos) end = prefix.size();
    const std::string_view segment(prefix.data() + start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      *why = "must not contain empty, '.' or '..' segments";
      return std::nullopt;
    }
    start = end + 1;
  }
  return prefix;
}

// A name an ACL lists that must be checked against accounts at the end.
struct AclUserRef {
  std::string path;
  int line = 0;
  std::string user;
};

// Listens to the event parser only for where documents start.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last_start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark last_start_ = YAML::Mark::null_mark();
};

// The 1-based line where a second YAML document starts, 0 when there is at
// most one. Throws YAML::Exception on a syntax error.
int SecondDocumentLine(const std::string& yaml_text) {
  std::istringstream in(yaml_text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  if (!parser.HandleNextDocument(counter)) return 0;
  if (!parser.HandleNextDocument(counter)) return 0;
  return counter.last_start_.is_null() ? 1 : counter.last_start_.line + 1;
}

class Validator {
 public:
  // Validates `yaml_text`; call once.
  LoadResult Run(const std::string& yaml_text);

 private:
  using Handler = void (Validator::*)(const Entry&);
  struct KeyTable {
    std::vector<std::pair<std::string, Handler>> handlers;
    std::vector<std::string> required;
  };

  void AddError(std::string key, int line, std::string message) {
    errors_.push_back(ConfigError{std::move(key), line, std::move(message)});
  }

  // Typed readers: report a type error and return nullopt on mismatch.
  std::optional<std::string> ReadString(const Entry& entry);
  std::optional<bool> ReadBool(const Entry& entry);
  std::optional<std::size_t> ReadSize(const Entry& entry, std::size_t min, std::size_t max);
  bool ExpectMap(const Entry& entry);
  bool ExpectList(const Entry& entry);

  // Calls `visit` for each key of a map, refusing non-string and duplicate keys.
  void ForEachKey(const Entry& map, const std::function<void(const Entry&)>& visit);
  // Dispatches a map's keys to a table of handlers; unknown keys and missing
  // required keys are errors.
  void Dispatch(const Entry& map, const KeyTable& table);

  void OnListen(const Entry& entry);
  void OnUpstream(const Entry& entry);
  void OnTls(const Entry& entry);
  void OnTlsCert(const Entry& entry) {
    ReadFile(entry, &config_.tls.cert_file, &config_.tls.cert_line);
  }
  void OnTlsKey(const Entry& entry) {
    ReadFile(entry, &config_.tls.key_file, &config_.tls.key_line);
  }
  void OnTlsClientCa(const Entry& entry) {
    ReadOptionalFile(entry, &config_.tls.client_ca_file, &config_.tls.client_ca_line);
  }
  void OnTlsCrl(const Entry& entry) {
    ReadOptionalFile(entry, &config_.tls.crl_file, &config_.tls.crl_line);
  }
  void OnTlsRequireClientCert(const Entry& entry);
  void OnTlsProtocols(const Entry& entry);
  // One element of `tls.protocols`; reports an unknown or retired name.
  std::optional<TlsProtocol> ReadTlsProtocol(const Entry& element);
  void OnTlsCiphers(const Entry& entry);
  void OnTlsGroups(const Entry& entry);
  // Adds one group name from `tls.groups` at `path`/`line`.
  void AddTlsGroup(const std::string& name, const std::string& path, int line);
  void OnAccounts(const Entry& entry);
  void OnAccount(const Entry& entry);
  void OnTlsIdentity(const Entry& entry);
  void OnTlsIdentityPrefix(const Entry& entry) {
    if (const std::optional<std::string> prefix = ReadString(entry)) {
      config_.tls.identity_prefix = *prefix;
    }
  }
  void OnAcls(const Entry& entry);
  void OnAcl(const Entry& entry);
  void ReadAclUser(const Entry& list, const YAML::Node& item, std::vector<std::string>* out);
  void ReadAclLists(const Entry& entry, AclRule* rule);
  void OnPublicReads(const Entry& entry) { Assign(ReadBool(entry), &config_.public_reads); }
  void OnReadOnly(const Entry& entry) { Assign(ReadBool(entry), &config_.read_only); }
  void OnEnforce(const Entry& entry);
  void OnMaxBodyBytes(const Entry& entry) {
    Assign(ReadSize(entry, 1, kMaxBodyBytesLimit), &config_.max_body_bytes);
  }
  void OnMaxHeaderBytes(const Entry& entry) {
    Assign(ReadSize(entry, kMinHeaderBytes, kMaxHeaderBytesLimit), &config_.max_header_bytes);
  }
  void OnAdminListen(const Entry& entry);
  void OnWorkers(const Entry& entry);
  void OnTimeouts(const Entry& entry);
  void OnAuthThrottle(const Entry& entry);
  void OnMaxConnections(const Entry& entry) {
    Assign(ReadSize(entry, 1, 1000000), &config_.max_connections);
  }
  // A number of seconds in [min, 86400] into `out`.
  void ReadSeconds(const Entry& entry, std::size_t min, std::size_t* out) {
    Assign(ReadSize(entry, min, 86400), out);
  }
  void OnV3(const Entry& entry);
  void OnTokenTtl(const Entry& entry) { ReadSeconds(entry, 1, &config_.token_ttl_seconds); }
  void OnTokenKeyFile(const Entry& entry) {
    ReadOptionalFile(entry, &config_.token_key_file, &config_.token_key_line);
  }
  void OnDrainTimeout(const Entry& entry) {
    Assign(ReadSize(entry, 0, 3600), &config_.drain_timeout_seconds);
  }
  void OnLog(const Entry& entry);
  void OnLogLevel(const Entry& entry);
  void OnLogAccessLog(const Entry& entry);

  void ReadFile(const Entry& entry, std::string* file, int* line);
  void ReadOptionalFile(const Entry& entry, std::string* file, int* line);
  template <typename T>
  static void Assign(const std::optional<T>& value, T* out) {
    if (value) *out = *value;
  }

  void CheckCrossFields();
  void CheckAclUsers();

  Config config_;
  std::vector<ConfigError> errors_;
  std::vector<AclUserRef> acl_users_;
  std::set<std::string> declared_users_;         // every key under accounts, valid or not
  std::map<std::string, int> acl_prefix_lines_;  // canonical prefix -> line
  int require_client_cert_line_ = 0;
};

std::optional<std::string> Validator::ReadString(const Entry& entry) {
  if (!entry.value.IsScalar()) {
    AddError(entry.path, entry.line, "expected a string, got " + Describe(entry.value));
    return std::nullopt;
  }
  return entry.value.Scalar();
}

std::optional<bool> Validator::ReadBool(const Entry& entry) {
  bool value = false;
  if (!entry.value.IsScalar() || !YAML::convert<bool>::decode(entry.value, value)) {
    AddError(entry.path, entry.line, "expected true or false");
    return std::nullopt;
  }
  return value;
}

std::optional<std::size_t> Validator::ReadSize(const Entry& entry, std::size_t min,
                                               std::size_t max) {
  const std::string range =
      "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  const std::optional<uint64_t> value =
      entry.value.IsScalar() ? ParseDecimal(entry.value.Scalar()) : std::nullopt;
  if (!value || *value < min || *value > max) {
    AddError(entry.path, entry.line, "expected " + range);
    return std::nullopt;
  }
  return static_cast<std::size_t>(*value);
}

bool Validator::ExpectMap(const Entry& entry) {
  if (entry.value.IsMap()) return true;
  AddError(entry.path, entry.line, "expected a map, got " + Describe(entry.value));
  return false;
}

bool Validator::ExpectList(const Entry& entry) {
  if (entry.value.IsSequence()) return true;
  AddError(entry.path, entry.line, "expected a list, got " + Describe(entry.value));
  return false;
}

void Validator::ForEachKey(const Entry& map, const std::function<void(const Entry&)>& visit) {
  std::map<std::string, int> seen;  // key -> line of its first occurrence
  // Bind each pair by value: yaml-cpp's iterator->first refers into a temporary.
  for (const auto& pair : map.value) {
    const YAML::Node& key = pair.first;
    const int line = LineOf(key);
    if (!key.IsScalar()) {
      AddError(map.path, line, "keys must be strings, got " + Describe(key));
      continue;
    }
    const std::string name = key.Scalar();
    const std::string path = map.path.empty() ? name : map.path + "." + name;
    const auto [first, inserted] = seen.emplace(name, line);
    if (!inserted) {
      AddError(path, line, "duplicate key (first on line " + std::to_string(first->second) + ")");
      continue;
    }
    visit(Entry{path, name, line, pair.second});
  }
}

void Validator::Dispatch(const Entry& map, const KeyTable& table) {
  std::set<std::string> present;
  ForEachKey(map, [&](const Entry& entry) {
    const auto handler =
        std::find_if(table.handlers.begin(), table.handlers.end(),
                     [&](const auto& candidate) { return candidate.first == entry.name; });
    if (handler == table.handlers.end()) {
      std::vector<std::string> known;
      for (const auto& candidate : table.handlers) known.push_back(candidate.first);
      AddError(entry.path, entry.line,
               "unknown key '" + entry.name + "' (expected one of: " + Join(known) + ")");
      return;
    }
    present.insert(entry.name);
    (this->*handler->second)(entry);
  });
  for (const std::string& name : table.required) {
    if (present.count(name) == 0) {
      AddError(map.path.empty() ? name : map.path + "." + name, map.line, "required key missing");
    }
  }
}

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

void Validator::OnTls(const Entry& entry) {
  if (!ExpectMap(entry)) return;
  static const KeyTable kTable{{{"cert", &Validator::OnTlsCert},
                                {"key", &Validator::OnTlsKey},
                                {"client_ca", &Validator::OnTlsClientCa},
                                {"crl", &Validator::OnTlsCrl},
                                {"require_client_cert", &Validator::OnTlsRequireClientCert},
                                {"protocols", &Validator::OnTlsProtocols},
                                {"ciphers", &Validator::OnTlsCiphers},
                                {"groups", &Validator::OnTlsGroups},
                                {"identity", &Validator::OnTlsIdentity},
                                {"identity_prefix", &Validator::OnTlsIdentityPrefix}},
                               {"cert", "key"}};
  Dispatch(entry, kTable);
}

void Validator::OnTlsRequireClientCert(const Entry& entry) {
  require_client_cert_line_ = entry.line;
  Assign(ReadBool(entry), &config_.tls.require_client_cert);
}

std::optional<TlsProtocol> Validator::ReadTlsProtocol(const Entry& element) {
  static const std::vector<std::pair<std::string, TlsProtocol>> kSupported = {
      {"TLSv1.2", TlsProtocol::kTls12}, {"TLSv1.3", TlsProtocol::kTls13}};
  static const std::set<std::string> kRetired = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"};
  const std::optional<std::string> name = ReadString(element);
  if (!name) return std::nullopt;
  for (const auto& [known, protocol] : kSupported) {
    if (*name == known) return protocol;
  }
  if (kRetired.count(*name) != 0) {
    AddError(element.path, element.line,
             *name +
                 " is refused: retired (RFC 7568, RFC 8996) and not negotiated by OpenSSL 3 "
                 "at its default security level (expected TLSv1.2 or TLSv1.3)");
  } else {
    AddError(element.path, element.line,
             "unknown protocol '" + *name + "' (expected TLSv1.2 or TLSv1.3)");
  }
  return std::nullopt;
}

void Validator::OnTlsProtocols(const Entry& entry) {
  if (!ExpectList(entry)) return;
  if (entry.value.size() == 0) {
    AddError(entry.path, entry.line, "needs at least one of TLSv1.2, TLSv1.3");
    return;
  }
  std::set<TlsProtocol> chosen;
  bool valid = true;
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    const Entry element{entry.path + "[" + std::to_string(i) + "]", "", LineOf(item), item};
    const std::optional<TlsProtocol> protocol = ReadTlsProtocol(element);
    if (!protocol) {
      valid = false;
    } else if (!chosen.insert(*protocol).second) {
      AddError(element.path, element.line, item.Scalar() + " is listed twice");
      valid = false;
    }
  }
  // With only two versions supported a gap cannot be written: the chosen
  // set is always the range from its lowest to its highest member.
  if (!valid) return;
  config_.tls.min_protocol = *chosen.begin();
  config_.tls.max_protocol = *chosen.rbegin();
  config_.tls.protocols_line = entry.line;
}

void Validator::OnTlsCiphers(const Entry& entry) {
  const std::optional<std::string> ciphers = ReadString(entry);
  if (!ciphers) return;
  if (ciphers->empty() || HasControlChar(*ciphers)) {
    AddError(entry.path, entry.line,
             "expected an OpenSSL cipher string (e.g. ECDHE+AESGCM:ECDHE+CHACHA20), without "
             "control characters; leave the key out for OpenSSL's default");
    return;
  }
  config_.tls.ciphers = *ciphers;
  config_.tls.ciphers_line = entry.line;
}

void Validator::OnTlsGroups(const Entry& entry) {
  config_.tls.groups_line = entry.line;
  if (entry.value.IsScalar()) {  // "X25519:P-256", as nginx's ssl_ecdh_curve
    const std::string& text = entry.value.Scalar();
    if (text.empty()) {
      AddError(entry.path, entry.line, "needs at least one group (e.g. X25519:P-256)");
      return;
    }
    for (std::size_t start = 0;;) {
      const std::size_t end = text.find(':', start);
      AddTlsGroup(text.substr(start, end - start), entry.path, entry.line);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return;
  }
  if (!ExpectList(entry)) return;
  if (entry.value.size() == 0) {
    AddError(entry.path, entry.line, "needs at least one group (e.g. [X25519, P-256])");
    return;
  }
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    const Entry element{entry.path + "[" + std::to_string(i) + "]", "", LineOf(item), item};
    if (const std::optional<std::string> name = ReadString(element)) {
      AddTlsGroup(*name, element.path, element.line);
    }
  }
}

void Validator::AddTlsGroup(const std::string& name, const std::string& path, int line) {
  static const RE2 kGroupName("[A-Za-z0-9_.-]+");
  if (name.empty()) {
    AddError(path, line, "empty group name (groups are separated by a single ':')");
  } else if (!RE2::FullMatch(name, kGroupName)) {
    AddError(path, line, "'" + name + "' is not a group name (letters, digits, '-', '_', '.')");
  } else if (std::find(config_.tls.groups.begin(), config_.tls.groups.end(), name) !=
             config_.tls.groups.end()) {
    AddError(path, line, "'" + name + "' is listed twice");
  } else {
    config_.tls.groups.push_back(name);
  }
}

void Validator::ReadFile(const Entry& entry, std::string* file, int* line) {
  const std::optional<std::string> path = ReadString(entry);
  if (!path) return;
  if (path->empty()) {
    AddError(entry.path, entry.line, "expected a file name, got an empty string");
    return;
  }
  const std::string reason = UnreadableReason(*path);
  if (!reason.empty()) {
    AddError(entry.path, entry.line, "cannot read '" + *path + "': " + reason);
    return;
  }
  *file = *path;
  *line = entry.line;
}

void Validator::ReadOptionalFile(const Entry& entry, std::string* file, int* line) {
  *line = entry.line;
  if (entry.value.IsNull() || (entry.value.IsScalar() && entry.value.Scalar().empty())) return;
  ReadFile(entry, file, line);
}

void Validator::OnAccounts(const Entry& entry) {
  if (entry.value.IsNull()) return;  // "accounts:" with nothing under it: no users
  if (!ExpectMap(entry)) return;
  ForEachKey(entry, [this](const Entry& account) { OnAccount(account); });
}

void Validator::OnAccount(const Entry& entry) {
  const std::string& user = entry.name;
  declared_users_.insert(user);  // even if invalid: one error, not one per ACL naming it
  if (user.empty() || user.find(':') != std::string::npos || HasControlChar(user)) {
    AddError(entry.path, entry.line,
             "user names must be non-empty, without ':' or control characters");
    return;
  }
  // Never echo the value: it is a password hash (or, by mistake, a password).
  if (!entry.value.IsScalar() || !IsSupportedPasswordHash(entry.value.Scalar())) {
    AddError(entry.path, entry.line,
             "unsupported password hash format for user " + user +
                 " (expected $apr1$, $2y$/$2b$/$2a$, $5$ or $6$)");
    return;
  }
  config_.accounts[user] = entry.value.Scalar();
}

// `cn`, `uri_san` or `dns_san`, or an ordered list of them, each once.
void Validator::OnTlsIdentity(const Entry& entry) {
  static const std::map<std::string, IdentitySource> kSources = {
      {"cn", IdentitySource::kCn},
      {"uri_san", IdentitySource::kUriSan},
      {"dns_san", IdentitySource::kDnsSan}};
  std::vector<Entry> items;
  if (entry.value.IsSequence() && entry.value.size() > 0) {
    for (const YAML::Node& item : entry.value) {
      items.push_back(Entry{entry.path, "", LineOf(item), item});
    }
  } else if (entry.value.IsScalar()) {
    items.push_back(entry);
  } else {
    AddError(entry.path, entry.line,
             "expected cn, uri_san or dns_san, or a list of them, got " + Describe(entry.value));
    return;
  }
  std::vector<IdentitySource> sources;
  for (const Entry& item : items) {
    const std::optional<std::string> name = ReadString(item);
    if (!name) return;
    const auto known = kSources.find(*name);
    if (known == kSources.end()) {
      AddError(item.path, item.line, "expected cn, uri_san or dns_san, got '" + *name + "'");
      return;
    }
    if (std::find(sources.begin(), sources.end(), known->second) != sources.end()) {
      AddError(item.path, item.line, "'" + *name + "' is listed twice");
      return;
    }
    sources.push_back(known->second);
  }
  config_.tls.identity = std::move(sources);
  config_.tls.identity_line = entry.line;
}

void Validator::OnAcls(const Entry& entry) {
  if (!ExpectMap(entry)) return;
  if (entry.value.size() == 0) {
    AddError(entry.path, entry.line, "needs at least one prefix");
    return;
  }
  ForEachKey(entry, [this](const Entry& acl) { OnAcl(acl); });
  std::sort(config_.acls.begin(), config_.acls.end(),
            [](const AclRule& a, const AclRule& b) { return a.prefix < b.prefix; });
}

void Validator::OnAcl(const Entry& entry) {
  std::string why;
  const std::optional<std::string> prefix = CanonicalPrefix(entry.name, &why);
  if (!prefix) {
    AddError(entry.path, entry.line, "bad prefix '" + entry.name + "': " + why);
    return;
  }
  const auto [first, inserted] = acl_prefix_lines_.emplace(*prefix, entry.line);
  if (!inserted) {
    AddError(
        entry.path, entry.line,
        "duplicate prefix: same as '" + *prefix + "' on line " + std::to_string(first->second));
    return;
  }
  AclRule rule{*prefix, {}, entry.line, std::nullopt};
  if (entry.value.IsSequence()) {
    // The short form: writers; [] lets anyone write.
    for (const YAML::Node& item : entry.value) ReadAclUser(entry, item, &rule.users);
  } else if (entry.value.IsMap()) {
    ReadAclLists(entry, &rule);
  } else {
    AddError(entry.path, entry.line,
             "expected a list of users ([] lets anyone write) or {write: ..., read: ...}, got " +
                 Describe(entry.value));
    return;
  }
  config_.acls.push_back(std::move(rule));
}

// One name of a rule's list, checked and remembered for the accounts check.
void Validator::ReadAclUser(const Entry& list, const YAML::Node& item,
                            std::vector<std::string>* out) {
  const Entry element{list.path, "", LineOf(item), item};
  const std::optional<std::string> user = ReadString(element);
  if (!user) return;
  if (user->empty() || HasControlChar(*user)) {
    AddError(element.path, element.line,
             "user names must be non-empty, without control characters");
    return;
  }
  out->push_back(*user);
  acl_users_.push_back(AclUserRef{element.path, element.line, *user});
}

// The long form: {write: NAMES, read: NAMES}, `write` required, each either
// the word `any` or a non-empty list of names. An empty list is an error:
// some would read it as "nobody", others as "anyone".
void Validator::ReadAclLists(const Entry& entry, AclRule* rule) {
  bool has_write = false;
  ForEachKey(entry, [&](const Entry& list) {
    if (list.name != "write" && list.name != "read") {
      AddError(list.path, list.line, "unknown key: a rule has write and read");
      return;
    }
    // A `write` with a bad value is reported as such, not also as missing.
    if (list.name == "write") has_write = true;
    std::vector<std::string> names;
    if (list.value.IsScalar() && list.value.Scalar() == "any") {
      // anyone: the empty list
    } else if (list.value.IsSequence() && list.value.size() > 0) {
      for (const YAML::Node& item : list.value) ReadAclUser(list, item, &names);
    } else {
      AddError(list.path, list.line,
               "expected `any` or a non-empty list of names, got " + Describe(list.value) +
                   " (an empty list is ambiguous: write `any` for anyone)");
      return;
    }
    if (list.name == "write") {
      rule->users = std::move(names);
    } else {
      rule->readers = std::move(names);
    }
  });
  if (!has_write) AddError(entry.path, entry.line, "a rule in the long form needs `write`");
}

void Validator::OnV3(const Entry& entry) {
  const std::optional<std::string> mode = ReadString(entry);
  if (!mode) return;
  if (*mode == "acl") {
    config_.v3 = Config::V3Mode::kAcl;
  } else if (*mode == "admin_only") {
    config_.v3 = Config::V3Mode::kAdminOnly;
  } else if (*mode == "off") {
    config_.v3 = Config::V3Mode::kOff;
  } else {
    AddError(entry.path, entry.line, "expected acl, admin_only or off");
  }
}

// `enforce: true | shadow`. `false` is refused rather than read as "never
// refuse": shadow mode still logs and counts, and says so loudly.
void Validator::OnEnforce(const Entry& entry) {
  const std::optional<std::string> mode = ReadString(entry);
  if (!mode) return;
  config_.enforce_line = entry.line;
  if (*mode == "true") {
    config_.shadow = false;
  } else if (*mode == "shadow") {
    config_.shadow = true;
  } else {
    AddError(entry.path, entry.line, "expected true or shadow");
  }
}

void Validator::OnTimeouts(const Entry& entry) {
  if (!ExpectMap(entry)) return;
  // Handlers are member pointers; these small lambdas cannot be, so the
  // table is walked by hand.
  Timeouts& t = config_.timeouts;
  const std::vector<std::pair<std::string, std::size_t*>> fields = {
      {"handshake", &t.handshake},
      {"request_headers", &t.request_headers},
      {"idle", &t.idle},
      {"upstream_connect", &t.upstream_connect},
      {"upstream_response", &t.upstream_response}};
  ForEachKey(entry, [&](const Entry& field) {
    for (const auto& [name, out] : fields) {
      if (field.name == name) return ReadSeconds(field, 1, out);
    }
    AddError(field.path, field.line,
             "unknown key '" + field.name +
                 "' (expected one of: handshake, request_headers, idle, upstream_connect, "
                 "upstream_response)");
  });
}

void Validator::OnAuthThrottle(const Entry& entry) {
  if (!ExpectMap(entry)) return;
  AuthThrottleSettings& a = config_.auth_throttle;
  ForEachKey(entry, [&](const Entry& field) {
    if (field.name == "max_failures") return Assign(ReadSize(field, 0, 1000000), &a.max_failures);
    if (field.name == "window") return ReadSeconds(field, 1, &a.window);
    if (field.name == "backoff") return ReadSeconds(field, 1, &a.backoff);
    AddError(field.path, field.line,
             "unknown key '" + field.name + "' (expected one of: max_failures, window, backoff)");
  });
}

void Validator::OnWorkers(const Entry& entry) {
  if (entry.value.IsScalar() && entry.value.Scalar() == "auto") {
    config_.workers = 0;
    return;
  }
  const std::optional<uint64_t> count =
      entry.value.IsScalar() ? ParseDecimal(entry.value.Scalar()) : std::nullopt;
  if (!count || *count < 1 || *count > 64) {
    AddError(entry.path, entry.line, "expected auto or an integer between 1 and 64");
    return;
  }
  config_.workers = static_cast<std::size_t>(*count);
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

void Validator::OnLog(const Entry& entry) {
  if (!ExpectMap(entry)) return;
  static const KeyTable kTable{
      {{"level", &Validator::OnLogLevel}, {"access_log", &Validator::OnLogAccessLog}}, {}};
  Dispatch(entry, kTable);
}

void Validator::OnLogLevel(const Entry& entry) {
  static const std::vector<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
  const std::optional<std::string> level = ReadString(entry);
  if (!level) return;
  if (std::find(kLevels.begin(), kLevels.end(), *level) == kLevels.end()) {
    AddError(entry.path, entry.line,
             "unknown level '" + *level + "' (expected one of: " + Join(kLevels) + ")");
    return;
  }
  config_.log.level = *level;
}

void Validator::OnLogAccessLog(const Entry& entry) {
  const std::optional<std::string> target = ReadString(entry);
  if (!target) return;
  if (target->empty() || HasControlChar(*target)) {
    AddError(entry.path, entry.line, "expected a file path, \"stderr\" or \"off\"");
    return;
  }
  config_.log.access_log = *target;
}

void Validator::CheckCrossFields() {
  if (config_.tls.require_client_cert && config_.tls.client_ca_file.empty()) {
    AddError("tls.require_client_cert", require_client_cert_line_,
             "requires tls.client_ca (the CA bundle that verifies client certificates)");
  }
  if (!config_.tls.crl_file.empty() && config_.tls.client_ca_file.empty()) {
    AddError("tls.crl", config_.tls.crl_line, "requires tls.client_ca");
  }
  for (std::size_t i = 0; i < config_.listen.size(); ++i) {
    if (SameEndpoint(config_.listen[i], config_.upstream)) {
      AddError("listen[" + std::to_string(i) + "]", config_.listen[i].line,
               "'" + config_.listen[i].text + "' is the upstream address " + config_.upstream.text +
                   ": the proxy would forward to itself");
    }
  }
  CheckAclUsers();
}

void Validator::CheckAclUsers() {
  // With client_ca set, a name may be a client certificate's CN instead.
  if (!config_.tls.client_ca_file.empty()) return;
  for (const AclUserRef& ref : acl_users_) {
    if (declared_users_.count(ref.user) == 0) {
      AddError(ref.path, ref.line,
               "user '" + ref.user + "' is not defined in accounts (and tls.client_ca is not set)");
    }
  }
}

LoadResult Validator::Run(const std::string& yaml_text) {
  std::vector<YAML::Node> documents;
  try {
    // yaml-cpp 0.7's LoadAll() never returns on some malformed input ("!a,",
    // found by config_fuzz) while Load() refuses it; so count the documents
    // with the event parser first and load the single one with Load().
    if (const int second_line = SecondDocumentLine(yaml_text); second_line != 0) {
      return LoadResult{
          nullptr, {ConfigError{"", second_line, "expected one YAML document, found several"}}};
    }
    documents.push_back(YAML::Load(yaml_text));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    return LoadResult{nullptr, {ConfigError{"", line, "YAML syntax error: " + e.msg}}};
  }
  if (documents.empty() || !documents[0].IsDefined() || documents[0].IsNull()) {
    return LoadResult{nullptr, {ConfigError{"", 0, "the file is empty"}}};
  }
  const Entry root{"", "", LineOf(documents[0]), documents[0]};
  if (!root.value.IsMap()) {
    return LoadResult{
        nullptr,
        {ConfigError{"", root.line, "the top level must be a map, got " + Describe(root.value)}}};
  }
  config_.listen = {HostPort{"0.0.0.0", 2379, "0.0.0.0:2379", 0},
                    HostPort{"::", 2379, "[::]:2379", 0}};
  config_.upstream = HostPort{"127.0.0.1", 2378, "http://127.0.0.1:2378", 0};
  static const KeyTable kTable{{{"listen", &Validator::OnListen},
                                {"upstream", &Validator::OnUpstream},
                                {"tls", &Validator::OnTls},
                                {"accounts", &Validator::OnAccounts},
                                {"acls", &Validator::OnAcls},
                                {"public_reads", &Validator::OnPublicReads},
                                {"read_only", &Validator::OnReadOnly},
                                {"enforce", &Validator::OnEnforce},
                                {"max_body_bytes", &Validator::OnMaxBodyBytes},
                                {"max_header_bytes", &Validator::OnMaxHeaderBytes},
                                {"admin_listen", &Validator::OnAdminListen},
                                {"workers", &Validator::OnWorkers},
                                {"v3", &Validator::OnV3},
                                {"timeouts", &Validator::OnTimeouts},
                                {"max_connections", &Validator::OnMaxConnections},
                                {"auth_throttle", &Validator::OnAuthThrottle},
                                {"drain_timeout", &Validator::OnDrainTimeout},
                                {"token_ttl", &Validator::OnTokenTtl},
                                {"token_key_file", &Validator::OnTokenKeyFile},
                                {"log", &Validator::OnLog}},
                               {"tls", "acls"}};
  Dispatch(root, kTable);
  CheckCrossFields();
  if (!errors_.empty()) {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
    return LoadResult{nullptr, std::move(errors_)};
  }
  return LoadResult{std::make_shared<const Config>(std::move(config_)), {}};
}

}  // namespace

std::string ConfigError::ToString() const {
  return key + " (line " + std::to_string(line) + "): " + message;
}

LoadResult LoadConfigFile(const std::string& path) {
  const auto fail = [&path](const std::string& why) {
    return LoadResult{nullptr, {ConfigError{path, 0, "cannot read config file: " + why}}};
  };
  std::string reason = UnreadableReason(path);
  if (!reason.empty()) return fail(reason);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  std::string text;
  char buffer[65536];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() <= kMaxConfigFileBytes) {
    text.append(buffer, static_cast<std::size_t>(got));
  }
  const int read_errno = errno;
  ::close(fd);
  if (got < 0) return fail(std::strerror(read_errno));
  if (text.size() > kMaxConfigFileBytes) return fail("larger than 16 MiB");
  return Validator().Run(text);
}

LoadResult ParseConfig(const std::string& yaml_text) { return Validator().Run(yaml_text); }

bool IsSupportedPasswordHash(const std::string& hash) {
  // Alphabets and lengths as produced by htpasswd, openssl passwd and
  // crypt(3); apr_password_validate verifies all of these.
  static const RE2 kApr1(R"(\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22})");
  static const RE2 kBcrypt(R"(\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./0-9A-Za-z]{53})");
  static const RE2 kSha256(R"(\$5\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{43})");
  static const RE2 kSha512(R"(\$6\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86})");
  return RE2::FullMatch(hash, kApr1) || RE2::FullMatch(hash, kBcrypt) ||
         RE2::FullMatch(hash, kSha256) || RE2::FullMatch(hash, kSha512);
}

}  // namespace tlsproxy::config
