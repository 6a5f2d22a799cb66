// The ACL table the ACL unit tests share: the nginx tlsproxy's, with a
// protected sub-prefix under /conftool and an open /eventlogging.
#pragma once

#include <vector>

#include "config/config.h"

namespace tlsproxy::acl::acltest {

inline std::vector<config::AclRule> StandardRules() {
  return {
      {"/", {"root"}, 1},
      {"/conftool", {"root", "conftool"}, 2},
      {"/conftool/secret", {"root"}, 3},
      {"/eventlogging", {}, 4},
  };
}

}  // namespace tlsproxy::acl::acltest
