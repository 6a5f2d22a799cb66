#include "acl/auth_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <memory>
#include <stdexcept>
#include <vector>

namespace tlsproxy::acl {
namespace {

constexpr std::string_view kVersion = "etp1";

std::string Hex(std::string_view bytes) {
  std::vector<char> out(bytes.size() * 2 + 1);
  size_t length = 0;
  if (OPENSSL_buf2hexstr_ex(out.data(), out.size(), &length,
                            reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                            '\0') != 1) {
    return "";
  }
  return std::string(out.data(), length == 0 ? 0 : length - 1);  // length counts the NUL
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
  std::vector<unsigned char> out(hex.size() / 2);
  size_t length = 0;
  const std::string text(hex);
  if (OPENSSL_hexstr2buf_ex(out.data(), out.size(), &length, text.c_str(), '\0') != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out.data()), length);
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// "a.b.c.d" -> {a, b, c, d}; false unless exactly four parts.
bool Split4(std::string_view token, std::string_view parts[4]) {
  for (int i = 0; i < 3; ++i) {
    const size_t dot = token.find('.');
    if (dot == std::string_view::npos) return false;
    parts[i] = token.substr(0, dot);
    token.remove_prefix(dot + 1);
  }
  parts[3] = token;
  return parts[3].find('.') == std::string_view::npos;
}

}  // namespace

std::string AuthTokens::RandomKey() {
  std::string key(kMinKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return key;
}

std::string AuthTokens::Mac(std::string_view user, std::string_view expiry,
                            std::string_view account_hash) const {
  std::string message(kVersion);
  message.push_back('\0');
  message.append(user);
  message.push_back('\0');
  message.append(expiry);
  message.push_back('\0');
  message.append(Sha256(account_hash));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

std::string AuthTokens::Issue(std::string_view user, std::string_view account_hash,
                              std::time_t now) const {
  const std::string expiry = std::to_string(static_cast<long long>(now) + ttl_.count());
  return std::string(kVersion) + "." + Hex(user) + "." + expiry + "." +
         Hex(Mac(user, expiry, account_hash));
}

std::optional<std::string> AuthTokens::Verify(std::string_view token,
                                              const std::map<std::string, std::string>& accounts,
                                              std::time_t now) const {
  std::string_view parts[4];
  if (token.size() > 1024 || !Split4(token, parts) || parts[0] != kVersion) return std::nullopt;
  const std::optional<std::string> user = Unhex(parts[1]);
  const std::optional<std::string> mac = Unhex(parts[3]);
  if (!user || !mac) return std::nullopt;
  long long expiry = 0;
  const std::string_view digits = parts[2];
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), expiry);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      digits[0] == '0' || expiry <= static_cast<long long>(now)) {
    return std::nullopt;
  }
  const auto account = accounts.find(*user);
  if (account == accounts.end()) return std::nullopt;
  const std::string expected = Mac(*user, digits, account->second);
  if (mac->size() != expected.size() ||
      CRYPTO_memcmp(mac->data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  return user;
}

}  // namespace tlsproxy::acl
