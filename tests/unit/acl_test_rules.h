// The ACL table the ACL unit tests share: the nginx tlsproxy's, with a
// protected sub-prefix under /conftool and an open /eventlogging.
#pragma once

#include <vector>

#include "config/config.h"

namespace tlsproxy::acl::acltest {

inline std::vector<config::AclRule> StandardRules() {
  return {
      {"/", {"root"}, 1, std::nullopt},
      {"/conftool", {"root", "conftool"}, 2, std::nullopt},
      {"/conftool/secret", {"root"}, 3, std::nullopt},
      {"/eventlogging", {}, 4, std::nullopt},
  };
}

}  // namespace tlsproxy::acl::acltest
