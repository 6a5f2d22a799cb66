#include "acl/basic_auth.h"

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "acl/ascii.h"

namespace tlsproxy::acl {
namespace {

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Strict base64 (RFC 4648 alphabet, padded to a multiple of 4, '=' only as
// the last one or two characters). nullopt on anything else.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  for (char c : text.substr(0, text.size() - padding)) {
    if (!IsBase64Char(c)) return std::nullopt;
  }
  std::vector<unsigned char> out(text.size() / 4 * 3);
  int written = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (written < 0 || static_cast<std::size_t>(written) != out.size()) return std::nullopt;
  // EVP_DecodeBlock counts the zero bytes that stand for the padding.
  return std::string(reinterpret_cast<const char*>(out.data()), out.size() - padding);
}

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
  std::optional<std::string> decoded = DecodeBase64(*token);
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
