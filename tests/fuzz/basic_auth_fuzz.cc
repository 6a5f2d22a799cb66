// Fuzzes ParseBasicAuth on arbitrary Authorization header values. Checks
// that what it accepts is what etcd and the account store can use
// unambiguously: a non-empty user with no ':' and no control byte (so no
// NUL), a password with no NUL, and that encoding the pair again parses back
// to the same pair. Also runs both decoders of acl/base64.h on the whole
// input and on the text after the scheme: what the strict one accepts the
// lenient one reads the same, and whatever either accepts re-encodes to a
// text that decodes back to the same bytes.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acl/base64.h"
#include "acl/basic_auth.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::string Base64(const std::string& text) {
  std::vector<unsigned char> out(4 * ((text.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

void CheckBase64(std::string_view text) {
  using tlsproxy::acl::DecodeBase64Lenient;
  using tlsproxy::acl::DecodeBase64Strict;
  const std::optional<std::string> strict = DecodeBase64Strict(text);
  const std::optional<std::string> lenient = DecodeBase64Lenient(text);
  if (strict) FUZZ_CHECK(lenient == strict, text);
  if (lenient) FUZZ_CHECK(DecodeBase64Strict(Base64(*lenient)) == lenient, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tlsproxy::acl::BasicCredentials;
  using tlsproxy::acl::ParseBasicAuth;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  CheckBase64(value);
  if (value.size() > 6) CheckBase64(value.substr(6));
  const std::optional<BasicCredentials> credentials = ParseBasicAuth(value);
  if (!credentials) return 0;

  const std::string& user = credentials->user;
  FUZZ_CHECK(!user.empty(), value);
  FUZZ_CHECK(user.find(':') == std::string::npos, user);
  for (unsigned char c : user) FUZZ_CHECK(c >= 0x20 && c != 0x7f, user);
  FUZZ_CHECK(credentials->password.find('\0') == std::string::npos, value);

  // Only the Basic scheme, any case, followed by a space.
  FUZZ_CHECK(value.size() > 6, value);
  std::string scheme(value.substr(0, 6));
  for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  FUZZ_CHECK(scheme == "basic ", value);

  const std::string again = "Basic " + Base64(user + ":" + credentials->password);
  const std::optional<BasicCredentials> round = ParseBasicAuth(again);
  FUZZ_CHECK(round && round->user == user && round->password == credentials->password, again);
  return 0;
}
