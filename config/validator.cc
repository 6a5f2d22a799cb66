// config/: the Validator's walk of the YAML tree (see validator.h): Run,
// the key tables and Dispatch, the typed readers, and the keys that are not
// a section of their own (accounts, limits, timeouts, log); then the
// cross-field checks. Errors point at the line of the key whose value is
// wrong (or of the list element), because a null or block value's own mark
// is often the line after the key.
#include "config/validator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>

namespace tlsproxy::config::internal {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

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

}  // namespace

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
  CheckTlsNeedsClientCa();
  CheckListenIsNotUpstream();
  CheckAclUsers();
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

}  // namespace tlsproxy::config::internal
