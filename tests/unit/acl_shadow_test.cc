// Shadow mode (`enforce: shadow`): every decision is made as when enforcing,
// and a refusal comes back as an allow that carries the would-be verdict,
// the rule and the reason; an allow carries nothing; read_only refuses in
// both modes. Table-driven over v2 keys, other endpoints, v3 ranges and the
// v3 modes.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acl/acl.h"
#include "acl/request_target.h"
#include "tests/unit/acl_test_rules.h"

namespace tlsproxy::acl {
namespace {

using Names = std::vector<std::string>;

config::Config BaseConfig() {
  config::Config config;
  config.acls = {
      {"/", {"root"}, 1, std::nullopt},
      {"/conftool", {"conftool", "root"}, 2, std::nullopt},
      {"/registry/secrets", {"apiserver"}, 3, Names{"apiserver"}},
  };
  return config;
}

std::shared_ptr<const Acl> Compile(bool shadow, bool read_only = false,
                                   config::Config::V3Mode v3 = config::Config::V3Mode::kAcl) {
  config::Config config = BaseConfig();
  config.shadow = shadow;
  config.read_only = read_only;
  config.v3 = v3;
  return Acl::Compile(config);
}

const Identity kNobody{};
const Identity kConftool{"conftool", std::nullopt};
const Identity kRoot{std::nullopt, "root"};

Decision V2(const Acl& acl, const Identity& identity, const std::string& method,
            const std::string& target) {
  return acltest::DecideV2(acl, identity, method, target);
}

Decision V3Put(const Acl& acl, const Identity& identity, const std::string& key) {
  V3Request request;
  request.endpoint = "kv/put";
  request.accesses.push_back(KeyAccess{AccessKind::kWrite, key, ""});
  return acl.DecideV3Call(identity, request);
}

Decision V3Range(const Acl& acl, const Identity& identity, const std::string& key,
                 const std::string& end) {
  return acl.DecideV3Call(identity, acltest::RangeRequest(key, end));
}

struct Case {
  std::string name;
  std::function<Decision(const Acl&)> decide;
};

std::vector<Case> Cases() {
  return {
      {"anonymous v2 write", [](const Acl& a) { return V2(a, kNobody, "PUT", "/v2/keys/x"); }},
      {"unlisted v2 write",
       [](const Acl& a) { return V2(a, kConftool, "PUT", "/v2/keys/elsewhere/x"); }},
      {"listed v2 write",
       [](const Acl& a) { return V2(a, kConftool, "PUT", "/v2/keys/conftool/x"); }},
      {"recursive delete reaching a rule",
       [](const Acl& a) { return V2(a, kConftool, "DELETE", "/v2/keys/?recursive=true"); }},
      {"private v2 read",
       [](const Acl& a) { return V2(a, kNobody, "GET", "/v2/keys/registry/secrets/t"); }},
      {"directory read reaching a private rule",
       [](const Acl& a) { return V2(a, kConftool, "GET", "/v2/keys/registry"); }},
      {"public v2 read", [](const Acl& a) { return V2(a, kNobody, "GET", "/v2/keys/x"); }},
      {"members write", [](const Acl& a) { return V2(a, kNobody, "POST", "/v2/members"); }},
      {"v3 put refused", [](const Acl& a) { return V3Put(a, kConftool, "/x"); }},
      {"v3 put allowed", [](const Acl& a) { return V3Put(a, kRoot, "/x"); }},
      {"v3 range over a private rule",
       [](const Acl& a) { return V3Range(a, kConftool, "/registry/", "/registry0"); }},
  };
}

TEST(ShadowModeTest, ARefusalBecomesAnAllowCarryingTheWouldBeVerdict) {
  const auto enforcing = Compile(/*shadow=*/false);
  const auto shadow = Compile(/*shadow=*/true);
  int refusals = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const Decision enforced = c.decide(*enforcing);
    const Decision shadowed = c.decide(*shadow);
    EXPECT_FALSE(enforced.shadow_denied.has_value());
    EXPECT_TRUE(shadowed.allowed());
    EXPECT_EQ(shadowed.rule, enforced.rule);
    EXPECT_EQ(shadowed.reason, enforced.reason);
    if (enforced.allowed()) {
      EXPECT_FALSE(shadowed.shadow_denied.has_value());
    } else {
      ++refusals;
      ASSERT_TRUE(shadowed.shadow_denied.has_value());
      EXPECT_EQ(*shadowed.shadow_denied, enforced.verdict);
    }
  }
  EXPECT_EQ(refusals, 8);  // the table has both kinds
}

TEST(ShadowModeTest, TheWouldBeVerdictIsTheEnforcedOne) {
  const auto shadow = Compile(/*shadow=*/true);
  EXPECT_EQ(V2(*shadow, kNobody, "PUT", "/v2/keys/x").shadow_denied, Verdict::kNeedCredentials);
  const Decision unlisted = V2(*shadow, kConftool, "PUT", "/v2/keys/elsewhere/x");
  EXPECT_EQ(unlisted.shadow_denied, Verdict::kForbidden);
  EXPECT_EQ(unlisted.rule, "/");
  const Decision reached = V2(*shadow, kConftool, "GET", "/v2/keys/registry");
  EXPECT_EQ(reached.shadow_denied, Verdict::kForbidden);
  EXPECT_EQ(reached.rule, "/registry/secrets");
}

TEST(ShadowModeTest, ReadOnlyStillRefusesEveryWrite) {
  const auto shadow = Compile(/*shadow=*/true, /*read_only=*/true);
  for (const Identity& who : {kNobody, kConftool, kRoot}) {
    SCOPED_TRACE(who.ToString());
    const Decision v2 = V2(*shadow, who, "PUT", "/v2/keys/conftool/x");
    EXPECT_EQ(v2.verdict, Verdict::kReadOnly);
    EXPECT_FALSE(v2.shadow_denied.has_value());
    EXPECT_EQ(V3Put(*shadow, who, "/conftool/x").verdict, Verdict::kReadOnly);
  }
  EXPECT_TRUE(V2(*shadow, kNobody, "GET", "/v2/keys/x").allowed());
}

TEST(ShadowModeTest, TheV3ModesAreShadowedToo) {
  const auto off = Compile(/*shadow=*/true, false, config::Config::V3Mode::kOff);
  const Decision refused = V3Range(*off, kRoot, "/x", "");
  EXPECT_TRUE(refused.allowed());
  EXPECT_EQ(refused.shadow_denied, Verdict::kForbidden);
  EXPECT_EQ(refused.rule, "v3:off");
  const auto admin_only = Compile(/*shadow=*/true, false, config::Config::V3Mode::kAdminOnly);
  EXPECT_EQ(V3Put(*admin_only, kConftool, "/conftool/x").shadow_denied, Verdict::kForbidden);
  EXPECT_FALSE(V3Put(*admin_only, kRoot, "/conftool/x").shadow_denied.has_value());
}

}  // namespace
}  // namespace tlsproxy::acl
