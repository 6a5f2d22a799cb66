// config/: YAML text -> one validated, immutable Config (see config.h).
// The validation itself is the Validator's (validator.h); here are the
// public entry points.
#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <re2/re2.h>

#include "config/validator.h"

namespace tlsproxy::config {
namespace {

constexpr std::size_t kMaxConfigFileBytes = 16 << 20;

}  // namespace

std::string ConfigError::ToString() const {
  return key + " (line " + std::to_string(line) + "): " + message;
}

LoadResult LoadConfigFile(const std::string& path) {
  const auto fail = [&path](const std::string& why) {
    return LoadResult{nullptr, {ConfigError{path, 0, "cannot read config file: " + why}}};
  };
  std::string reason = internal::UnreadableReason(path);
  if (!reason.empty()) return fail(reason);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  std::string text;
  char buffer[65536];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() <= kMaxConfigFileBytes) {
    text.append(buffer, static_cast<std::size_t>(got));
  }
  const int read_errno = errno;
  ::close(fd);
  if (got < 0) return fail(std::strerror(read_errno));
  if (text.size() > kMaxConfigFileBytes) return fail("larger than 16 MiB");
  return internal::Validator().Run(text);
}

LoadResult ParseConfig(const std::string& yaml_text) {
  return internal::Validator().Run(yaml_text);
}

bool IsSupportedPasswordHash(const std::string& hash) {
  // Alphabets and lengths as produced by htpasswd, openssl passwd and
  // crypt(3); apr_password_validate verifies all of these.
  static const RE2 kApr1(R"(\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22})");
  static const RE2 kBcrypt(R"(\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./0-9A-Za-z]{53})");
  static const RE2 kSha256(R"(\$5\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{43})");
  static const RE2 kSha512(R"(\$6\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86})");
  return RE2::FullMatch(hash, kApr1) || RE2::FullMatch(hash, kBcrypt) ||
         RE2::FullMatch(hash, kSha256) || RE2::FullMatch(hash, kSha512);
}

}  // namespace tlsproxy::config
