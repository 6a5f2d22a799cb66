#include "acl/basic_auth.h"

#include <string>

#include "acl/ascii.h"
#include "acl/base64.h"

namespace tlsproxy::acl {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Splits "Basic <token>" into the token, or nullopt for another scheme.
std::optional<std::string_view> BasicToken(std::string_view value) {
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size() || !StartsWithIgnoreCase(value, kScheme)) return std::nullopt;
  std::string_view rest = value.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
  return rest;
}

}  // namespace

std::optional<BasicCredentials> ParseBasicAuth(std::string_view header_value) {
  std::optional<std::string_view> token = BasicToken(header_value);
  if (!token) return std::nullopt;
  std::optional<std::string> decoded = DecodeBase64Strict(*token);
  if (!decoded) return std::nullopt;
  std::size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  BasicCredentials credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  for (char c : credentials.user) {
    if (IsControl(c)) return std::nullopt;
  }
  // The password goes to a C API that stops at the first NUL.
  if (credentials.password.find('\0') != std::string::npos) return std::nullopt;
  return credentials;
}

}  // namespace tlsproxy::acl
