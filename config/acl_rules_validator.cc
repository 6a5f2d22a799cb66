// config/: the Validator's `acls` section (see validator.h): each prefix
// canonicalised and listed once, each rule in the short form (a list of
// writers) or the long form ({write: ..., read: ...}), and, after the walk,
// every name a rule lists checked against `accounts`.
#include <algorithm>
#include <string_view>

#include "config/validator.h"

namespace tlsproxy::config::internal {
namespace {

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

}  // namespace

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

}  // namespace tlsproxy::config::internal
