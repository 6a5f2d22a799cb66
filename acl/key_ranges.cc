#include "acl/key_ranges.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace tlsproxy::acl {
namespace {

// Key ranges -> rules. Keys are byte strings in etcd's order (unsigned bytes,
// as std::string compares them). A rule's territory is a union of half-open
// intervals; an interval minus other intervals is empty or not by a sweep.

struct Interval {
  std::string lo;
  std::optional<std::string> hi;  // nullopt: unbounded
};

bool BelowHi(const std::string& key, const std::optional<std::string>& hi) {
  return !hi || key < *hi;
}

bool IsEmpty(const Interval& interval) { return !BelowHi(interval.lo, interval.hi); }

Interval Intersect(const Interval& a, const Interval& b) {
  Interval out{std::max(a.lo, b.lo), a.hi};
  if (!out.hi || (b.hi && *b.hi < *out.hi)) out.hi = b.hi;
  return out;
}

std::string Successor(const std::string& key) { return key + std::string(1, '\0'); }

// Every key a rule covers: "/" all keys; prefix P the key P itself and every
// key starting with P + "/", i.e. [P, P\0) and [P/, P0).
std::vector<Interval> Territory(const config::AclRule& rule) {
  if (rule.prefix == "/") return {Interval{"", std::nullopt}};
  return {Interval{rule.prefix, Successor(rule.prefix)},
          Interval{rule.prefix + "/", rule.prefix + "0"}};
}

// True when `lower` is a more specific rule inside `upper`'s territory.
bool IsBelow(const config::AclRule& upper, const config::AclRule& lower) {
  if (upper.prefix == lower.prefix) return false;
  return upper.prefix == "/" || lower.prefix.starts_with(upper.prefix + "/");
}

// True when some key of `range` lies in none of `holes`.
bool HasUncoveredKey(const Interval& range, std::vector<Interval> holes) {
  if (IsEmpty(range)) return false;
  std::sort(holes.begin(), holes.end(),
            [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  std::string cursor = range.lo;  // every key in [range.lo, cursor) is covered
  for (const Interval& hole : holes) {
    if (!BelowHi(cursor, hole.hi)) continue;  // hole ends before the cursor
    if (cursor < hole.lo) return true;        // the cursor key itself is uncovered
    if (!hole.hi) return false;
    cursor = *hole.hi;
    if (!BelowHi(cursor, range.hi)) return false;
  }
  return true;
}

// The keys `access` acts on; an empty or inverted range stands for its key.
Interval AccessRange(const KeyAccess& access) {
  if (access.range_end.empty()) return Interval{access.key, Successor(access.key)};
  if (access.range_end == std::string(1, '\0')) return Interval{access.key, std::nullopt};
  Interval range{access.key, access.range_end};
  return IsEmpty(range) ? Interval{access.key, Successor(access.key)} : range;
}

// True when `rule` wins at least one key of `range`.
bool WinsKeyIn(const std::vector<config::AclRule>& acls, const config::AclRule& rule,
               const Interval& range) {
  std::vector<Interval> below;
  for (const config::AclRule& other : acls) {
    if (!IsBelow(rule, other)) continue;
    for (Interval& piece : Territory(other)) below.push_back(std::move(piece));
  }
  for (const Interval& piece : Territory(rule)) {
    if (HasUncoveredKey(Intersect(piece, range), below)) return true;
  }
  return false;
}

}  // namespace

RangeRules RulesForAccess(const std::vector<config::AclRule>& acls, const KeyAccess& access) {
  const Interval range = AccessRange(access);
  RangeRules result;
  std::vector<Interval> all;
  for (const config::AclRule& rule : acls) {
    if (WinsKeyIn(acls, rule, range)) result.rules.push_back(&rule);
    for (Interval& piece : Territory(rule)) all.push_back(std::move(piece));
  }
  result.unruled = HasUncoveredKey(range, all);
  return result;
}

}  // namespace tlsproxy::acl
