// Read lists (the long rule form {write: ..., read: ...}): who may read
// where, over v2 keys and v3 ranges, and that a rule without a read list
// keeps today's meaning (reads follow public_reads, else the write list).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "acl/acl.h"
#include "acl/request_target.h"
#include "tests/unit/acl_test_rules.h"

namespace tlsproxy::acl {
namespace {

using Names = std::vector<std::string>;

std::vector<config::AclRule> Rules() {
  return {
      {"/", {"root"}, 1, std::nullopt},
      {"/conftool", {"conftool", "root"}, 2, Names{"monitoring", "conftool", "root"}},
      {"/eventlogging", {}, 3, Names{}},
      {"/registry/secrets", {"apiserver"}, 4, Names{"apiserver"}},
  };
}

std::shared_ptr<const Acl> Compile(bool public_reads) {
  config::Config config;
  config.acls = Rules();
  config.public_reads = public_reads;
  return Acl::Compile(config);
}

const Identity kNobody{};
const Identity kMonitoring{std::nullopt, "monitoring"};
const Identity kConftool{"conftool", std::nullopt};
const Identity kApiserver{"apiserver", std::nullopt};
const Identity kRoot{std::nullopt, "root"};

Decision V2(const Acl& acl, const Identity& identity, const std::string& method,
            const std::string& target) {
  return acltest::DecideV2(acl, identity, method, target);
}

Decision Range(const Acl& acl, const Identity& identity, const std::string& key,
               const std::string& end) {
  return acl.DecideV3(identity, acltest::RangeRequest(key, end));
}

TEST(ReadListsTest, V2ReadsFollowTheReadList) {
  const auto acl = Compile(/*public_reads=*/true);
  EXPECT_EQ(V2(*acl, kNobody, "GET", "/v2/keys/conftool/a").verdict, Verdict::kNeedCredentials);
  EXPECT_TRUE(V2(*acl, kMonitoring, "GET", "/v2/keys/conftool/a").allowed());
  EXPECT_EQ(V2(*acl, kMonitoring, "GET", "/v2/keys/conftool/a").rule, "/conftool");
  EXPECT_EQ(V2(*acl, kMonitoring, "PUT", "/v2/keys/conftool/a").verdict, Verdict::kForbidden);
  EXPECT_TRUE(V2(*acl, kConftool, "PUT", "/v2/keys/conftool/a").allowed());
  EXPECT_EQ(V2(*acl, kConftool, "GET", "/v2/keys/registry/secrets/x").verdict, Verdict::kForbidden);
  EXPECT_TRUE(V2(*acl, kApiserver, "GET", "/v2/keys/registry/secrets/x").allowed());
  // read: any under that prefix only; a rule without a read list stays public.
  EXPECT_TRUE(V2(*acl, kNobody, "GET", "/v2/keys/eventlogging/x").allowed());
  const Decision other = V2(*acl, kNobody, "GET", "/v2/keys/other");
  EXPECT_TRUE(other.allowed());
  EXPECT_EQ(other.rule, "public_reads");
}

TEST(ReadListsTest, AReadOfADirectoryReachesTheReadListsBelow) {
  const auto acl = Compile(true);
  for (const std::string target : {"/v2/keys/registry", "/v2/keys/registry?recursive=true",
                                   "/v2/keys/", "/v2/keys/?recursive=true&wait=true"}) {
    const Decision refused = V2(*acl, kMonitoring, "GET", target);
    EXPECT_FALSE(refused.allowed()) << target;
    EXPECT_EQ(refused.rule, "/registry/secrets") << target;
  }
  const Decision registry = V2(*acl, kNobody, "GET", "/v2/keys/registry");
  EXPECT_EQ(registry.rule, "/registry/secrets");
  EXPECT_TRUE(V2(*acl, kApiserver, "GET", "/v2/keys/registry").allowed());
}

TEST(ReadListsTest, V3RangesNeedReadRightsOnEveryRuleTheyReach) {
  const auto acl = Compile(true);
  EXPECT_FALSE(Range(*acl, kNobody, "/registry/", "/registry0").allowed());
  EXPECT_TRUE(Range(*acl, kApiserver, "/registry/", "/registry0").allowed());
  EXPECT_TRUE(Range(*acl, kMonitoring, "/conftool/", "/conftool0").allowed());
  const Decision everything = Range(*acl, kMonitoring, "", std::string(1, '\0'));
  EXPECT_FALSE(everything.allowed());
  EXPECT_EQ(everything.rule, "/registry/secrets");
  const Decision outside = Range(*acl, kNobody, "/other/", "/other0");
  EXPECT_TRUE(outside.allowed());
  EXPECT_EQ(outside.rule, "public_reads");
}

TEST(ReadListsTest, PrivateReadsKeepTheWriteListWhereThereIsNoReadList) {
  const auto acl = Compile(/*public_reads=*/false);
  EXPECT_EQ(V2(*acl, kNobody, "GET", "/v2/keys/other").verdict, Verdict::kNeedCredentials);
  EXPECT_TRUE(V2(*acl, kRoot, "GET", "/v2/keys/other").allowed());
  EXPECT_TRUE(V2(*acl, kNobody, "GET", "/v2/keys/eventlogging/x").allowed());  // read: any
  EXPECT_TRUE(V2(*acl, kMonitoring, "GET", "/v2/keys/conftool/a").allowed());
  EXPECT_FALSE(Range(*acl, kNobody, "/other", "").allowed());
}

}  // namespace
}  // namespace tlsproxy::acl

namespace tlsproxy::acl {
namespace {

// --check prints Acl::Explain(): one line per rule, readers spelled out.
TEST(ReadListsTest, ExplainSaysWhoMayWriteAndReadUnderEachRule) {
  const std::vector<std::string> lines = Compile(/*public_reads=*/true)->Explain();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0],
            "\"/\" (line 1): write: root; read: anyone (public_reads); also every endpoint "
            "outside /v2/keys and the v3 admin calls");
  EXPECT_EQ(lines[1],
            "\"/conftool\" (line 2): write: conftool, root; read: monitoring, conftool, root only");
  EXPECT_EQ(lines[2], "\"/eventlogging\" (line 3): write: anyone; read: anyone (read: any)");
  EXPECT_EQ(lines[3], "\"/registry/secrets\" (line 4): write: apiserver; read: apiserver only");
  EXPECT_EQ(Compile(/*public_reads=*/false)->Explain()[0].substr(0, 60),
            "\"/\" (line 1): write: root; read: root (the writers: public_r");
}

}  // namespace
}  // namespace tlsproxy::acl
