// Canonicalises an HTTP request target into the path etcd will act on.
//
// Stateless and pure. Refuses (returns an error) anything that cannot be
// canonicalised unambiguously: dot segments, empty segments ("//"), an
// encoded '/' or backslash, a backslash, a NUL or other control character, a
// space, a fragment ('#'), malformed percent escapes, targets that are
// neither origin-form ("/...") nor absolute-form ("http(s)://host/...").
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
  // Origin-form target to send upstream: `path` re-encoded segment by segment
  // (evhttp_uriencode), then "?" + query when the query is non-empty. etcd
  // decodes it back to exactly `path`, so what is forwarded is what was decided.
  std::string forward_target;
  Endpoint endpoint = Endpoint::kOther;
};

struct TargetResult {
  std::optional<RequestTarget> target;
  std::string error;  // set when target is empty; a short human reason for a 400
};

// `raw` is the request target exactly as it appeared on the request line.
TargetResult ParseRequestTarget(std::string_view raw);

// True when a request with this query string and body may affect (or, for a
// read, disclose) keys below its target: any of `recursive`, `dir`, `ttl`,
// `refresh` present, whatever the value, in the query or in the body.
// The body is scanned as an application/x-www-form-urlencoded form whatever
// its Content-Type (etcd's Go handler parses forms); a `multipart/...`
// Content-Type always counts as reaching the subtree, since Go's FormValue
// parses multipart bodies and we do not. Names are percent-decoded once
// ('+' is a space) before comparison. Anything that cannot be decoded, and
// any ';' in the query (Go refuses or splits on it), counts as reaching the
// subtree: fail closed.
bool ReachesSubtree(std::string_view query, std::string_view body, std::string_view content_type);

// True when etcd would hold a GET with this query string open as a watch (a
// `wait` long poll, or a `wait` + `stream` stream), read as etcd's Go
// handler reads it: url.ParseQuery (pairs split on '&' only, empty pairs
// skipped, name and value percent-decoded once with '+' a space), then
// strconv.ParseBool of the first `wait` value: "1", "t", "T", "TRUE",
// "true", "True" are a watch; "0", "f", "F", "FALSE", "false", "False", a
// missing `wait` and any other value are not (etcd answers those at once,
// with 400 for a value ParseBool refuses). `stream` matters only with a true
// `wait`, so it plays no part here. A query in doubt counts as a watch: one
// Go cannot parse (a malformed escape anywhere, or a ';', which Go 1.17+
// refuses and older Go split on) or with a raw NUL byte (which no request
// target ParseRequestTarget accepts holds). Such a request then keeps no
// response timeout rather than a long poll being cut with a 504 (and etcd
// answers a query it cannot parse at once anyway).
bool IsWatchQuery(std::string_view query);

// True for etcd's long-lived requests: a GET under /v2/keys whose query
// IsWatchQuery() (`wait` with another method is a 400, and other v2
// endpoints ignore it), and a POST to the v3 gateway's watch endpoint
// (/v3/watch, /v3beta/watch, /v3alpha/watch: a stream, whatever the body).
bool IsWatchRequest(std::string_view method, const RequestTarget& target);

}  // namespace tlsproxy::acl
