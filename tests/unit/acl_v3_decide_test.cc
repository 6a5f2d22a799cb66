// Unit tests for the v3 side of the ACL: which rules a key range reaches
// (RulesForAccess) and Acl::DecideV3 on requests parsed by ParseV3Request,
// so each row reads like the request the gateway would get. Keys are written
// with %XX for a byte in hex; bodies with <<text>> for the base64 of text.
#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "acl/acl.h"
#include "acl/v3_request.h"
#include "tests/unit/acl_test_rules.h"
#include "tests/unit/v3_body_template.h"

namespace tlsproxy::acl {
namespace {

using v3test::Base64;
using v3test::Body;
using v3test::PercentDecode;

using acltest::StandardRules;

// As StandardRules, without the protected sub-prefix.
std::vector<config::AclRule> FlatRules() {
  return {
      {"/", {"root"}, 1, std::nullopt},
      {"/conftool", {"root", "conftool"}, 2, std::nullopt},
      {"/eventlogging", {}, 4, std::nullopt},
  };
}

// No "/" rule: keys outside /conftool fall under no rule.
std::vector<config::AclRule> NoRootRules() {
  return {{"/conftool", {"conftool"}, 1, std::nullopt}};
}

// ---------------------------------------------------------------------------
// RulesForAccess

struct RangeCase {
  std::string name;
  std::string key;        // %XX-encoded
  std::string range_end;  // %XX-encoded; "" single key, "%00" all keys from key
  std::vector<std::string> rules;
  bool unruled = false;
  std::vector<config::AclRule> (*acls)() = StandardRules;
};

void PrintTo(const RangeCase& c, std::ostream* os) { *os << c.name; }

class RangeTest : public testing::TestWithParam<RangeCase> {};

TEST_P(RangeTest, RulesReached) {
  const RangeCase& c = GetParam();
  const std::vector<config::AclRule> acls = c.acls();
  const KeyAccess access{AccessKind::kRead, PercentDecode(c.key), PercentDecode(c.range_end)};
  const RangeRules got = RulesForAccess(acls, access);
  std::vector<std::string> prefixes;
  for (const config::AclRule* rule : got.rules) prefixes.push_back(rule->prefix);
  EXPECT_EQ(prefixes, c.rules);
  EXPECT_EQ(got.unruled, c.unruled);
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, RangeTest,
    testing::Values(
        // Single keys: the winning rule on whole segments, as for v2.
        RangeCase{"key_under_prefix", "/conftool/a", "", {"/conftool"}},
        RangeCase{"key_is_prefix", "/conftool", "", {"/conftool"}},
        RangeCase{"key_trailing_slash", "/conftool/", "", {"/conftool"}},
        RangeCase{"key_string_prefix_only", "/conftoolX", "", {"/"}},
        RangeCase{"key_sub_prefix", "/conftool/secret/x", "", {"/conftool/secret"}},
        RangeCase{"key_sub_prefix_sibling", "/conftool/secretX", "", {"/conftool"}},
        RangeCase{"key_without_slash", "conftool/a", "", {"/"}},
        RangeCase{"key_empty", "", "", {"/"}}, RangeCase{"key_root", "/", "", {"/"}},
        RangeCase{"key_open_rule", "/eventlogging/x", "", {"/eventlogging"}},
        // Prefix ranges (last byte incremented).
        RangeCase{
            "children_of_conftool", "/conftool/", "/conftool0", {"/conftool", "/conftool/secret"}},
        RangeCase{"children_of_conftool_flat",
                  "/conftool/",
                  "/conftool0",
                  {"/conftool"},
                  false,
                  FlatRules},
        RangeCase{
            "children_of_secret", "/conftool/secret/", "/conftool/secret0", {"/conftool/secret"}},
        RangeCase{"prefix_secret_string",
                  "/conftool/secret",
                  "/conftool/secret0",
                  {"/conftool", "/conftool/secret"}},  // "/conftool/secret!" is /conftool's
        RangeCase{"prefix_conftool_string",
                  "/conftool",
                  "/conftool0",
                  {"/", "/conftool", "/conftool/secret"}},  // "/conftool!" is /'s
        RangeCase{"prefix_conf", "/conf", "/cong", {"/", "/conftool", "/conftool/secret"}},
        RangeCase{"prefix_conf_flat", "/conf", "/cong", {"/", "/conftool"}, false, FlatRules},
        RangeCase{"conftool_to_conftoolz",
                  "/conftool",
                  "/conftoolz",
                  {"/", "/conftool", "/conftool/secret"}},
        RangeCase{
            "children_of_eventlogging", "/eventlogging/", "/eventlogging0", {"/eventlogging"}},
        RangeCase{"prefix_eventlogging_string",
                  "/eventlogging",
                  "/eventlogging0",
                  {"/", "/eventlogging"}},
        // Ordinary ranges.
        RangeCase{"inside_conftool", "/conftool/a", "/conftool/b", {"/conftool"}},
        RangeCase{"over_secret", "/conftool/r", "/conftool/t", {"/conftool", "/conftool/secret"}},
        RangeCase{
            "just_the_secret_key", "/conftool/secret", "/conftool/secret%00", {"/conftool/secret"}},
        RangeCase{"between_secret_key_and_children",
                  "/conftool/secret%01",
                  "/conftool/secret/",
                  {"/conftool"}},
        RangeCase{"ends_at_secret", "/conftool/a", "/conftool/secret", {"/conftool"}},
        RangeCase{"ends_inside_secret",
                  "/conftool/a",
                  "/conftool/secret/a",
                  {"/conftool", "/conftool/secret"}},
        RangeCase{"spans_conftool_and_eventlogging",
                  "/conftool/z",
                  "/eventlogging/b",
                  {"/", "/conftool", "/eventlogging"}},
        RangeCase{"high_bytes", "/conftool/%ff", "/conftool0", {"/conftool"}},
        // range_end "\0": every key from key on.
        RangeCase{"all_from_conftool_children",
                  "/conftool/",
                  "%00",
                  {"/", "/conftool", "/conftool/secret", "/eventlogging"}},
        RangeCase{
            "all_from_high_byte", "/conftool/%ff", "%00", {"/", "/conftool", "/eventlogging"}},
        RangeCase{
            "all_from_eventlogging_children", "/eventlogging/", "%00", {"/", "/eventlogging"}},
        RangeCase{
            "all_keys", "%00", "%00", {"/", "/conftool", "/conftool/secret", "/eventlogging"}},
        RangeCase{
            "all_from_empty", "", "%00", {"/", "/conftool", "/conftool/secret", "/eventlogging"}},
        // Empty and inverted ranges need the key's rule alone.
        RangeCase{"empty_range", "/conftool/secret/", "/conftool/secret/", {"/conftool/secret"}},
        RangeCase{"inverted_range", "/conftool/a", "/", {"/conftool"}},
        // Without a "/" rule, keys outside every prefix are unruled.
        RangeCase{"no_root_inside", "/conftool/", "/conftool0", {"/conftool"}, false, NoRootRules},
        RangeCase{"no_root_key_outside", "/x", "", {}, true, NoRootRules},
        RangeCase{"no_root_spill", "/conftool", "/conftool0", {"/conftool"}, true, NoRootRules}),
    [](const testing::TestParamInfo<RangeCase>& info) { return info.param.name; });

// Cross-check against brute force: every key of a small alphabet up to five
// bytes long, each given its winning rule the v2 way, against random ranges.
// The alphabet holds the bytes that matter around a prefix ('\0', '.' < '/' <
// '0') and every witness key the exact computation can need fits in it, so
// the two must agree exactly.
std::string BruteWinner(const std::vector<config::AclRule>& acls, const std::string& key) {
  std::string winner;  // "" when no rule covers the key
  for (const config::AclRule& rule : acls) {
    const bool covers =
        rule.prefix == "/" || key == rule.prefix || key.starts_with(rule.prefix + "/");
    if (covers && rule.prefix.size() > winner.size()) winner = rule.prefix;
  }
  return winner;
}

std::vector<std::string> AllKeys(std::size_t max_length) {
  const std::string alphabet("\0./0ab", 6);
  std::vector<std::string> keys = {""};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].size() == max_length) continue;
    for (char c : alphabet) keys.push_back(keys[i] + c);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void CrossCheck(const std::vector<config::AclRule>& acls) {
  const std::vector<std::string> keys = AllKeys(5);
  std::vector<std::string> winners;
  for (const std::string& key : keys) winners.push_back(BruteWinner(acls, key));
  const std::vector<std::string> ends = AllKeys(3);
  std::mt19937 random(42);
  std::uniform_int_distribution<std::size_t> pick(0, ends.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    const std::string key = ends[pick(random)];
    std::string range_end = ends[pick(random)];
    if (i % 10 == 0) range_end = std::string(1, '\0');
    const KeyAccess access{AccessKind::kWrite, key, range_end};
    std::set<std::string> expected;
    if (range_end.empty()) {
      expected.insert(BruteWinner(acls, key));
    } else {
      const bool unbounded = range_end == std::string(1, '\0');
      auto first = std::lower_bound(keys.begin(), keys.end(), key);
      auto last = unbounded ? keys.end() : std::lower_bound(keys.begin(), keys.end(), range_end);
      for (auto it = first; it < last; ++it) expected.insert(winners[it - keys.begin()]);
      if (expected.empty()) expected.insert(BruteWinner(acls, key));
    }
    const RangeRules got = RulesForAccess(acls, access);
    std::set<std::string> actual;
    for (const config::AclRule* rule : got.rules) actual.insert(rule->prefix);
    if (got.unruled) actual.insert("");
    ASSERT_EQ(actual, expected) << "key '" << key << "' range_end '" << range_end << "'";
  }
}

TEST(RangeCrossCheckTest, WithRootRule) {
  CrossCheck({{"/", {}, 1, std::nullopt},
              {"/a", {}, 2, std::nullopt},
              {"/a/b", {}, 3, std::nullopt},
              {"/ab", {}, 4, std::nullopt},
              {"/b/a", {}, 5, std::nullopt}});
}

TEST(RangeCrossCheckTest, WithoutRootRule) {
  CrossCheck(
      {{"/a", {}, 1, std::nullopt}, {"/a/b", {}, 2, std::nullopt}, {"/b", {}, 3, std::nullopt}});
}

// ---------------------------------------------------------------------------
// DecideV3

const Identity kNobody{};
const Identity kRoot{std::nullopt, "root"};
const Identity kConftool{std::nullopt, "conftool"};
const Identity kCertConftool{"conftool", std::nullopt};
const Identity kOther{std::nullopt, "other"};

struct Options {
  bool public_reads = true;
  bool read_only = false;
  std::vector<config::AclRule> (*acls)() = StandardRules;
};

struct DecideCase {
  std::string name;
  Identity identity;
  std::string path;
  std::string body;  // a template for Body()
  Verdict verdict;
  std::string rule;
  Options options = {};
};

void PrintTo(const DecideCase& c, std::ostream* os) { *os << c.name; }

class DecideV3Test : public testing::TestWithParam<DecideCase> {};

TEST_P(DecideV3Test, Verdict) {
  const DecideCase& c = GetParam();
  config::Config config;
  config.acls = c.options.acls();
  config.public_reads = c.options.public_reads;
  config.read_only = c.options.read_only;
  const std::shared_ptr<const Acl> acl = Acl::Compile(config);
  const V3ParseResult parsed = ParseV3Request(c.path, Body(c.body));
  ASSERT_TRUE(parsed.request.has_value()) << parsed.error;
  const Decision decision = acl->DecideV3(c.identity, *parsed.request);
  EXPECT_EQ(decision.verdict, c.verdict) << decision.reason;
  EXPECT_EQ(decision.rule, c.rule) << decision.reason;
}

constexpr Options kPrivateReads{false, false, StandardRules};
constexpr Options kReadOnly{true, true, StandardRules};
constexpr Options kFlat{true, false, FlatRules};
constexpr Options kNoRoot{true, false, NoRootRules};

constexpr char kHiddenWrite[] =
    R"({"compare":[{"key":"<</conftool/a>>","target":"VERSION","version":"0"}],
        "success":[{"request_put":{"key":"<</conftool/a>>"}}],
        "failure":[{"request_txn":{"success":[{"request_range":{"key":"<</conftool/b>>"}}],
                    "failure":[{"request_put":{"key":"<</conftool/secret/x>>"}}]}}]})";

INSTANTIATE_TEST_SUITE_P(
    Requests, DecideV3Test,
    testing::Values(
        // Reads follow public_reads.
        DecideCase{"public_range", kNobody, "/v3/kv/range",
                   R"({"key":"<</conftool/secret/>>","range_end":"<</conftool/secret0>>"})",
                   Verdict::kAllow, "public_reads"},
        DecideCase{"public_watch", kNobody, "/v3/watch",
                   R"({"create_request":{"key":"<<%00>>","range_end":"<<%00>>"}})", Verdict::kAllow,
                   "public_reads"},
        DecideCase{"public_read_only_txn", kNobody, "/v3/kv/txn",
                   R"({"compare":[{"key":"<</conftool/secret>>"}],
                       "success":[{"request_range":{"key":"<</a>>"}}]})",
                   Verdict::kAllow, "public_reads"},
        DecideCase{"private_range_anonymous", kNobody, "/v3/kv/range",
                   R"({"key":"<</conftool/a>>"})", Verdict::kNeedCredentials, "/conftool",
                   kPrivateReads},
        DecideCase{"private_range_listed", kConftool, "/v3/kv/range",
                   R"({"key":"<</conftool/a>>"})", Verdict::kAllow, "/conftool", kPrivateReads},
        DecideCase{"private_range_over_secret", kConftool, "/v3/kv/range",
                   R"({"key":"<</conftool/>>","range_end":"<</conftool0>>"})", Verdict::kForbidden,
                   "/conftool/secret", kPrivateReads},
        DecideCase{"private_range_open_rule", kNobody, "/v3beta/kv/range",
                   R"({"key":"<</eventlogging/a>>"})", Verdict::kAllow, "/eventlogging",
                   kPrivateReads},
        DecideCase{"private_watch_anonymous", kNobody, "/v3/watch",
                   R"({"create_request":{"key":"<</conftool/a>>"}})", Verdict::kNeedCredentials,
                   "/conftool", kPrivateReads},
        DecideCase{"private_watch_listed",
                   kConftool,
                   "/v3/watch",
                   R"({"create_request":{"key":"<</conftool/>>","range_end":"<</conftool0>>"}})",
                   Verdict::kAllow,
                   "/conftool",
                   {false, false, FlatRules}},
        DecideCase{"private_watch_second_create_refused", kConftool, "/v3/watch",
                   R"({"create_request":{"key":"<</conftool/a>>"}}
                      {"create_request":{"key":"<</conftool/secret/a>>"}})",
                   Verdict::kForbidden, "/conftool/secret", kPrivateReads},
        DecideCase{"private_watch_cancel_needs_root", kConftool, "/v3/watch",
                   R"({"cancel_request":{"watch_id":"1"}})", Verdict::kForbidden, "/",
                   kPrivateReads},
        DecideCase{"private_watch_cancel_root", kRoot, "/v3/watch",
                   R"({"cancel_request":{"watch_id":"1"}})", Verdict::kAllow, "/", kPrivateReads},
        DecideCase{"private_txn_compare_secret", kConftool, "/v3/kv/txn",
                   R"({"compare":[{"key":"<</conftool/secret>>"}],
                       "success":[{"request_put":{"key":"<</conftool/a>>"}}]})",
                   Verdict::kForbidden, "/conftool/secret", kPrivateReads},
        // Puts: the key's rule.
        DecideCase{"put_listed", kConftool, "/v3/kv/put", R"({"key":"<</conftool/a>>"})",
                   Verdict::kAllow, "/conftool"},
        DecideCase{"put_cert_listed", kCertConftool, "/v3beta/kv/put",
                   R"({"key":"<</conftool/a>>","value":"<<v>>"})", Verdict::kAllow, "/conftool"},
        DecideCase{"put_anonymous", kNobody, "/v3/kv/put", R"({"key":"<</conftool/a>>"})",
                   Verdict::kNeedCredentials, "/conftool"},
        DecideCase{"put_unlisted", kOther, "/v3/kv/put", R"({"key":"<</conftool/a>>"})",
                   Verdict::kForbidden, "/conftool"},
        DecideCase{"put_string_prefix", kConftool, "/v3/kv/put", R"({"key":"<</conftoolX>>"})",
                   Verdict::kForbidden, "/"},
        DecideCase{"put_sub_prefix", kConftool, "/v3alpha/kv/put",
                   R"({"key":"<</conftool/secret/a>>"})", Verdict::kForbidden, "/conftool/secret"},
        DecideCase{"put_without_slash", kConftool, "/v3/kv/put", R"({"key":"<<conftool/a>>"})",
                   Verdict::kForbidden, "/"},
        DecideCase{"put_open_rule", kNobody, "/v3/kv/put", R"({"key":"<</eventlogging/x>>"})",
                   Verdict::kAllow, "/eventlogging"},
        DecideCase{"put_root", kRoot, "/v3/kv/put", R"({"key":"<</anything>>"})", Verdict::kAllow,
                   "/"},
        DecideCase{"put_camel_case", kConftool, "/v3/kv/txn",
                   R"({"success":[{"requestPut":{"key":"<</conftool/secret>>"}}]})",
                   Verdict::kForbidden, "/conftool/secret"},
        // Deleteranges: every rule the range reaches.
        DecideCase{"delete_children_flat", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool/>>","range_end":"<</conftool0>>"})", Verdict::kAllow,
                   "/conftool", kFlat},
        DecideCase{"delete_children_over_secret", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool/>>","range_end":"<</conftool0>>"})", Verdict::kForbidden,
                   "/conftool/secret"},
        DecideCase{"delete_prefix_conf", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conf>>","range_end":"<</cong>>"})", Verdict::kForbidden, "/",
                   kFlat},
        DecideCase{"delete_conftool_to_conftoolz", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool>>","range_end":"<</conftoolz>>"})", Verdict::kForbidden,
                   "/", kFlat},
        DecideCase{"delete_all_from_children", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool/>>","range_end":"<<%00>>"})", Verdict::kForbidden, "/",
                   kFlat},
        DecideCase{"delete_all_root", kRoot, "/v3/kv/deleterange",
                   R"({"key":"<<%00>>","range_end":"<<%00>>"})", Verdict::kAllow,
                   "/,/conftool,/conftool/secret,/eventlogging"},
        DecideCase{"delete_eventlogging_children_anonymous", kNobody, "/v3/kv/deleterange",
                   R"({"key":"<</eventlogging/>>","range_end":"<</eventlogging0>>"})",
                   Verdict::kAllow, "/eventlogging"},
        DecideCase{"delete_eventlogging_string_prefix_anonymous", kNobody, "/v3/kv/deleterange",
                   R"({"key":"<</eventlogging>>","range_end":"<</eventlogging0>>"})",
                   Verdict::kNeedCredentials, "/"},
        DecideCase{"delete_inside_conftool", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool/a>>","range_end":"<</conftool/b>>"})", Verdict::kAllow,
                   "/conftool"},
        // Txn: every op, nested included.
        DecideCase{"txn_hidden_write_refused", kConftool, "/v3/kv/txn", kHiddenWrite,
                   Verdict::kForbidden, "/conftool/secret"},
        DecideCase{"txn_hidden_write_root", kRoot, "/v3/kv/txn", kHiddenWrite, Verdict::kAllow,
                   "/conftool,/conftool/secret"},
        DecideCase{"txn_hidden_write_anonymous", kNobody, "/v3/kv/txn", kHiddenWrite,
                   Verdict::kNeedCredentials, "/conftool"},
        DecideCase{"txn_allowed", kConftool, "/v3/kv/txn",
                   R"({"compare":[{"key":"<</conftool/secret>>"}],
                       "success":[{"request_put":{"key":"<</conftool/a>>"}},
                                  {"request_delete_range":{"key":"<</eventlogging/>>",
                                                           "range_end":"<</eventlogging0>>"}}]})",
                   Verdict::kAllow, "/conftool,/eventlogging"},
        // Admin endpoints: the "/" rule alone, reads included.
        DecideCase{"lease_revoke_conftool", kConftool, "/v3/lease/revoke", R"({"ID":"1"})",
                   Verdict::kForbidden, "/"},
        DecideCase{"lease_revoke_anonymous", kNobody, "/v3beta/lease/revoke", R"({"ID":"1"})",
                   Verdict::kNeedCredentials, "/"},
        DecideCase{"lease_revoke_root", kRoot, "/v3/lease/revoke", R"({"ID":"1"})", Verdict::kAllow,
                   "/"},
        DecideCase{"kv_lease_revoke_conftool", kConftool, "/v3/kv/lease/revoke", "{}",
                   Verdict::kForbidden, "/"},
        DecideCase{"compaction_conftool", kConftool, "/v3/kv/compaction", R"({"revision":"5"})",
                   Verdict::kForbidden, "/"},
        // Status and member list follow public_reads, as /v2/stats and /v2/members do.
        DecideCase{"status_anonymous", kNobody, "/v3/maintenance/status", "{}", Verdict::kAllow,
                   "public_reads"},
        DecideCase{"member_list_anonymous", kNobody, "/v3/cluster/member/list", "{}",
                   Verdict::kAllow, "public_reads"},
        DecideCase{"status_anonymous_private", kNobody, "/v3/maintenance/status", "{}",
                   Verdict::kNeedCredentials, "/", kPrivateReads},
        DecideCase{"member_list_conftool_private", kConftool, "/v3/cluster/member/list", "{}",
                   Verdict::kForbidden, "/", kPrivateReads},
        DecideCase{"lease_leases_anonymous", kNobody, "/v3/lease/leases", "{}",
                   Verdict::kNeedCredentials, "/"},
        DecideCase{"snapshot_conftool", kConftool, "/v3/maintenance/snapshot", "{}",
                   Verdict::kForbidden, "/"},
        DecideCase{"auth_enable_conftool", kConftool, "/v3/auth/enable", "{}", Verdict::kForbidden,
                   "/"},
        DecideCase{"member_add_conftool", kConftool, "/v3/cluster/member/add", "{}",
                   Verdict::kForbidden, "/"},
        DecideCase{"unknown_endpoint", kConftool, "/v3/kv/range2", "{}", Verdict::kForbidden, "/"},
        DecideCase{"admin_no_root_rule", kConftool, "/v3/lock/lock", "{}", Verdict::kForbidden, "-",
                   kNoRoot},
        // read_only: every write refused, reads and admin reads pass.
        DecideCase{"read_only_put", kRoot, "/v3/kv/put", R"({"key":"<</a>>"})", Verdict::kReadOnly,
                   "read_only", kReadOnly},
        DecideCase{"read_only_hidden_write", kRoot, "/v3/kv/txn", kHiddenWrite, Verdict::kReadOnly,
                   "read_only", kReadOnly},
        DecideCase{"read_only_range", kNobody, "/v3/kv/range", R"({"key":"<</a>>"})",
                   Verdict::kAllow, "public_reads", kReadOnly},
        DecideCase{"read_only_lease_revoke", kRoot, "/v3/lease/revoke", "{}", Verdict::kReadOnly,
                   "read_only", kReadOnly},
        DecideCase{"read_only_status_root", kRoot, "/v3/maintenance/status", "{}", Verdict::kAllow,
                   "public_reads", kReadOnly},
        // Keys under no rule when there is no "/" rule.
        DecideCase{"no_root_put_outside", kConftool, "/v3/kv/put", R"({"key":"<</x>>"})",
                   Verdict::kForbidden, "-", kNoRoot},
        DecideCase{"no_root_spill", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool>>","range_end":"<</conftool0>>"})", Verdict::kForbidden,
                   "-", kNoRoot},
        DecideCase{"no_root_inside", kConftool, "/v3/kv/deleterange",
                   R"({"key":"<</conftool/>>","range_end":"<</conftool0>>"})", Verdict::kAllow,
                   "/conftool", kNoRoot}),
    [](const testing::TestParamInfo<DecideCase>& info) { return info.param.name; });

}  // namespace
}  // namespace tlsproxy::acl
