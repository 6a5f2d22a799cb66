#include "acl/acl.h"

#include <algorithm>

namespace tlsproxy::acl {
namespace {

constexpr char kNoRule[] = "-";

// True when `key` is `prefix` or lies below it on a segment boundary.
bool Covers(const std::string& prefix, const std::string& key) {
  if (prefix == "/") return true;
  return key == prefix ||
         (key.size() > prefix.size() && key.starts_with(prefix) && key[prefix.size()] == '/');
}

Decision Allow(std::string rule, std::string reason) {
  return Decision{Verdict::kAllow, std::move(rule), std::move(reason), std::nullopt};
}

Decision ReadOnly() {
  return Decision{Verdict::kReadOnly, "read_only", "read-only mode", std::nullopt};
}

// A refusal: 401 when the client proved no identity, else 403.
Decision Deny(const Identity& identity, std::string rule, std::string reason) {
  Verdict verdict = identity.empty() ? Verdict::kNeedCredentials : Verdict::kForbidden;
  return Decision{verdict, std::move(rule), std::move(reason), std::nullopt};
}

std::string NotListedReason(const Identity& identity, const std::string& prefix) {
  if (identity.empty()) return "no identity";
  std::string who = identity.cert_user ? *identity.cert_user : *identity.basic_user;
  if (identity.cert_user && identity.basic_user && *identity.cert_user != *identity.basic_user) {
    who += "/" + *identity.basic_user;
  }
  return "user " + who + " not listed on " + prefix;
}

}  // namespace

std::string Identity::ToString() const {
  if (empty()) return "-";
  std::string text;
  if (cert_user) text = "cert:" + *cert_user;
  if (basic_user) text += (text.empty() ? "" : ",") + std::string("basic:") + *basic_user;
  return text;
}

std::shared_ptr<const Acl> Acl::Compile(const config::Config& config) {
  std::shared_ptr<Acl> acl(new Acl());
  acl->rules_ = config.acls;
  acl->public_reads_ = config.public_reads;
  acl->read_only_ = config.read_only;
  acl->shadow_ = config.shadow;
  acl->has_read_lists_ =
      std::any_of(config.acls.begin(), config.acls.end(),
                  [](const config::AclRule& rule) { return rule.readers.has_value(); });
  acl->v3_mode_ = config.v3;
  return acl;
}

Decision Acl::Enforce(Decision decision) const {
  if (!shadow_ || decision.allowed() || decision.verdict == Verdict::kReadOnly) return decision;
  decision.shadow_denied = decision.verdict;
  decision.verdict = Verdict::kAllow;
  return decision;
}

namespace {

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

std::vector<std::string> Acl::Explain() const {
  std::vector<std::string> lines;
  for (const config::AclRule& rule : rules_) {
    std::string write = rule.users.empty() ? "anyone" : NameList(rule.users);
    if (read_only_) write = "nobody (read_only)";
    std::string read;
    if (rule.readers) {
      read = rule.readers->empty() ? "anyone (read: any)" : NameList(*rule.readers) + " only";
    } else if (public_reads_) {
      read = "anyone (public_reads)";
    } else {
      read = rule.users.empty() ? "anyone" : NameList(rule.users);
      read += " (the writers: public_reads is false)";
    }
    std::string line = "\"" + rule.prefix + "\" (line " + std::to_string(rule.line) +
                       "): write: " + write + "; read: " + read;
    if (rule.prefix == "/") line += "; also every endpoint outside /v2/keys and the v3 admin calls";
    lines.push_back(std::move(line));
  }
  return lines;
}

bool Acl::IsReadMethod(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

const config::AclRule* Acl::WinningRule(const std::string& key) const {
  const config::AclRule* winner = nullptr;
  for (const config::AclRule& rule : rules_) {
    if (!Covers(rule.prefix, key)) continue;
    if (winner == nullptr || rule.prefix.size() > winner->prefix.size()) winner = &rule;
  }
  return winner;
}

std::vector<const config::AclRule*> Acl::RulesBelow(const std::string& key) const {
  std::vector<const config::AclRule*> below;
  for (const config::AclRule& rule : rules_) {
    if (rule.prefix != key && Covers(key, rule.prefix)) below.push_back(&rule);
  }
  return below;
}

bool Acl::Named(const std::vector<std::string>& names, const Identity& identity) {
  auto listed = [&names](const std::optional<std::string>& name) {
    return name && std::find(names.begin(), names.end(), *name) != names.end();
  };
  return listed(identity.cert_user) || listed(identity.basic_user);
}

bool Acl::Lists(const config::AclRule& rule, const Identity& identity) {
  return rule.users.empty() || Named(rule.users, identity);
}

bool Acl::ListsReader(const config::AclRule& rule, const Identity& identity) const {
  if (rule.readers) return rule.readers->empty() || Named(*rule.readers, identity);
  return public_reads_ || Lists(rule, identity);
}

Decision Acl::Judge(const AclRequest& request) const {
  const bool read = IsReadMethod(request.method);
  if (!read && read_only_) return ReadOnly();
  switch (request.target.endpoint) {
    case Endpoint::kKeys:
      // Without read lists, public_reads settles every read: no rule walk.
      if (read && public_reads_ && !has_read_lists_) return Allow("public_reads", "public read");
      if (read) return DecideKeyRead(request);
      return DecideKey(request, read);
    case Endpoint::kPublicRead:
      if (read && public_reads_) return Allow("public_reads", "public read");
      return DecideByRootRule(request.identity);
    case Endpoint::kOther:
      return DecideByRootRule(request.identity);
  }
  return Deny(request.identity, kNoRule, "unknown endpoint");
}

Decision Acl::JudgeV3Call(const Identity& identity, const V3Request& request) const {
  switch (v3_mode_) {
    case config::Config::V3Mode::kOff:
      return Decision{Verdict::kForbidden, "v3:off", "the v3 API is disabled", std::nullopt};
    case config::Config::V3Mode::kAdminOnly:
      if (read_only_ && request.IsWrite()) {
        return ReadOnly();
      }
      return DecideByRootRule(identity);
    case config::Config::V3Mode::kAcl:
      break;
  }
  return JudgeV3(identity, request);
}

Decision Acl::JudgeV3(const Identity& identity, const V3Request& request) const {
  if (read_only_ && request.IsWrite()) {
    return ReadOnly();
  }
  if (request.admin_only) {
    if (request.public_read && public_reads_) return Allow("public_reads", "public read");
    return DecideByRootRule(identity);
  }
  if (request.accesses.empty()) {
    if (public_reads_ && !request.IsWrite()) return Allow("public_reads", "public read");
    return DecideByRootRule(identity);
  }
  return DecideV3Accesses(identity, request);
}

Decision Acl::DecideV3Accesses(const Identity& identity, const V3Request& request) const {
  std::vector<std::string> checked;
  bool all_open = true;
  for (const KeyAccess& access : request.accesses) {
    const bool read = access.kind == AccessKind::kRead;
    const RangeRules touched = RulesForAccess(rules_, access);
    if (touched.unruled && !(read && public_reads_)) {
      return Deny(identity, kNoRule, "v3 range reaches keys no rule covers");
    }
    for (const config::AclRule* rule : touched.rules) {
      // A read of a rule without its own read list is public under
      // public_reads: nothing to check, nothing to name.
      if (read && !rule->readers && public_reads_) continue;
      if (read ? !ListsReader(*rule, identity) : !Lists(*rule, identity)) {
        return Deny(identity, rule->prefix, NotListedReason(identity, rule->prefix));
      }
      all_open = all_open && (read && rule->readers ? rule->readers->empty() : rule->users.empty());
      if (std::find(checked.begin(), checked.end(), rule->prefix) == checked.end()) {
        checked.push_back(rule->prefix);
      }
    }
  }
  if (checked.empty()) return Allow("public_reads", "public read");
  std::string rules;
  for (const std::string& prefix : checked) rules += (rules.empty() ? "" : ",") + prefix;
  return Allow(rules, all_open ? "open rule" : "listed");
}

// A v2 read of a key. The winning rule's readers decide; a rule below the
// key with its own read list is reached by any read (the key may be a
// directory, whose listing shows what is below), a rule below without one
// only by a recursive read under private reads, as before read lists.
Decision Acl::DecideKeyRead(const AclRequest& request) const {
  const Identity& identity = request.identity;
  const config::AclRule* rule = WinningRule(request.target.key);
  bool private_rule_reached = rule != nullptr && rule->readers.has_value();
  for (const config::AclRule* below : RulesBelow(request.target.key)) {
    if (below->readers) {
      private_rule_reached = true;
      if (!ListsReader(*below, identity)) {
        return Deny(identity, below->prefix, "read reaches " + below->prefix);
      }
    } else if (!public_reads_ && request.reaches_subtree && !Lists(*below, identity)) {
      return Deny(identity, below->prefix, "recursive read reaches " + below->prefix);
    }
  }
  if (rule == nullptr) {
    if (public_reads_) return Allow("public_reads", "public read");
    return Deny(identity, kNoRule, "no rule covers key");
  }
  if (!ListsReader(*rule, identity)) {
    return Deny(identity, rule->prefix, NotListedReason(identity, rule->prefix));
  }
  if (public_reads_ && !private_rule_reached) return Allow("public_reads", "public read");
  const bool open = rule->readers ? rule->readers->empty() : rule->users.empty();
  return Allow(rule->prefix, open ? "open rule" : "listed");
}

Decision Acl::DecideKey(const AclRequest& request, bool read) const {
  const Identity& identity = request.identity;
  const config::AclRule* rule = WinningRule(request.target.key);
  if (rule == nullptr) return Deny(identity, kNoRule, "no rule covers key");
  if (!Lists(*rule, identity))
    return Deny(identity, rule->prefix, NotListedReason(identity, rule->prefix));
  if (request.reaches_subtree) {
    for (const config::AclRule* below : RulesBelow(request.target.key)) {
      if (Lists(*below, identity)) continue;
      std::string verb = read ? "recursive read" : "recursive write";
      return Deny(identity, below->prefix, verb + " reaches " + below->prefix);
    }
  }
  return Allow(rule->prefix, rule->users.empty() ? "open rule" : "listed");
}

Decision Acl::DecideByRootRule(const Identity& identity) const {
  const config::AclRule* root = nullptr;
  for (const config::AclRule& rule : rules_) {
    if (rule.prefix == "/") root = &rule;
  }
  if (root == nullptr) return Deny(identity, kNoRule, "no / rule");
  if (!Lists(*root, identity)) return Deny(identity, "/", NotListedReason(identity, "/"));
  return Allow("/", root->users.empty() ? "open rule" : "listed");
}

}  // namespace tlsproxy::acl
