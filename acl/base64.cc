#include "acl/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace tlsproxy::acl {
namespace {

bool IsStandardAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Padded standard base64: a multiple of 4 characters, of which at most the
// last two are '='. EVP_DecodeBlock alone would also skip leading and
// trailing whitespace and accept a third '=', so the shape is checked first.
std::optional<std::string> DecodePadded(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const std::size_t data = text.find_last_not_of('=') + 1;  // 0 when empty or all '='
  const std::size_t padding = text.size() - data;
  if (padding > 2) return std::nullopt;
  if (!std::all_of(text.begin(), text.begin() + data, IsStandardAlphabet)) return std::nullopt;
  if (text.empty()) return std::string();
  // EVP_DecodeBlock writes 3 bytes per 4 characters, counting a zero byte
  // for each '='.
  std::string out(text.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0 || static_cast<std::size_t>(written) != out.size()) return std::nullopt;
  out.resize(out.size() - padding);
  return out;
}

}  // namespace

std::optional<std::string> DecodeBase64Strict(std::string_view text) { return DecodePadded(text); }

std::optional<std::string> DecodeBase64Lenient(std::string_view text) {
  std::string block(text);
  if (block.find_first_of("-_") != std::string::npos) {
    if (block.find_first_of("+/") != std::string::npos) return std::nullopt;  // mixed alphabets
    std::replace(block.begin(), block.end(), '-', '+');
    std::replace(block.begin(), block.end(), '_', '/');
  }
  if (block.size() % 4 != 0) {
    // Unpadded: only a whole final group may be missing its '='.
    if (block.find('=') != std::string::npos) return std::nullopt;
    block.append(4 - block.size() % 4, '=');
  }
  return DecodePadded(block);
}

}  // namespace tlsproxy::acl
