// Parses an `Authorization: Basic ...` header value into user and password.
// Pure; the credentials are strict base64 (acl/base64.h). Never logs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsproxy::acl {

struct BasicCredentials {
  std::string user;
  std::string password;  // may contain ':'; never log it
};

// Returns nullopt when the value is not a well-formed Basic credential:
// scheme other than "Basic" (case-insensitive, per RFC 7617), bad base64,
// no ':' separator, empty user, NUL bytes.
std::optional<BasicCredentials> ParseBasicAuth(std::string_view header_value);

}  // namespace tlsproxy::acl
