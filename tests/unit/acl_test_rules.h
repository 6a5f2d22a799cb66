// What the ACL unit tests share: the nginx tlsproxy's ACL table, with a
// protected sub-prefix under /conftool and an open /eventlogging; and
// one-line ways to ask an Acl about a v2 request or a v3 range.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "acl/acl.h"
#include "acl/request_target.h"
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

// Acl::Decide on a v2 request `method target` (the target as sent, with
// its query), reaching the subtree as its query says.
inline Decision DecideV2(const Acl& acl, const Identity& identity, const std::string& method,
                         const std::string& target) {
  const TargetResult parsed = ParseRequestTarget(target);
  EXPECT_TRUE(parsed.target.has_value()) << parsed.error;
  if (!parsed.target) return Decision{};
  AclRequest request{identity, method, *parsed.target,
                     ReachesSubtree(parsed.target->query, "", "")};
  return acl.Decide(request);
}

// A v3 range read [key, end) as one V3Request (endpoint kv/range).
inline V3Request RangeRequest(const std::string& key, const std::string& end) {
  V3Request request;
  request.endpoint = "kv/range";
  request.accesses.push_back(KeyAccess{AccessKind::kRead, key, end});
  return request;
}

}  // namespace tlsproxy::acl::acltest
