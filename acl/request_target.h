// Canonicalises an HTTP request target into the path etcd will act on.
//
// Stateless and pure. Refuses (returns an error) anything that cannot be
// canonicalised unambiguously: dot segments, empty segments ("//"), an
// encoded '/', a backslash, a NUL, malformed percent escapes, targets that
// are neither origin-form ("/...") nor absolute-form ("http(s)://host/...").
// Percent-decoding happens exactly once. A single trailing slash is allowed
// and names the same key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsproxy::acl {

// What kind of endpoint a path is, for the ACL.
enum class Endpoint {
  kKeys,        // /v2/keys and below: `key` is set
  kPublicRead,  // /version, /health, /v2/stats/..., /v2/members..., /v2/machines..., /metrics
  kOther,       // everything else (/v2/auth/..., /v3..., unknown): the "/" rule only
};

struct RequestTarget {
  std::string path;   // decoded, canonical, without trailing slash (except "/")
  std::string key;    // for kKeys: the etcd key, "/" for the root, e.g. "/conftool/a"
  std::string query;  // raw query string after '?', undecoded, possibly empty
  std::string forward_target;  // origin-form target to send upstream: raw path + "?" + query
  Endpoint endpoint = Endpoint::kOther;
};

struct TargetResult {
  std::optional<RequestTarget> target;
  std::string error;  // set when target is empty; a short human reason for a 400
};

// `raw` is the request target exactly as it appeared on the request line.
TargetResult ParseRequestTarget(std::string_view raw);

// True when a write with this query string and (form-encoded) body may affect
// keys below its target: any of recursive, dir, ttl, refresh present, whatever
// the value, in either. `body_is_form` is true when the Content-Type is
// application/x-www-form-urlencoded (or absent with a non-empty body: etcd's
// Go handler parses a form body regardless of exact type, so we treat any
// body that is not clearly something else as a form). Parameter names are
// percent-decoded before comparison; a name that cannot be decoded counts as
// reaching the subtree (fail closed).
bool WriteReachesSubtree(std::string_view query, std::string_view body, bool body_is_form);

}  // namespace tlsproxy::acl
