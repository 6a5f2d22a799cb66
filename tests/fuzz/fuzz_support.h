// Shared pieces of the libFuzzer targets in tests/fuzz/: an invariant check
// that aborts (so libFuzzer saves the input), the fixed ACL tables the
// decision targets run against, and a brute-force oracle for "which rule
// wins this key" written independently of acl/.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acl/acl.h"
#include "config/config.h"

namespace tlsproxy::fuzz {

// Aborts with a message when `condition` is false: an invariant of the code
// under test was broken by the current input.
#define FUZZ_CHECK(condition, message)                                                           \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   std::string(message).c_str());                                                \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

// The ACL table every decision target uses, as puppet would render it:
//   /                  [root]
//   /certs             [etcd-client.example.org]   (a certificate CN)
//   /conftool          [root, conftool]
//   /conftool/private  [root]                      (a stricter rule below)
//   /eventlogging      []                          (open to anyone)
// Built by hand rather than through ParseConfig so no TLS files are needed;
// sorted by prefix as config/ guarantees.
inline std::vector<config::AclRule> FixedRules() {
  return {
      {"/", {"root"}, 1, std::nullopt},
      {"/certs", {"etcd-client.example.org"}, 2, std::nullopt},
      {"/conftool", {"root", "conftool"}, 3, std::nullopt},
      {"/conftool/private", {"root"}, 4, std::nullopt},
      {"/eventlogging", {}, 5, std::nullopt},
  };
}

// One compiled ACL per combination of the two global switches.
struct AclVariant {
  bool public_reads;
  bool read_only;
  std::shared_ptr<const acl::Acl> acl;
};

inline const std::vector<AclVariant>& AclVariants() {
  static const std::vector<AclVariant> variants = [] {
    std::vector<AclVariant> out;
    for (bool public_reads : {true, false}) {
      for (bool read_only : {false, true}) {
        config::Config config;
        config.acls = FixedRules();
        config.public_reads = public_reads;
        config.read_only = read_only;
        out.push_back({public_reads, read_only, acl::Acl::Compile(config)});
      }
    }
    return out;
  }();
  return variants;
}

// Identities the decisions are tried with: nobody, users on some rules, a
// certificate name, a name on no rule, and a name that only looks like one.
inline const std::vector<acl::Identity>& Identities() {
  static const std::vector<acl::Identity> identities = [] {
    std::vector<acl::Identity> out(6);
    out[1].basic_user = "root";
    out[2].basic_user = "conftool";
    out[3].cert_user = "etcd-client.example.org";
    out[4].basic_user = "mallory";
    out[5].cert_user = "conftool ";
    out[5].basic_user = "Root";
    return out;
  }();
  return identities;
}

// Independent of acl/: the longest rule whose prefix is `key` or an ancestor
// of it on a '/' boundary; "/" covers every key (also keys not starting
// with '/', which v3 allows). nullptr when nothing covers it.
inline const config::AclRule* OracleWinningRule(const std::vector<config::AclRule>& rules,
                                                const std::string& key) {
  const config::AclRule* winner = nullptr;
  for (const config::AclRule& rule : rules) {
    const std::string& p = rule.prefix;
    const bool covers =
        p == "/" || key == p ||
        (key.size() > p.size() && key.compare(0, p.size(), p) == 0 && key[p.size()] == '/');
    if (covers && (winner == nullptr || p.size() > winner->prefix.size())) winner = &rule;
  }
  return winner;
}

inline bool OracleLists(const config::AclRule& rule, const acl::Identity& identity) {
  if (rule.users.empty()) return true;
  for (const std::string& user : rule.users) {
    if (identity.cert_user == user || identity.basic_user == user) return true;
  }
  return false;
}

}  // namespace tlsproxy::fuzz
