// Unit tests for acl/acl: who may do what where, and which rule said so.
// Targets go through ParseRequestTarget and ReachesSubtree first, as in the
// proxy, so each row reads like the request line that produced it.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "acl/acl.h"
#include "acl/request_target.h"
#include "tests/unit/acl_test_rules.h"

namespace tlsproxy::acl {
namespace {

config::Config MakeConfig(std::vector<config::AclRule> rules, bool public_reads = true,
                          bool read_only = false) {
  config::Config config;
  config.acls = std::move(rules);
  config.public_reads = public_reads;
  config.read_only = read_only;
  return config;
}

using acltest::StandardRules;

const Identity kNobody{};
const Identity kRoot{std::nullopt, "root"};
const Identity kConftool{std::nullopt, "conftool"};
const Identity kCertConftool{"conftool", std::nullopt};
const Identity kCertRoot{"root", std::nullopt};
const Identity kCertOtherBasicConftool{"other", "conftool"};
const Identity kCertConftoolBasicOther{"conftool", "other"};
const Identity kCertOther{"other", std::nullopt};

struct Case {
  std::string name;
  Identity identity;
  std::string method;
  std::string target;  // raw request target; its query feeds ReachesSubtree
  Verdict verdict;
  std::string rule;
  std::string body = "";  // urlencoded form body
};

Decision DecideCase(const Acl& acl, const Case& c) {
  TargetResult parsed = ParseRequestTarget(c.target);
  EXPECT_TRUE(parsed.target.has_value()) << parsed.error;
  if (!parsed.target) return Decision{};
  AclRequest request{c.identity, c.method, *parsed.target,
                     ReachesSubtree(parsed.target->query, c.body, "")};
  return acl.Decide(request);
}

void RunTable(const config::Config& config, const std::vector<Case>& cases) {
  std::shared_ptr<const Acl> acl = Acl::Compile(config);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + ": " + c.identity.ToString() + " " + c.method + " " + c.target);
    Decision decision = DecideCase(*acl, c);
    EXPECT_EQ(decision.verdict, c.verdict) << decision.reason;
    EXPECT_EQ(decision.rule, c.rule) << decision.reason;
    EXPECT_FALSE(decision.reason.empty());
    EXPECT_EQ(decision.allowed(), c.verdict == Verdict::kAllow);
  }
}

constexpr Verdict kAllow = Verdict::kAllow;
constexpr Verdict k401 = Verdict::kNeedCredentials;
constexpr Verdict k403 = Verdict::kForbidden;
constexpr Verdict kReadOnly = Verdict::kReadOnly;

TEST(AclDecideTest, StandardRulesPublicReads) {
  RunTable(
      MakeConfig(StandardRules()),
      {
          // Public reads, anywhere, by anyone, even recursive.
          {"get key", kNobody, "GET", "/v2/keys/conftool/a", kAllow, "public_reads"},
          {"head key", kNobody, "HEAD", "/v2/keys/conftool/secret/a", kAllow, "public_reads"},
          {"options key", kNobody, "OPTIONS", "/v2/keys", kAllow, "public_reads"},
          {"recursive get", kNobody, "GET", "/v2/keys/?recursive=true", kAllow, "public_reads"},
          {"lowercase get is a write", kNobody, "get", "/v2/keys/a", k401, "/"},
          // Writes per rule.
          {"root writes root", kRoot, "PUT", "/v2/keys/a", kAllow, "/"},
          {"root writes root dir", kRoot, "POST", "/v2/keys", kAllow, "/"},
          {"anon writes root", kNobody, "PUT", "/v2/keys/a", k401, "/"},
          {"anon posts root dir", kNobody, "POST", "/v2/keys/", k401, "/"},
          {"conftool writes root", kConftool, "PUT", "/v2/keys/a", k403, "/"},
          {"conftool writes own", kConftool, "PUT", "/v2/keys/conftool/a", kAllow, "/conftool"},
          {"conftool writes own top", kConftool, "PUT", "/v2/keys/conftool", kAllow, "/conftool"},
          {"conftool writes own slash", kConftool, "DELETE", "/v2/keys/conftool/a/", kAllow,
           "/conftool"},
          {"conftool writes encoded", kConftool, "PUT", "/v2/keys/%63onftool/a", kAllow,
           "/conftool"},
          {"conftool writes conftoolX", kConftool, "PUT", "/v2/keys/conftoolX", k403, "/"},
          {"conftool writes conftoolX child", kConftool, "PUT", "/v2/keys/conftoolX/a", k403, "/"},
          {"conftool writes secret", kConftool, "PUT", "/v2/keys/conftool/secret/a", k403,
           "/conftool/secret"},
          {"conftool writes secretX", kConftool, "PUT", "/v2/keys/conftool/secretX", kAllow,
           "/conftool"},
          {"root writes secret", kRoot, "PUT", "/v2/keys/conftool/secret/a", kAllow,
           "/conftool/secret"},
          {"anon writes conftool", kNobody, "PUT", "/v2/keys/conftool/a", k401, "/conftool"},
          {"anon writes eventlogging", kNobody, "PUT", "/v2/keys/eventlogging/x", kAllow,
           "/eventlogging"},
          {"anon writes eventlogging top", kNobody, "POST", "/v2/keys/eventlogging", kAllow,
           "/eventlogging"},
          {"anon writes eventloggingX", kNobody, "PUT", "/v2/keys/eventloggingX", k401, "/"},
          // Writes that reach the subtree.
          {"conftool recursive delete own", kConftool, "DELETE", "/v2/keys/conftool?recursive=true",
           k403, "/conftool/secret"},
          {"conftool recursive delete leaf", kConftool, "DELETE",
           "/v2/keys/conftool/a?recursive=true", kAllow, "/conftool"},
          {"conftool recursive delete secretX", kConftool, "DELETE",
           "/v2/keys/conftool/secretX?recursive=true", kAllow, "/conftool"},
          {"root recursive delete conftool", kRoot, "DELETE", "/v2/keys/conftool?recursive=true",
           kAllow, "/conftool"},
          {"root recursive delete all", kRoot, "DELETE", "/v2/keys/?recursive=true", kAllow, "/"},
          {"conftool ttl on dir", kConftool, "PUT", "/v2/keys/conftool?ttl=5&dir=true", k403,
           "/conftool/secret"},
          {"conftool dir", kConftool, "PUT", "/v2/keys/conftool?dir=true", k403,
           "/conftool/secret"},
          {"conftool refresh", kConftool, "PUT", "/v2/keys/conftool?refresh=true", k403,
           "/conftool/secret"},
          {"conftool encoded recursive", kConftool, "DELETE", "/v2/keys/conftool?%72ecursive=true",
           k403, "/conftool/secret"},
          {"conftool ttl in body", kConftool, "PUT", "/v2/keys/conftool", k403, "/conftool/secret",
           "value=x&ttl=5"},
          {"conftool value in body", kConftool, "PUT", "/v2/keys/conftool/a", kAllow, "/conftool",
           "value=x&prevExist=false"},
          {"root ttl on conftool", kRoot, "PUT", "/v2/keys/conftool?ttl=5", kAllow, "/conftool"},
          {"conftool plain write top", kConftool, "PUT", "/v2/keys/conftool?value=1", kAllow,
           "/conftool"},
          // Recursive delete of the root: the open /eventlogging rule lets anyone
          // through, /conftool and /conftool/secret do not.
          {"anon recursive delete root", kNobody, "DELETE", "/v2/keys?recursive=true", k401, "/"},
          {"anon recursive delete eventlogging", kNobody, "DELETE",
           "/v2/keys/eventlogging?recursive=true", kAllow, "/eventlogging"},
          // Identities: certificate, basic, both.
          {"cert conftool", kCertConftool, "PUT", "/v2/keys/conftool/a", kAllow, "/conftool"},
          {"cert conftool root", kCertConftool, "PUT", "/v2/keys/a", k403, "/"},
          {"cert root", kCertRoot, "PUT", "/v2/keys/conftool/secret/a", kAllow, "/conftool/secret"},
          {"cert other", kCertOther, "PUT", "/v2/keys/conftool/a", k403, "/conftool"},
          {"cert other basic conftool", kCertOtherBasicConftool, "PUT", "/v2/keys/conftool/a",
           kAllow, "/conftool"},
          {"cert conftool basic other", kCertConftoolBasicOther, "PUT", "/v2/keys/conftool/a",
           kAllow, "/conftool"},
          {"both, neither listed", kCertConftoolBasicOther, "PUT", "/v2/keys/a", k403, "/"},
          // Outside /v2/keys.
          {"get members", kNobody, "GET", "/v2/members", kAllow, "public_reads"},
          {"get leader", kNobody, "GET", "/v2/members/leader", kAllow, "public_reads"},
          {"get machines", kNobody, "GET", "/v2/machines", kAllow, "public_reads"},
          {"get stats", kNobody, "GET", "/v2/stats/self", kAllow, "public_reads"},
          {"get version", kNobody, "GET", "/version", kAllow, "public_reads"},
          {"get health", kNobody, "GET", "/health", kAllow, "public_reads"},
          {"get metrics", kNobody, "GET", "/metrics", kAllow, "public_reads"},
          {"anon post members", kNobody, "POST", "/v2/members", k401, "/"},
          {"conftool post members", kConftool, "POST", "/v2/members", k403, "/"},
          {"root post members", kRoot, "POST", "/v2/members", kAllow, "/"},
          {"anon delete member", kNobody, "DELETE", "/v2/members/8e9e05c52164694d", k401, "/"},
          {"anon v3 put", kNobody, "POST", "/v3/kv/put", k401, "/"},
          {"conftool v3 put", kConftool, "POST", "/v3/kv/put", k403, "/"},
          {"root v3 put", kRoot, "POST", "/v3/kv/put", kAllow, "/"},
          {"anon get auth users", kNobody, "GET", "/v2/auth/users", k401, "/"},
          {"conftool get auth users", kConftool, "GET", "/v2/auth/users", k403, "/"},
          {"root get auth users", kRoot, "GET", "/v2/auth/users", kAllow, "/"},
          {"anon get unknown", kNobody, "GET", "/debug/vars", k401, "/"},
          {"anon get membersX", kNobody, "GET", "/v2/membersX", k401, "/"},
          {"anon get uppercase keys", kNobody, "GET", "/V2/keys/a", k401, "/"},
          {"anon get root path", kNobody, "GET", "/", k401, "/"},
      });
}

TEST(AclDecideTest, NoPublicReads) {
  RunTable(MakeConfig(StandardRules(), /*public_reads=*/false),
           {
               {"anon get", kNobody, "GET", "/v2/keys/a", k401, "/"},
               {"conftool get root", kConftool, "GET", "/v2/keys/a", k403, "/"},
               {"conftool get own", kConftool, "GET", "/v2/keys/conftool/a", kAllow, "/conftool"},
               {"conftool head own", kConftool, "HEAD", "/v2/keys/conftool/a", kAllow, "/conftool"},
               {"conftool get secret", kConftool, "GET", "/v2/keys/conftool/secret", k403,
                "/conftool/secret"},
               {"conftool recursive get own", kConftool, "GET", "/v2/keys/conftool?recursive=true",
                k403, "/conftool/secret"},
               {"root recursive get all", kRoot, "GET", "/v2/keys?recursive=true", kAllow, "/"},
               {"anon get eventlogging", kNobody, "GET", "/v2/keys/eventlogging/a", kAllow,
                "/eventlogging"},
               {"anon get members", kNobody, "GET", "/v2/members", k401, "/"},
               {"conftool get version", kConftool, "GET", "/version", k403, "/"},
               {"root get health", kRoot, "GET", "/health", kAllow, "/"},
               {"cert root get stats", kCertRoot, "GET", "/v2/stats/leader", kAllow, "/"},
           });
}

TEST(AclDecideTest, ReadOnly) {
  RunTable(
      MakeConfig(StandardRules(), /*public_reads=*/true, /*read_only=*/true),
      {
          {"root put", kRoot, "PUT", "/v2/keys/a", kReadOnly, "read_only"},
          {"anon put eventlogging", kNobody, "PUT", "/v2/keys/eventlogging/a", kReadOnly,
           "read_only"},
          {"root delete", kRoot, "DELETE", "/v2/keys/a?recursive=true", kReadOnly, "read_only"},
          {"root post members", kRoot, "POST", "/v2/members", kReadOnly, "read_only"},
          {"anon v3 put", kNobody, "POST", "/v3/kv/put", kReadOnly, "read_only"},
          {"anon get", kNobody, "GET", "/v2/keys/a", kAllow, "public_reads"},
          {"root get auth", kRoot, "GET", "/v2/auth/users", kAllow, "/"},
      });
}

TEST(AclDecideTest, NoRootRule) {
  RunTable(
      MakeConfig({{"/conftool", {"conftool"}, 1, std::nullopt}, {"/open", {}, 2, std::nullopt}}),
      {
          {"conftool writes own", kConftool, "PUT", "/v2/keys/conftool/a", kAllow, "/conftool"},
          {"conftool writes elsewhere", kConftool, "PUT", "/v2/keys/a", k403, "-"},
          {"anon writes elsewhere", kNobody, "PUT", "/v2/keys/a", k401, "-"},
          {"anon writes open", kNobody, "PUT", "/v2/keys/open/a", kAllow, "/open"},
          {"anon get", kNobody, "GET", "/v2/keys/a", kAllow, "public_reads"},
          {"anon get members", kNobody, "GET", "/v2/members", kAllow, "public_reads"},
          {"conftool post members", kConftool, "POST", "/v2/members", k403, "-"},
          {"conftool v3", kConftool, "POST", "/v3/kv/range", k403, "-"},
          {"anon auth", kNobody, "GET", "/v2/auth/enable", k401, "-"},
      });
}

TEST(AclDecideTest, OpenRootRule) {
  RunTable(
      MakeConfig({{"/", {}, 1, std::nullopt}, {"/locked", {"root"}, 2, std::nullopt}},
                 /*public_reads=*/false),
      {
          {"anon writes root", kNobody, "PUT", "/v2/keys/a", kAllow, "/"},
          {"anon reads root", kNobody, "GET", "/v2/keys/a", kAllow, "/"},
          {"anon v3", kNobody, "POST", "/v3/kv/put", kAllow, "/"},
          {"anon writes locked", kNobody, "PUT", "/v2/keys/locked/a", k401, "/locked"},
          {"anon recursive delete root", kNobody, "DELETE", "/v2/keys?recursive=true", k401,
           "/locked"},
          {"root recursive delete root", kRoot, "DELETE", "/v2/keys?recursive=true", kAllow, "/"},
      });
}

TEST(AclDecideTest, ReasonsNameTheUserAndTheRule) {
  std::shared_ptr<const Acl> acl = Acl::Compile(MakeConfig(StandardRules()));
  EXPECT_EQ(DecideCase(*acl, {"", kConftool, "PUT", "/v2/keys/a", k403, ""}).reason,
            "user conftool not listed on /");
  EXPECT_EQ(DecideCase(*acl, {"", kNobody, "PUT", "/v2/keys/a", k401, ""}).reason, "no identity");
  EXPECT_EQ(
      DecideCase(*acl, {"", kConftool, "DELETE", "/v2/keys/conftool?recursive=1", k403, ""}).reason,
      "recursive write reaches /conftool/secret");
  std::shared_ptr<const Acl> no_root =
      Acl::Compile(MakeConfig({{"/a", {"root"}, 1, std::nullopt}}));
  EXPECT_EQ(DecideCase(*no_root, {"", kRoot, "PUT", "/v2/keys/b", k403, ""}).reason,
            "no rule covers key");
}

TEST(AclDecideTest, IsReadMethod) {
  for (const char* method : {"GET", "HEAD", "OPTIONS"}) EXPECT_TRUE(Acl::IsReadMethod(method));
  for (const char* method : {"PUT", "POST", "DELETE", "PATCH", "get", "Head", "TRACE", ""}) {
    EXPECT_FALSE(Acl::IsReadMethod(method)) << method;
  }
}

TEST(IdentityTest, ToString) {
  EXPECT_EQ(kNobody.ToString(), "-");
  EXPECT_EQ(kCertConftool.ToString(), "cert:conftool");
  EXPECT_EQ(kRoot.ToString(), "basic:root");
  EXPECT_EQ(kCertOtherBasicConftool.ToString(), "cert:other,basic:conftool");
  EXPECT_TRUE(kNobody.empty());
  EXPECT_FALSE(kCertOther.empty());
}

}  // namespace
}  // namespace tlsproxy::acl
