// The access decision: identity + method + canonical target -> allow or deny,
// and which rule decided. Pure and immutable; one Acl is compiled from a
// Config and shared by every connection. Fails closed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acl/key_ranges.h"  // DecideV3 decides by RulesForAccess
#include "acl/request_target.h"
#include "acl/v3_operation.h"
#include "acl/v3_request.h"  // proxy/ reaches ParseV3Request through this header
#include "config/config.h"

namespace tlsproxy::acl {

// Who the client proved to be. Both may be set; a rule allows the request if
// either name is listed on it.
struct Identity {
  std::optional<std::string> cert_user;   // verified leaf certificate's subject CN
  std::optional<std::string> basic_user;  // basic-auth user whose password verified
  bool empty() const { return !cert_user && !basic_user; }
  // "-" when empty, else "cert:CN", "basic:user" or both joined by ",".
  std::string ToString() const;
};

struct AclRequest {
  Identity identity;
  std::string method;  // as sent, e.g. "GET", "PUT"; compared case-sensitively
  RequestTarget target;
  bool reaches_subtree = false;  // from ReachesSubtree()
};

enum class Verdict {
  kAllow,
  kNeedCredentials,  // 401: no identity and the rule needs one
  kForbidden,        // 403 errorCode 110: identity not listed
  kReadOnly,         // 403 errorCode 107: read_only and this is a write
};

struct Decision {
  Verdict verdict = Verdict::kForbidden;
  // The rule that decided: an ACL prefix like "/conftool" (for a subtree
  // refusal, the more specific rule below the target that refused), or
  // "public_reads", "read_only", or "-" when no rule covers the request.
  std::string rule;
  std::string reason;  // short text for logs, e.g. "user conftool not on /"
  // Shadow mode (`enforce: shadow`) only: the ACL would have refused with
  // this verdict, and `verdict` is kAllow; `rule` and `reason` are the
  // refusal's. Unset when the ACL allowed, and always in enforcing mode.
  std::optional<Verdict> shadow_denied;
  bool allowed() const { return verdict == Verdict::kAllow; }
};

// Every public Decide* applies the config's `enforce` mode last: in shadow
// mode a refusal becomes an allow carrying shadow_denied, except a kReadOnly
// refusal, which read_only keeps in both modes.
class Acl {
 public:
  // `config` must be valid (LoadResult::ok()).
  static std::shared_ptr<const Acl> Compile(const config::Config& config);

  Decision Decide(const AclRequest& request) const { return Enforce(Judge(request)); }

  // A v3 JSON gateway request, classified by ParseV3Request. In order:
  // read_only refuses IsWrite(); an admin_only endpoint needs the identity on
  // the "/" rule (reads too); a request with no write is allowed when
  // public_reads; a request that touches no key at all needs the "/" rule;
  // otherwise every access not settled by public_reads needs the identity on
  // every rule that wins a key of its range (RulesForAccess), and a range
  // reaching keys no rule covers is refused. On allow, `rule` lists the rules
  // that were checked, comma-separated.
  Decision DecideV3(const Identity& identity, const V3Request& request) const {
    return Enforce(JudgeV3(identity, request));
  }

  // A v3 call under the config's `v3` mode: kOff refuses it (rule "v3:off");
  // kAdminOnly decides it as an admin call (the "/" rule alone; read_only
  // still refuses writes); kAcl is DecideV3. The gRPC front end decides
  // every message through this.
  Decision DecideV3Call(const Identity& identity, const V3Request& request) const {
    return Enforce(JudgeV3Call(identity, request));
  }

  // One line per rule, in prefix order, saying who may write and who may
  // read under it, e.g. `"/conftool" (line 3): write: conftool, root; read:
  // anyone (public_reads)`. For `--check`.
  std::vector<std::string> Explain() const;

  // GET, HEAD, OPTIONS.
  static bool IsReadMethod(const std::string& method);

 private:
  Acl() = default;
  // The decisions as enforced, before the shadow mode is applied.
  Decision Judge(const AclRequest& request) const;
  Decision JudgeV3(const Identity& identity, const V3Request& request) const;
  Decision JudgeV3Call(const Identity& identity, const V3Request& request) const;
  // Applies the `enforce` mode to a decision (see the class comment).
  Decision Enforce(Decision decision) const;
  // Longest rule whose prefix matches `key` on whole segments. Never null
  // when a "/" rule exists; nullptr otherwise.
  const config::AclRule* WinningRule(const std::string& key) const;
  // Rules strictly below `key` (prefix is a descendant of key).
  std::vector<const config::AclRule*> RulesBelow(const std::string& key) const;
  // True when either name of `identity` is in `names`.
  static bool Named(const std::vector<std::string>& names, const Identity& identity);
  // True when the rule lists either identity as a writer, or lists nobody
  // (open rule).
  static bool Lists(const config::AclRule& rule, const Identity& identity);
  // Whether `identity` may read under `rule`: its own read list when it has
  // one (empty: anyone), else anyone under public_reads, else its writers.
  bool ListsReader(const config::AclRule& rule, const Identity& identity) const;
  // A /v2/keys read: the winning rule's readers, and the read lists below.
  Decision DecideKeyRead(const AclRequest& request) const;
  // A /v2/keys request not settled by read_only or public_reads.
  Decision DecideKey(const AclRequest& request, bool read) const;
  // Requests outside /v2/keys (not settled by public_reads): the "/" rule alone.
  Decision DecideByRootRule(const Identity& identity) const;
  // DecideV3 for a request with key accesses, past read_only and public_reads.
  Decision DecideV3Accesses(const Identity& identity, const V3Request& request) const;

  std::vector<config::AclRule> rules_;
  bool public_reads_ = true;
  bool read_only_ = false;
  bool shadow_ = false;
  bool has_read_lists_ = false;  // some rule has its own read list
  config::Config::V3Mode v3_mode_ = config::Config::V3Mode::kAcl;
};

}  // namespace tlsproxy::acl
