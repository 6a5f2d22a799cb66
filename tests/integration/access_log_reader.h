// Reads the proxy's access log back: one line per request, "<time> access
// name=value ...", where a value is a bare token of printable ASCII or
// "..." with \xHH as its only escape. The parser is strict on purpose: a
// line that an unescaped client byte could have bent (a field twice, a
// missing or unknown field, a raw quote) does not parse.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {

// An access line's fields, unescaped: client, identity, method, path,
// status, bytes, ms and rule; for gRPC also grpc_status and key; in shadow
// mode, for a request the ACL would have refused, shadow_denied.
using AccessFields = std::map<std::string, std::string>;

// "<time> access <fields>": the fields part, or nullopt for another line.
std::optional<std::string_view> AccessPart(std::string_view line);

// Parses the fields part of an access line; nullopt (with `error`) when
// anything is off.
std::optional<AccessFields> ParseAccessFields(std::string_view text, std::string* error);

// The access lines `proxy` logged after byte `offset` of its log; adds a
// test failure for each line (access or not) holding a byte that is not
// printable ASCII.
std::vector<std::string> NewAccessLines(const ProxyProcess& proxy, size_t offset);

// Sends `request` to `proxy`, expects `expected_status`, and returns the one
// access line it added, parsed. Fails the test (and returns nullopt) when
// the log gained no line within 5 s, more than one, or one that does not
// parse. The line is told by its place, not its content: every earlier
// request must already be logged (made through this function, say), or its
// late line is taken for this one's.
std::optional<AccessFields> AccessLineFor(const ProxyProcess& proxy, const HttpsRequest& request,
                                          long expected_status);

// The access line `proxy` logged after byte `offset` of its log for
// `method` on `path` (as logged: canonical), parsed, waiting at most 5 s
// for it. Fails the test (and returns nullopt) when there is none, more
// than one, or one that does not parse. For requests whose path no other
// request uses, whatever else is logged meanwhile.
std::optional<AccessFields> AccessLineOf(const ProxyProcess& proxy, size_t offset,
                                         const std::string& method, const std::string& path);

}  // namespace tlsproxy::integration
