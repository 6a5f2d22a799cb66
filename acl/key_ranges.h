// The key-range algebra of the v3 ACL: which `acls` rules a key access
// reaches, worked out exactly over byte-ordered keys. Pure; shared by every
// v3 front end through Acl::DecideV3.
#pragma once

#include <vector>

#include "acl/v3_operation.h"
#include "config/config.h"

namespace tlsproxy::acl {

// The rules an access needs: every rule that wins at least one key of the
// access's range (a rule wins a key when its prefix matches the key on whole
// segments and no longer prefix does, as for v2; a key not starting with '/'
// falls under "/"). Computed exactly over byte-ordered keys. An empty or
// inverted range ([key, range_end) with range_end <= key) needs the rule of
// `key` alone.
struct RangeRules {
  std::vector<const config::AclRule*> rules;  // in the order of `acls`, no duplicates
  bool unruled = false;  // some key in the range falls under no rule (no "/" rule)
};
RangeRules RulesForAccess(const std::vector<config::AclRule>& acls, const KeyAccess& access);

}  // namespace tlsproxy::acl
