#include "acl/request_target.h"

#include <event2/http.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <vector>

#include "acl/ascii.h"
#include "acl/v3_request.h"

namespace tlsproxy::acl {
namespace {

constexpr std::string_view kKeysPrefix = "/v2/keys";

// Owns a string malloc'ed by libevent.
using MallocedChars = std::unique_ptr<char, decltype(&std::free)>;

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// True when raw[i] is '%' followed by two hex digits.
bool IsEscapeAt(std::string_view raw, std::size_t i) {
  return i + 2 < raw.size() && raw[i] == '%' && IsHex(raw[i + 1]) && IsHex(raw[i + 2]);
}

// Percent-decodes `s` once; '+' is a space only when `decode_plus`. nullopt
// when libevent fails. The result may contain NUL bytes.
std::optional<std::string> PercentDecode(std::string_view s, bool decode_plus) {
  // Nothing to decode (and no NUL, where libevent's copy would end): the
  // result is `s`, without libevent's allocations.
  if (s.find_first_of(decode_plus ? std::string_view("%+\0", 3) : std::string_view("%\0", 2)) ==
      std::string_view::npos) {
    return std::string(s);
  }
  std::string copy(s);  // evhttp_uridecode wants a NUL-terminated string
  std::size_t size = 0;
  MallocedChars decoded(evhttp_uridecode(copy.c_str(), decode_plus ? 1 : 0, &size), &std::free);
  if (!decoded) return std::nullopt;
  return std::string(decoded.get(), size);
}

// RFC 3986 unreserved characters: the ones evhttp_uriencode leaves as they are.
bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::optional<std::string> PercentEncode(std::string_view s) {
  // Nothing to encode (the common key name): skip libevent's evbuffer.
  if (std::all_of(s.begin(), s.end(), IsUnreserved)) return std::string(s);
  MallocedChars encoded(evhttp_uriencode(s.data(), static_cast<ev_ssize_t>(s.size()), 0),
                        &std::free);
  if (!encoded) return std::nullopt;
  return std::string(encoded.get());
}

// Returns "" when every '%' in `raw` starts a valid escape, else the error.
std::string CheckEscapes(std::string_view raw) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    if (!IsEscapeAt(raw, i)) return "malformed percent escape in path";
    std::string_view escape = raw.substr(i + 1, 2);
    if (EqualsIgnoreCase(escape, "2f")) return "encoded slash in path";
    if (EqualsIgnoreCase(escape, "5c")) return "encoded backslash in path";
    if (escape == "00") return "encoded NUL in path";
    i += 2;
  }
  return "";
}

// Strips an absolute-form "http(s)://authority" prefix. Returns the
// origin-form remainder ("/" when nothing follows the authority), or nullopt
// when `raw` is absolute-form but has an empty authority.
std::optional<std::string> StripSchemeAndAuthority(std::string_view raw) {
  std::size_t scheme_end = 0;
  if (StartsWithIgnoreCase(raw, "http://")) {
    scheme_end = 7;
  } else if (StartsWithIgnoreCase(raw, "https://")) {
    scheme_end = 8;
  } else {
    return std::string(raw);
  }
  std::string_view rest = raw.substr(scheme_end);
  std::size_t authority_end = rest.find_first_of("/?");
  if (authority_end == 0) return std::nullopt;
  if (authority_end == std::string_view::npos) return std::string("/");
  std::string_view origin = rest.substr(authority_end);
  std::string out(origin.front() == '?' ? "/" : "");
  out.append(origin);
  return out;
}

// Splits a decoded, absolute path into its segments, dropping one trailing
// '/'. Returns the error text in `error` when a segment is empty or a dot
// segment. "/" has no segments.
std::vector<std::string_view> SplitSegments(std::string_view path, std::string& error) {
  std::vector<std::string_view> segments;
  segments.reserve(static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')));
  std::string_view body = path.substr(1);
  if (body.empty()) return segments;
  if (body.back() == '/') body.remove_suffix(1);
  while (true) {
    std::size_t slash = body.find('/');
    std::string_view segment = body.substr(0, slash);
    if (segment.empty()) {
      error = "empty path segment";
      return {};
    }
    if (segment == "." || segment == "..") {
      error = "dot segment in path";
      return {};
    }
    segments.push_back(segment);
    if (slash == std::string_view::npos) break;
    body.remove_prefix(slash + 1);
  }
  return segments;
}

// Sets target.path to the segments joined by '/' ("/" when none), and
// target.forward_target to the same with each segment percent-encoded.
bool JoinSegments(const std::vector<std::string_view>& segments, RequestTarget& target) {
  if (segments.empty()) {
    target.path.assign(1, '/');
    target.forward_target.assign(1, '/');
    return true;
  }
  target.path.clear();
  target.forward_target.clear();
  std::size_t length = segments.size();
  for (std::string_view segment : segments) length += segment.size();
  target.path.reserve(length);
  target.forward_target.reserve(length + target.query.size() + 1);
  for (std::string_view segment : segments) {
    std::optional<std::string> encoded = PercentEncode(segment);
    if (!encoded) return false;
    target.path += '/';
    target.path += segment;
    target.forward_target += '/';
    target.forward_target += *encoded;
  }
  return true;
}

// True when `path` is `base` or lies below it on a segment boundary.
bool IsAtOrBelow(std::string_view path, std::string_view base) {
  return path == base || (path.starts_with(base) && path[base.size()] == '/');
}

Endpoint Classify(std::string_view path) {
  if (IsAtOrBelow(path, kKeysPrefix)) return Endpoint::kKeys;
  static constexpr std::array<std::string_view, 3> kExact = {"/version", "/health", "/metrics"};
  static constexpr std::array<std::string_view, 3> kTrees = {"/v2/stats", "/v2/members",
                                                             "/v2/machines"};
  for (std::string_view exact : kExact) {
    if (path == exact) return Endpoint::kPublicRead;
  }
  for (std::string_view tree : kTrees) {
    if (IsAtOrBelow(path, tree)) return Endpoint::kPublicRead;
  }
  return Endpoint::kOther;
}

TargetResult Error(std::string message) { return TargetResult{std::nullopt, std::move(message)}; }

}  // namespace

TargetResult ParseRequestTarget(std::string_view raw) {
  for (char c : raw) {
    if (IsControl(c) || c == ' ') {
      return Error("control character or space in request target");
    }
  }
  if (raw.find('#') != std::string_view::npos) return Error("fragment in request target");
  std::optional<std::string> origin = StripSchemeAndAuthority(raw);
  if (!origin) return Error("empty authority in absolute-form target");
  if (origin->empty() || origin->front() != '/') return Error("request target is not a path");

  std::string_view origin_view = *origin;
  std::size_t question = origin_view.find('?');
  std::string_view raw_path = origin_view.substr(0, question);
  RequestTarget target;
  if (question != std::string_view::npos) target.query = origin_view.substr(question + 1);

  if (std::string error = CheckEscapes(raw_path); !error.empty()) return Error(error);
  std::optional<std::string> decoded = PercentDecode(raw_path, /*decode_plus=*/false);
  if (!decoded) return Error("cannot decode path");
  for (char c : *decoded) {
    if (c == '\0') return Error("NUL in path");
    if (c == '\\') return Error("backslash in path");
    if (IsControl(c)) return Error("control character in path");
  }

  std::string error;
  std::vector<std::string_view> segments = SplitSegments(*decoded, error);
  if (!error.empty()) return Error(error);

  if (!JoinSegments(segments, target)) return Error("cannot encode path");
  if (!target.query.empty()) target.forward_target += "?" + target.query;

  target.endpoint = Classify(target.path);
  if (target.endpoint == Endpoint::kKeys) {
    target.key =
        target.path.size() == kKeysPrefix.size() ? "/" : target.path.substr(kKeysPrefix.size());
  }
  return TargetResult{std::move(target), ""};
}

namespace {

constexpr std::array<std::string_view, 4> kSubtreeParameters = {"recursive", "dir", "ttl",
                                                                "refresh"};

// One name or value of an urlencoded form, decoded as Go's QueryUnescape
// does: '+' is a space, and a '%' that does not start a valid escape is an
// error (nullopt; libevent would keep it as it is).
std::optional<std::string> DecodeFormComponent(std::string_view raw) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && !IsEscapeAt(raw, i)) return std::nullopt;
  }
  return PercentDecode(raw, /*decode_plus=*/true);
}

// True when the parameter name `raw_name` (still encoded) is one of the
// subtree parameters, or cannot be decoded.
bool IsSubtreeName(std::string_view raw_name) {
  std::optional<std::string> name = DecodeFormComponent(raw_name);
  if (!name) return true;
  for (std::string_view parameter : kSubtreeParameters) {
    if (*name == parameter) return true;
  }
  return false;
}

// Scans an urlencoded form. Splits on ';' as well as '&': older Go versions
// did, and an extra refusal is cheaper than a missed subtree parameter.
bool FormReachesSubtree(std::string_view form) {
  while (!form.empty()) {
    std::size_t end = form.find_first_of("&;");
    std::string_view pair = form.substr(0, end);
    if (IsSubtreeName(pair.substr(0, pair.find('=')))) return true;
    if (end == std::string_view::npos) break;
    form.remove_prefix(end + 1);
  }
  return false;
}

bool IsMultipart(std::string_view content_type) {
  std::size_t start = content_type.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  return StartsWithIgnoreCase(content_type.substr(start), "multipart/");
}

// Go's strconv.ParseBool: nullopt for anything it refuses.
std::optional<bool> ParseGoBool(std::string_view text) {
  static constexpr std::array<std::string_view, 6> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static constexpr std::array<std::string_view, 6> kFalse = {"0",     "f",     "F",
                                                             "FALSE", "false", "False"};
  if (std::find(kTrue.begin(), kTrue.end(), text) != kTrue.end()) return true;
  if (std::find(kFalse.begin(), kFalse.end(), text) != kFalse.end()) return false;
  return std::nullopt;
}

}  // namespace

bool ReachesSubtree(std::string_view query, std::string_view body, std::string_view content_type) {
  if (query.find(';') != std::string_view::npos) return true;
  if (IsMultipart(content_type)) return true;
  return FormReachesSubtree(query) || FormReachesSubtree(body);
}

bool IsWatchQuery(std::string_view query) {
  // ';': Go 1.17+ refuses it, older Go split on it. NUL: never in a target
  // ParseRequestTarget accepts, and libevent's decoder would stop at it.
  if (query.find_first_of(std::string_view(";\0", 2)) != std::string_view::npos) return true;
  std::optional<bool> wait;  // from the first `wait` pair only
  while (!query.empty()) {
    const std::size_t end = query.find('&');
    const std::string_view pair = query.substr(0, end);
    query.remove_prefix(end == std::string_view::npos ? query.size() : end + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    const std::optional<std::string> name = DecodeFormComponent(pair.substr(0, equals));
    const std::optional<std::string> value = DecodeFormComponent(
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    if (!name || !value) return true;  // Go cannot parse the query: in doubt, a watch
    if (*name == "wait" && !wait) wait = ParseGoBool(*value).value_or(false);
  }
  return wait.value_or(false);
}

bool IsWatchRequest(std::string_view method, const RequestTarget& target) {
  if (method == "POST") return V3Endpoint(target.path) == std::optional<std::string_view>("watch");
  return method == "GET" && target.endpoint == Endpoint::kKeys && IsWatchQuery(target.query);
}

}  // namespace tlsproxy::acl
