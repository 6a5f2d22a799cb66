// Fuzzes config::ParseConfig on arbitrary YAML text. Each "@DIR@" in the
// input is replaced by a temporary folder holding readable cert.pem,
// key.pem, ca.pem and crl.pem, so seeds can name TLS files that exist (the
// loader checks they are readable). Checks the LoadResult contract: either a
// config and no errors, or errors that each name a key; and that an accepted
// config keeps the guarantees config.h lists (every name a rule lists, writer
// or reader, is an account unless a client CA is set; tls.identity lists
// each kind once).
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;

const std::string& TlsDir() {
  static const std::string dir = [] {
    std::string pattern = (fs::temp_directory_path() / "config_fuzz.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    for (const char* name : {"cert.pem", "key.pem", "ca.pem", "crl.pem"}) {
      std::ofstream(fs::path(pattern) / name) << "dummy\n";
    }
    return pattern;
  }();
  return dir;
}

struct RemoveTlsDir {
  ~RemoveTlsDir() {
    std::error_code ignored;
    fs::remove_all(TlsDir(), ignored);
  }
};

std::string Expand(std::string text) {
  const std::string marker = "@DIR@";
  for (size_t at = text.find(marker); at != std::string::npos;
       at = text.find(marker, at + TlsDir().size())) {
    text.replace(at, marker.size(), TlsDir());
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  TlsDir();
  static RemoveTlsDir cleanup;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy::config;
  const std::string text = Expand(std::string(reinterpret_cast<const char*>(data), size));
  const LoadResult result = ParseConfig(text);
  FUZZ_CHECK(result.ok() == result.errors.empty(), "config set iff no errors");
  for (const ConfigError& error : result.errors) {
    FUZZ_CHECK(!error.message.empty(), error.ToString());
    FUZZ_CHECK(error.line >= 0, error.ToString());
  }
  if (!result.ok()) return 0;

  const Config& config = *result.config;
  FUZZ_CHECK(!config.acls.empty(), "at least one ACL rule");
  for (size_t i = 0; i < config.acls.size(); ++i) {
    const std::string& prefix = config.acls[i].prefix;
    FUZZ_CHECK(!prefix.empty() && prefix[0] == '/', prefix);
    FUZZ_CHECK(prefix == "/" || prefix.back() != '/', prefix);
    FUZZ_CHECK(prefix.find_first_of("\\%") == std::string::npos, prefix);
    for (const char* bad : {"//", "/./", "/../"}) {
      FUZZ_CHECK(prefix.find(bad) == std::string::npos, prefix);
    }
    FUZZ_CHECK(!prefix.ends_with("/.") && !prefix.ends_with("/.."), prefix);
    for (unsigned char c : prefix) FUZZ_CHECK(c >= 0x20 && c != 0x7f, prefix);
    FUZZ_CHECK(i == 0 || config.acls[i - 1].prefix < prefix, "sorted, no duplicates: " + prefix);
    std::vector<std::string> names = config.acls[i].users;
    if (config.acls[i].readers) {
      names.insert(names.end(), config.acls[i].readers->begin(), config.acls[i].readers->end());
    }
    for (const std::string& user : names) {
      FUZZ_CHECK(!user.empty(), prefix);
      FUZZ_CHECK(config.accounts.count(user) == 1 || !config.tls.client_ca_file.empty(),
                 prefix + ": " + user);
    }
  }
  const std::vector<IdentitySource>& identity = config.tls.identity;
  FUZZ_CHECK(!identity.empty() && identity.size() <= 3, "tls.identity");
  for (size_t i = 0; i < identity.size(); ++i) {
    FUZZ_CHECK(std::count(identity.begin(), identity.end(), identity[i]) == 1,
               "tls.identity: a kind twice");
  }
  for (const auto& [user, hash] : config.accounts) {
    FUZZ_CHECK(IsSupportedPasswordHash(hash), user);
  }
  FUZZ_CHECK(!config.listen.empty(), "listen");
  FUZZ_CHECK(!config.tls.cert_file.empty() && !config.tls.key_file.empty(), "tls");
  FUZZ_CHECK(!config.tls.require_client_cert || !config.tls.client_ca_file.empty(),
             "require_client_cert without client_ca");
  return 0;
}
