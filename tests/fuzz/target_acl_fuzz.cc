// Fuzzes the path check and the v2 ACL decision: ParseRequestTarget,
// ReachesSubtree, IsWatchQuery/IsWatchRequest and Acl::Decide, over the
// fixed ACL table of fuzz_support.h, and checks what they promise rather
// than only that they do not crash.
//
// Input: "METHOD\nTARGET\nCONTENT-TYPE\nBODY" (missing parts are empty). The
// decision is also tried with GET, PUT and DELETE, for every identity and
// every public_reads/read_only combination. IsWatchQuery also reads BODY as
// a query (any bytes, not only those a request target may hold).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acl/acl.h"
#include "acl/request_target.h"
#include "tests/fuzz/fuzz_support.h"

namespace tlsproxy::fuzz {
namespace {

std::string_view NextLine(std::string_view& rest) {
  const size_t newline = rest.find('\n');
  std::string_view line = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  return line;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A plain percent-decoder, written apart from acl/ (which uses libevent's);
// '+' is a space only when `plus`. nullopt on a malformed escape.
std::optional<std::string> Decode(std::string_view s, bool plus) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += plus && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

bool IsUnreservedOrSlash(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '/' || c == '%';
}

void CheckCanonical(const acl::RequestTarget& t) {
  const std::string& p = t.path;
  FUZZ_CHECK(!p.empty() && p[0] == '/', p);
  FUZZ_CHECK(p == "/" || p.back() != '/', p);
  for (const char* bad : {"//", "/./", "/../"}) {
    FUZZ_CHECK(p.find(bad) == std::string::npos, p);
  }
  FUZZ_CHECK(p != "/." && p != "/.." && !p.ends_with("/.") && !p.ends_with("/.."), p);
  // Decoded: a space, '#' or '?' may come from an escape; these may not.
  for (unsigned char c : p) FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\', p);

  // forward_target is the path re-encoded plus the untouched query, and
  // decodes back to exactly the path that was decided on.
  const size_t question = t.forward_target.find('?');
  const std::string_view encoded = std::string_view(t.forward_target).substr(0, question);
  for (char c : encoded) FUZZ_CHECK(IsUnreservedOrSlash(c), t.forward_target);
  FUZZ_CHECK(Decode(encoded, false) == p, t.forward_target + " vs " + p);
  if (question == std::string::npos) {
    FUZZ_CHECK(t.query.empty(), t.forward_target);
  } else {
    FUZZ_CHECK(t.forward_target.substr(question + 1) == t.query, t.forward_target);
    FUZZ_CHECK(!t.query.empty(), t.forward_target);
  }

  const bool keys = p == "/v2/keys" || p.starts_with("/v2/keys/");
  FUZZ_CHECK(keys == (t.endpoint == acl::Endpoint::kKeys), p);
  if (keys) {
    FUZZ_CHECK(t.key == (p == "/v2/keys" ? std::string("/") : p.substr(8)), p);
    for (const char* bad : {"//", "/./", "/../"}) {
      FUZZ_CHECK(t.key.find(bad) == std::string::npos, t.key);
    }
  } else {
    FUZZ_CHECK(t.key.empty(), p);
  }

  // Canonicalising is idempotent: what is forwarded parses to itself.
  const acl::TargetResult again = acl::ParseRequestTarget(t.forward_target);
  FUZZ_CHECK(again.target.has_value(), t.forward_target + ": " + again.error);
  FUZZ_CHECK(again.target->path == p && again.target->key == t.key &&
                 again.target->query == t.query && again.target->endpoint == t.endpoint &&
                 again.target->forward_target == t.forward_target,
             t.forward_target);
}

// One direction only: whatever this plain reading of the form finds must be
// found; acl/ may refuse more (fail closed).
bool OracleReachesSubtree(std::string_view query, std::string_view body,
                          std::string_view content_type) {
  if (query.find(';') != std::string_view::npos) return true;
  const size_t start = content_type.find_first_not_of(" \t");
  if (start != std::string_view::npos) {
    std::string lower(content_type.substr(start, 10));
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "multipart/") return true;
  }
  for (std::string_view form : {query, body}) {
    size_t begin = 0;
    while (begin <= form.size()) {
      const size_t end = std::min(form.find_first_of("&;", begin), form.size());
      const std::string_view pair = form.substr(begin, end - begin);
      const std::optional<std::string> name = Decode(pair.substr(0, pair.find('=')), true);
      if (!name) return true;
      for (const char* parameter : {"recursive", "dir", "ttl", "refresh"}) {
        if (*name == parameter) return true;
      }
      begin = end + 1;
    }
  }
  return false;
}

// Go's url.ParseQuery, then strconv.ParseBool of the first `wait` value,
// written apart from acl/; a query Go cannot parse, or with a raw NUL,
// counts as a watch.
bool OracleIsWatch(std::string_view query) {
  for (char c : query) {
    if (c == ';' || c == '\0') return true;
  }
  std::optional<bool> wait;
  size_t begin = 0;
  while (begin <= query.size()) {
    const size_t end = std::min(query.find('&', begin), query.size());
    const std::string_view pair = query.substr(begin, end - begin);
    begin = end + 1;
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    const std::optional<std::string> name = Decode(pair.substr(0, equals), true);
    const std::optional<std::string> value = Decode(
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
    if (!name || !value) return true;
    if (*name != "wait" || wait) continue;
    wait = false;
    for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) {
      if (*value == yes) wait = true;
    }
  }
  return wait.value_or(false);
}

bool IsRead(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

// The whole v2 decision, from the README's rules, written apart from acl/.
bool OracleAllows(const AclVariant& v, const acl::Identity& identity, const std::string& method,
                  const acl::RequestTarget& target, bool subtree) {
  const std::vector<config::AclRule> rules = FixedRules();
  const bool read = IsRead(method);
  if (!read && v.read_only) return false;
  if (target.endpoint != acl::Endpoint::kOther && read && v.public_reads) return true;
  if (target.endpoint != acl::Endpoint::kKeys) {
    return OracleLists(*OracleWinningRule(rules, "/"), identity);
  }
  const config::AclRule* winner = OracleWinningRule(rules, target.key);
  if (winner == nullptr || !OracleLists(*winner, identity)) return false;
  if (!subtree) return true;
  for (const config::AclRule& rule : rules) {
    const bool below = rule.prefix != target.key &&
                       (target.key == "/" || rule.prefix.starts_with(target.key + "/"));
    if (below && !OracleLists(rule, identity)) return false;
  }
  return true;
}

void CheckDecision(const AclVariant& v, const acl::Identity& identity, const std::string& method,
                   const acl::RequestTarget& target, bool subtree) {
  acl::AclRequest request;
  request.identity = identity;
  request.method = method;
  request.target = target;
  request.reaches_subtree = subtree;
  const acl::Decision decision = v.acl->Decide(request);
  const std::string what = method + " " + target.path + " as " + identity.ToString();
  FUZZ_CHECK(!decision.rule.empty(), what);
  FUZZ_CHECK(decision.allowed() == OracleAllows(v, identity, method, target, subtree),
             what + " -> " + decision.rule + ": " + decision.reason);
  if (decision.allowed() && !IsRead(method)) {
    FUZZ_CHECK(!v.read_only, what);
    // An allowed write names a canonical key or a non-key path.
    FUZZ_CHECK(target.key.find("/../") == std::string::npos &&
                   target.key.find("/./") == std::string::npos &&
                   target.key.find("//") == std::string::npos,
               what);
  }
  switch (decision.verdict) {
    case acl::Verdict::kAllow:
    case acl::Verdict::kReadOnly:
      break;
    case acl::Verdict::kNeedCredentials:
      FUZZ_CHECK(identity.empty(), what);
      break;
    case acl::Verdict::kForbidden:
      FUZZ_CHECK(!identity.empty(), what);
      break;
  }
}

}  // namespace
}  // namespace tlsproxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string method(fuzz::NextLine(rest));
  const std::string_view raw_target = fuzz::NextLine(rest);
  const std::string_view content_type = fuzz::NextLine(rest);
  const std::string_view body = rest;

  const acl::TargetResult parsed = acl::ParseRequestTarget(raw_target);
  FUZZ_CHECK(parsed.target.has_value() != !parsed.error.empty(), parsed.error);
  const bool subtree = acl::ReachesSubtree(
      parsed.target ? std::string_view(parsed.target->query) : std::string_view(), body,
      content_type);
  FUZZ_CHECK(acl::IsWatchQuery(body) == fuzz::OracleIsWatch(body), std::string(body));
  if (!parsed.target) return 0;
  const acl::RequestTarget& target = *parsed.target;
  fuzz::CheckCanonical(target);
  const bool watch = acl::IsWatchQuery(target.query);
  FUZZ_CHECK(watch == fuzz::OracleIsWatch(target.query), target.query);
  FUZZ_CHECK(acl::IsWatchRequest(method, target) ==
                 (method == "GET" && target.endpoint == acl::Endpoint::kKeys && watch),
             method + " " + target.forward_target);
  if (fuzz::OracleReachesSubtree(target.query, body, content_type)) {
    FUZZ_CHECK(subtree, std::string(target.query) + " | " + std::string(body));
  }

  for (const fuzz::AclVariant& variant : fuzz::AclVariants()) {
    for (const acl::Identity& identity : fuzz::Identities()) {
      for (const std::string& m :
           {method, std::string("GET"), std::string("PUT"), std::string("DELETE")}) {
        fuzz::CheckDecision(variant, identity, m, target, subtree);
      }
    }
  }
  return 0;
}
