// Fuzzes the v3 JSON gateway classification and decision: ParseV3Request on
// arbitrary bodies, then Acl::DecideV3 over the fixed ACL table of
// fuzz_support.h for every identity and public_reads/read_only combination.
//
// Input: "PATH\nBODY". When PATH is not a gateway path it is taken as the
// endpoint under "/v3/" (so "kv/put\n{...}" works).
//
// Invariants: the classification is consistent with the endpoint, and an
// allowed request never touches a key whose winning rule does not list the
// identity. The key check probes the keys at and around every rule boundary
// that fall in each access's range (a brute-force oracle independent of
// RulesForAccess's interval arithmetic).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "acl/acl.h"
#include "acl/v3_request.h"
#include "tests/fuzz/fuzz_support.h"

namespace tlsproxy::fuzz {
namespace {

bool InRange(const acl::KeyAccess& access, const std::string& key) {
  if (access.range_end.empty()) return key == access.key;
  if (access.range_end == std::string(1, '\0')) return key >= access.key;
  return key >= access.key && key < access.range_end;
}

// Keys on both sides of every rule's boundary, plus the access's own key.
std::vector<std::string> ProbeKeys(const acl::KeyAccess& access) {
  std::vector<std::string> keys = {access.key, access.key + '\0', "", std::string(1, '\0'), "/",
                                   "0",        "\xff\xff"};
  for (const config::AclRule& rule : FixedRules()) {
    const std::string& p = rule.prefix;
    for (const std::string& suffix :
         {std::string(), std::string("/"), std::string("/\0", 2), std::string("/\xff"),
          std::string(1, '\0'), std::string("0"), std::string("."), std::string("\xff")}) {
      keys.push_back(p + suffix);
    }
  }
  if (!access.range_end.empty()) keys.push_back(access.range_end);
  return keys;
}

void CheckRequest(std::string_view path, const acl::V3Request& request) {
  FUZZ_CHECK(acl::V3Endpoint(path) == std::optional<std::string_view>(request.endpoint), path);
  const std::string& e = request.endpoint;
  const bool key_aware =
      e == "kv/range" || e == "kv/put" || e == "kv/deleterange" || e == "kv/txn" || e == "watch";
  FUZZ_CHECK(request.admin_only != key_aware, e);
  if (request.admin_only) FUZZ_CHECK(request.accesses.empty(), e);
  if (e == "kv/range" || e == "kv/put" || e == "kv/deleterange") {
    FUZZ_CHECK(request.accesses.size() == 1, e);
    const acl::AccessKind want = e == "kv/range" ? acl::AccessKind::kRead : acl::AccessKind::kWrite;
    FUZZ_CHECK(request.accesses[0].kind == want, e);
  }
  if (e == "watch") {
    for (const acl::KeyAccess& access : request.accesses) {
      FUZZ_CHECK(access.kind == acl::AccessKind::kRead, e);
    }
  }
}

void CheckDecision(const AclVariant& v, const acl::Identity& identity,
                   const acl::V3Request& request) {
  const acl::Decision decision = v.acl->DecideV3(identity, request);
  const std::string what = request.endpoint + " as " + identity.ToString();
  if (!decision.allowed()) {
    FUZZ_CHECK(decision.verdict != acl::Verdict::kNeedCredentials || identity.empty(), what);
    FUZZ_CHECK(decision.verdict != acl::Verdict::kForbidden || !identity.empty(), what);
    return;
  }
  FUZZ_CHECK(!decision.rule.empty(), what);
  FUZZ_CHECK(!v.read_only || !request.IsWrite(), what);
  const std::vector<config::AclRule> rules = FixedRules();
  const bool root_listed = OracleLists(*OracleWinningRule(rules, "/"), identity);
  if (request.admin_only || request.accesses.empty()) {
    // Admin requests need the "/" rule, but for the few public admin reads
    // (member list, status) under public_reads.
    const bool public_read =
        !request.IsWrite() && v.public_reads && (!request.admin_only || request.public_read);
    FUZZ_CHECK(root_listed || public_read, what);
    return;
  }
  if (!request.IsWrite() && v.public_reads) return;
  for (const acl::KeyAccess& access : request.accesses) {
    if (access.kind == acl::AccessKind::kRead && v.public_reads) continue;
    for (const std::string& key : ProbeKeys(access)) {
      if (key != access.key && !InRange(access, key)) continue;
      const config::AclRule* winner = OracleWinningRule(rules, key);
      FUZZ_CHECK(winner != nullptr && OracleLists(*winner, identity),
                 what + " reaches key '" + key + "' of [" + access.key + ", " + access.range_end +
                     ") -> " + decision.rule);
    }
  }
}

}  // namespace
}  // namespace tlsproxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  std::string path(input.substr(0, newline));
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  if (!acl::V3Endpoint(path)) path = "/v3/" + path;

  const acl::V3ParseResult parsed = acl::ParseV3Request(path, body);
  FUZZ_CHECK(parsed.request.has_value() == parsed.error.empty(), parsed.error);
  if (!parsed.request) return 0;
  fuzz::CheckRequest(path, *parsed.request);
  for (const fuzz::AclVariant& variant : fuzz::AclVariants()) {
    for (const acl::Identity& identity : fuzz::Identities()) {
      fuzz::CheckDecision(variant, identity, *parsed.request);
    }
  }
  return 0;
}
