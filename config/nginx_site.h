// What nginx does with the tlsproxy site, in terms the ACL import can use:
// which server block serves it, and for each `location` its match type and
// path, whether it proxies at all, and who it lets through for reads and
// for writes, with auth_basic, auth_basic_user_file and deny/allow
// inherited server -> location -> limit_except as nginx inherits them.
// Pure; notes what it cannot model.
#pragma once

#include <string>
#include <vector>

#include "config/nginx_import.h"
#include "config/nginx_syntax.h"

namespace tlsproxy::config {

// The access settings one context sets itself; unset fields inherit.
struct NginxAuthSettings {
  std::string realm;  // auth_basic; "off" turns it off
  int realm_line = 0;
  std::string user_file;  // auth_basic_user_file
  int user_file_line = 0;
  bool deny_all = false;  // `deny all;` (an `allow all;` below clears it)
  int deny_line = 0;      // 0: the context says nothing about deny/allow all
};

// Who nginx let through for a set of methods.
struct NginxGate {
  enum class Kind { kAnyone, kUsers, kDenied };
  Kind kind = Kind::kAnyone;
  std::string user_file;  // kUsers
  int line = 0;           // kUsers: the auth_basic_user_file line; kDenied: the deny line
};

struct NginxLocation {
  enum class Match { kPrefix, kExact, kRegex, kNamed };
  Match match = Match::kPrefix;
  std::string modifier;  // as written: "", "=", "~", "~*", "^~", "@"
  std::string uri;
  int line = 0;
  bool proxies = false;                      // has proxy_pass
  NginxGate read;                            // GET and HEAD
  NginxGate write;                           // every other method
  int limit_except_line = 0;                 // 0: none
  std::vector<std::string> ungated_methods;  // limit_except's list, upper case
};

// Reads the access directives of `directives` (one context) on top of
// `parent`, as nginx merges them; notes the ones it cannot model (satisfy,
// allow/deny of addresses) in *notes.
NginxAuthSettings ReadNginxAuth(const std::vector<NginxDirective>& directives,
                                const NginxAuthSettings& parent, std::vector<NginxNote>* notes);

// Notes the directives whose effect is not followed: include, if.
void NoteNginxUnfollowed(const std::vector<NginxDirective>& directives,
                         std::vector<NginxNote>* notes);

// The directives of the server to translate: the first `server` (at the top
// or inside `http`) that listens with ssl, else the first server, else the
// top level itself when it holds locations (a snippet); null when none.
// *line is the server's line; the other servers are noted as ignored.
const std::vector<NginxDirective>* FindNginxServer(const std::vector<NginxDirective>& top,
                                                   int* line, std::vector<NginxNote>* notes);

// Interprets one `location` directive under the server's settings. False,
// with *error set, when its arguments make no sense to nginx either.
bool ReadNginxLocation(const NginxDirective& location, const NginxAuthSettings& server,
                       NginxLocation* out, std::vector<NginxNote>* notes, std::string* error);

}  // namespace tlsproxy::config
