// Fuzzes config::ImportNginx on arbitrary nginx text. The htpasswd reader
// answers from a fixed table by the file's name (a file with users, one
// without, one with a name YAML cannot carry, the rest unreadable). Checks
// the contract of nginx_import.h: an error (with escaped text) and no YAML,
// or YAML that parses, whose every line is a comment or a rule, whose rules
// have prefixes config/ would accept, and that never carries a hash.
#include <yaml-cpp/yaml.h>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "config/nginx_import.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr char kHash[] = "$apr1$fuzzsalt$";

std::optional<std::string> ReadFixed(const std::string& path, std::string* why) {
  if (path.find("empty") != std::string::npos) return std::string("# nobody\n");
  if (path.find("weird") != std::string::npos) {
    return std::string("ok:") + kHash + "x\nb\x01d:" + kHash + "y\n\xff:" + kHash + "z\n";
  }
  if (path.find("missing") != std::string::npos) {
    *why = "No such file or directory";
    return std::nullopt;
  }
  return std::string("root:") + kHash + "a\nconftool:" + kHash + "b\n\"q: x\":" + kHash + "c\n";
}

bool PrintableAscii(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// What config/ requires of an acls prefix (see CanonicalPrefix there).
bool CanonicalPrefix(const std::string& prefix) {
  if (prefix.empty() || prefix[0] != '/') return false;
  if (prefix == "/") return true;
  if (prefix.back() == '/' || prefix.find_first_of("\\%") != std::string::npos) return false;
  for (const char* bad : {"//", "/./", "/../"}) {
    if (prefix.find(bad) != std::string::npos) return false;
  }
  return !prefix.ends_with("/.") && !prefix.ends_with("/..");
}

void CheckYaml(const std::string& yaml) {
  FUZZ_CHECK(!yaml.empty() && yaml.back() == '\n', yaml);
  FUZZ_CHECK(yaml.find(kHash) == std::string::npos, "a hash was printed");
  std::istringstream lines(yaml);
  std::string line;
  std::size_t rules = 0;
  bool in_acls = false;
  while (std::getline(lines, line)) {
    if (line == "acls:" || line == "acls: {}") {
      in_acls = true;
    } else if (!in_acls) {
      FUZZ_CHECK(line.rfind("# ", 0) == 0 && PrintableAscii(line), line);
    } else {
      FUZZ_CHECK(line.rfind("  ", 0) == 0, line);
      if (line.rfind("  # ", 0) != 0) ++rules;
    }
  }
  FUZZ_CHECK(in_acls, yaml);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    FUZZ_CHECK(false, std::string("not YAML: ") + e.what() + "\n" + yaml);
  }
  const YAML::Node acls = root["acls"];
  FUZZ_CHECK(acls.IsMap() && acls.size() == rules, yaml);
  for (const auto& rule : acls) {
    FUZZ_CHECK(CanonicalPrefix(rule.first.as<std::string>()), rule.first.as<std::string>());
    FUZZ_CHECK(rule.second.IsSequence() || rule.second.IsMap(), yaml);
    FUZZ_CHECK(!rule.second.IsSequence() || rule.second.size() > 0, "[] would mean anyone");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy::config;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const NginxImport result = ImportNginx(text, "fuzz.conf", ReadFixed);
  if (!result.ok()) {
    FUZZ_CHECK(result.yaml.empty(), result.error);
    FUZZ_CHECK(PrintableAscii(result.error), result.error);
    FUZZ_CHECK(result.error_line >= 0, result.error);
    return 0;
  }
  for (const NginxNote& note : result.notes) {
    FUZZ_CHECK(note.line >= 1 && PrintableAscii(note.text), note.text);
  }
  CheckYaml(result.yaml);
  return 0;
}
