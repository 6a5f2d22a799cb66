// The syntax of an nginx configuration file, enough to read the tlsproxy
// site puppet renders: directives with arguments, ended by `;` or by a
// `{ ... }` block of further directives; `#` comments; single- and
// double-quoted arguments with backslash escapes. It knows no directive's
// meaning and follows no `include` (nginx_import does the meaning).
//
// Guarantees: ParseNginx never throws and never recurses deeper than
// kMaxNginxDepth blocks; on success every directive has a non-empty name
// and the 1-based line its name starts on; on failure the error names the
// line where the input stopped making sense.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsproxy::config {

// One directive: `name arg...;` or `name arg... { children }`.
struct NginxDirective {
  std::string name;
  std::vector<std::string> args;  // quotes removed, escapes resolved
  int line = 0;
  bool has_block = false;
  std::vector<NginxDirective> children;  // the block's directives, in order
};

struct NginxParseResult {
  std::vector<NginxDirective> directives;  // the top level, in order
  std::string error;                       // empty on success
  int error_line = 0;
  bool ok() const { return error.empty(); }
};

// Blocks nested deeper than this are an error (nginx's own files nest 4).
inline constexpr int kMaxNginxDepth = 32;

NginxParseResult ParseNginx(std::string_view text);

// `text` fit for one line of a message: printable ASCII is kept (a
// backslash doubled), every other byte becomes \xNN. For file bytes.
std::string EscapeNginxText(std::string_view text);

}  // namespace tlsproxy::config
