// The user names of an htpasswd file, as nginx's auth_basic_user_file reads
// it: one `name:hash` a line, `#` lines are comments, a line without ':'
// names nobody. Only names are kept: the hashes are never copied out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::config {

struct HtpasswdUsers {
  // In file order, each once; every one IsPrintableUtf8.
  std::vector<std::string> names;
  // 1-based lines whose name was left out: empty, control characters or
  // not UTF-8 (a name our YAML could not carry as written).
  std::vector<int> skipped_lines;
};

HtpasswdUsers ParseHtpasswdUsers(std::string_view text);

// True when `text` is non-empty, valid UTF-8 and has no control character
// (C0, DEL or C1): it can be written as a YAML double-quoted scalar that
// reads back byte for byte.
bool IsPrintableUtf8(std::string_view text);

}  // namespace tlsproxy::config
