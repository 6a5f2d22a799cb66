// Translates the nginx tlsproxy site that puppet rendered (one `server`
// with `location` blocks gated by `limit_except` + `auth_basic`) into the
// `acls` section of our YAML, for `etcd-tlsproxy --from-nginx FILE`.
// Pure: it reads the htpasswd files only through the FileReader it is given
// and opens no socket.
//
// Guarantees:
// - every place where nginx and the proxy decide differently, and every
//   directive or location that was not translated, becomes a note naming
//   the nginx line;
// - a rule never lists more writers (or readers) than nginx let through
//   its location: when they cannot be known (an unreadable htpasswd file,
//   or one listing nobody) the rule is printed commented out with a TODO,
//   never open; a user name the YAML cannot carry is left out. (Where the
//   proxy's rule reaches keys nginx sent elsewhere, a note says so.)
// - only user names are taken from htpasswd files: no hash is ever copied
//   into the output or a note;
// - `yaml` is valid YAML: notes as `#` lines (file bytes escaped), then
//   `acls:` with one rule a line, sorted by prefix, prefixes and names
//   quoted as JSON strings.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::config {

// Returns the contents of the file at `path` (as written in the nginx
// file), or nullopt with *why set (e.g. "No such file or directory").
using NginxFileReader =
    std::function<std::optional<std::string>(const std::string& path, std::string* why)>;

// The reader main uses: opens `path` as written (relative to the current
// directory), reads at most 16 MiB.
NginxFileReader DiskFileReader();

// One remark for the operator, about nginx line `line` (1-based).
struct NginxNote {
  int line = 0;
  std::string text;  // file bytes in it are escaped (EscapeNginxText)
};

struct NginxImport {
  std::string yaml;  // empty when error is set
  std::vector<NginxNote> notes;
  std::string error;  // the file does not parse (or has no server); bytes escaped
  int error_line = 0;
  bool ok() const { return error.empty(); }
};

// `source_name` names the nginx file in the output's first comment line.
NginxImport ImportNginx(std::string_view nginx_text, const std::string& source_name,
                        const NginxFileReader& read_file);

}  // namespace tlsproxy::config
