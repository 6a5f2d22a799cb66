// Fuzzes AuthTokens::Verify, which reads the `token` metadata and gateway
// Authorization values clients send.
//
// Input: the token text. Invariants: nothing crashes; a token is accepted
// only when it is, up to the case of its hex digits, exactly what Issue()
// makes for that user, account hash and expiry with this key (so a forged
// MAC, another user's name, a moved expiry or a stray byte never pass);
// the same text with another key is refused.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "acl/ascii.h"
#include "acl/auth_token.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy;
  static const std::map<std::string, std::string> kAccounts = {
      {"conftool", "$apr1$abc$conftool"}, {"root", "$2y$05$root"}, {"", "$apr1$x$empty"}};
  static const acl::AuthTokens kTokens(std::string(32, 'k'), std::chrono::seconds(300));
  static const acl::AuthTokens kOther(std::string(32, 'o'), std::chrono::seconds(300));
  constexpr std::time_t kNow = 1800000000;
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const std::optional<std::string> user = kTokens.Verify(token, kAccounts, kNow);
  if (!user) return 0;
  FUZZ_CHECK(!kOther.Verify(token, kAccounts, kNow), "accepted under another key");
  const size_t second_dot = token.find('.', token.find('.') + 1);
  const size_t third_dot = token.find('.', second_dot + 1);
  const long long expiry =
      std::stoll(std::string(token.substr(second_dot + 1, third_dot - second_dot - 1)));
  const std::string canonical =
      kTokens.Issue(*user, kAccounts.at(*user), static_cast<std::time_t>(expiry - 300));
  FUZZ_CHECK(acl::EqualsIgnoreCase(canonical, token), "accepted a token Issue() would not make");
  return 0;
}
