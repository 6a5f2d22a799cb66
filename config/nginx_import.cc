#include "config/nginx_import.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "config/htpasswd_users.h"
#include "config/nginx_site.h"
#include "config/nginx_syntax.h"

namespace tlsproxy::config {
namespace {

using Kind = NginxGate::Kind;

// A YAML double-quoted scalar (JSON's escapes are YAML's). The caller has
// checked IsPrintableUtf8, so nothing is replaced.
std::string Quote(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Who a rule lists for one direction: anyone, these names, or unknown.
struct NameList {
  enum class State { kAny, kNames, kUnknown };
  State state = State::kAny;
  std::vector<std::string> names;
  std::string todo;  // kUnknown: what the operator must do
};

std::string Render(const NameList& list) {
  if (list.state == NameList::State::kAny) return "any";
  std::string out = "[";
  for (const std::string& name : list.names) out += (out.size() > 1 ? ", " : "") + Quote(name);
  return out + "]";
}

// The acls prefix for a prefix location under /v2/keys (or "/"), or "" with
// *why set. One trailing slash is stripped.
std::string PrefixOf(const std::string& uri, std::string* why) {
  const std::string keys = "/v2/keys";
  if (uri == "/") return "/";
  if (uri.rfind(keys, 0) != 0 || (uri.size() > keys.size() && uri[keys.size()] != '/')) {
    *why = "outside /v2/keys";
    return "";
  }
  std::string prefix = uri.size() == keys.size() ? "/" : uri.substr(keys.size());
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (!IsPrintableUtf8(prefix) || prefix.find_first_of("\\%") != std::string::npos) {
    *why = "not a valid acls prefix (control characters, '\\' or '%')";
    return "";
  }
  if (prefix == "/") return prefix;
  for (std::size_t start = 1; start <= prefix.size();) {
    const std::size_t end = std::min(prefix.find('/', start), prefix.size());
    const std::string segment = prefix.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      *why = "not a valid acls prefix (empty, '.' or '..' segment)";
      return "";
    }
    start = end + 1;
  }
  return prefix;
}

std::string Describe(const NginxGate& gate) {
  switch (gate.kind) {
    case Kind::kAnyone:
      return "anyone";
    case Kind::kUsers:
      return "the users of " + EscapeNginxText(gate.user_file);
    case Kind::kDenied:
      return "nobody";
  }
  return "";
}

// One prefix location that maps to an acls prefix.
struct Candidate {
  NginxLocation location;
  std::string prefix;
};

// Walks one server block into rules and notes. Holds the reader by
// reference: it must outlive the importer, and be callable.
class Importer {
 public:
  explicit Importer(const NginxFileReader& read_file) : read_file_(read_file) {}

  // False with *error/*error_line set when a location makes no sense.
  bool Server(const std::vector<NginxDirective>& directives, int server_line, std::string* error,
              int* error_line);
  std::string Yaml(const std::string& source_name);
  std::vector<NginxNote> TakeNotes() { return std::move(notes_); }
  void AddNotes(const std::vector<NginxNote>& notes) {
    notes_.insert(notes_.end(), notes.begin(), notes.end());
  }

 private:
  void Note(int line, std::string text) { notes_.push_back({line, std::move(text)}); }
  void Offer(const NginxLocation& location);
  void NoteNotTranslated(const NginxLocation& location, const std::string& why);
  void Translate(const Candidate& candidate);
  void NoteDifferences(const Candidate& candidate);
  void NoteMethods(const NginxLocation& location);
  NameList Names(const NginxGate& gate, const std::string& prefix, const char* verb);
  struct FileUsers {
    bool readable = false;
    HtpasswdUsers users;
    std::string why;  // when not readable
  };
  const FileUsers& Users(const std::string& path, int line);

  const NginxFileReader& read_file_;
  std::vector<NginxNote> notes_;
  std::map<std::string, Candidate> candidates_;  // by prefix
  std::map<std::string, std::string> rules_;     // prefix -> printed line
  std::map<std::string, FileUsers> files_;       // by path
  bool root_location_ = false;
  bool public_reads_ = false;
};

bool Importer::Server(const std::vector<NginxDirective>& directives, int server_line,
                      std::string* error, int* error_line) {
  const NginxAuthSettings server = ReadNginxAuth(directives, {}, &notes_);
  NoteNginxUnfollowed(directives, &notes_);
  for (const NginxDirective& d : directives) {
    if (d.name != "location") continue;
    NginxLocation location;
    if (!ReadNginxLocation(d, server, &location, &notes_, error)) {
      *error_line = d.line;
      return false;
    }
    Offer(location);
  }
  for (const auto& [prefix, candidate] : candidates_) Translate(candidate);
  if (!root_location_) {
    Note(server_line,
         "no location /: nginx did not proxy paths outside the locations above; the proxy "
         "forwards them, and writes there (also /v2/members, the /v3 gateway, gRPC) need a "
         "\"/\" rule" +
             std::string(rules_.count("/") ? "" : ", which this output lacks: add one"));
  }
  if (public_reads_) {
    Note(server_line,
         "nginx let GET and HEAD through without credentials: keep public_reads: true (a rule's "
         "read list overrides it)");
  }
  return true;
}

// Records a prefix location as the candidate for its acls prefix, or says
// why it is not translated. Two locations for one prefix (`/a` and `/a/`):
// the longer, which decides everything below the key, wins.
void Importer::Offer(const NginxLocation& location) {
  using Match = NginxLocation::Match;
  if (location.match == Match::kRegex) {
    return NoteNotTranslated(location, "a regex location (the proxy's acls are key prefixes)");
  }
  if (location.match == Match::kExact) return NoteNotTranslated(location, "an exact location");
  if (location.match == Match::kNamed) return NoteNotTranslated(location, "a named location");
  if (location.uri == "/") root_location_ = true;
  std::string why;
  const std::string prefix = PrefixOf(location.uri, &why);
  if (prefix.empty()) return NoteNotTranslated(location, why);
  if (!location.proxies) {
    return NoteNotTranslated(location, "it has no proxy_pass (nginx answered it itself)");
  }
  Candidate candidate{location, prefix};
  const auto [it, inserted] = candidates_.emplace(prefix, candidate);
  if (inserted) return;
  Candidate loser = std::move(candidate);
  if (location.uri.size() > it->second.location.uri.size()) std::swap(loser, it->second);
  Note(loser.location.line,
       "location " + EscapeNginxText(loser.location.uri) + " gives the same rule \"" +
           EscapeNginxText(prefix) + "\" as the location on line " +
           std::to_string(it->second.location.line) + ", which is translated; nginx let " +
           Describe(loser.location.write) + " write what only this one matched");
}

void Importer::NoteNotTranslated(const NginxLocation& location, const std::string& why) {
  std::string text = "location " + (location.modifier.empty() ? "" : location.modifier + " ") +
                     EscapeNginxText(location.uri) + ": not translated, " + why;
  if (why == "outside /v2/keys") {
    text += location.uri.rfind("/v3", 0) == 0
                ? "; the proxy decides the /v3 gateway and gRPC per key with the acls"
                : "; the proxy serves reads of /v2/members, /v2/stats, /version, /health under "
                  "public_reads and needs the \"/\" rule for anything else";
  }
  if (location.proxies && location.write.kind == Kind::kAnyone) {
    text += " (nginx let anyone write there; the proxy refuses that outside open rules)";
  } else if (location.proxies) {
    text += " (nginx let " + Describe(location.write) + " write there)";
  }
  Note(location.line, text);
}

void Importer::Translate(const Candidate& candidate) {
  const NginxLocation& location = candidate.location;
  const std::string& prefix = candidate.prefix;
  if (location.read.kind == Kind::kDenied) {
    return Note(location.line,
                "nginx refused every request here (deny all); the proxy cannot refuse everyone: "
                "without a rule the enclosing one decides. Not translated");
  }
  if (location.write.kind == Kind::kDenied) {
    return Note(location.write.line,
                "nginx refused writes here (deny all: read-only mode); the proxy has no "
                "per-prefix read-only: set read_only: true at the top level. Not translated");
  }
  NoteDifferences(candidate);
  const NameList write = Names(location.write, prefix, "write");
  const NameList read =
      location.read.kind == Kind::kUsers ? Names(location.read, prefix, "read") : NameList{};
  for (const NameList* list : {&write, &read}) {
    if (list->state == NameList::State::kUnknown) {
      rules_[prefix] = "  # " + Quote(prefix) + ": [...]  # TODO: " + list->todo;
      return;
    }
  }
  if (location.read.kind == Kind::kUsers) {
    rules_[prefix] =
        "  " + Quote(prefix) + ": {write: " + Render(write) + ", read: " + Render(read) + "}";
  } else if (write.state == NameList::State::kAny) {
    public_reads_ = true;
    rules_[prefix] = "  " + Quote(prefix) + ": {write: any}";
  } else {
    public_reads_ = true;
    rules_[prefix] = "  " + Quote(prefix) + ": " + Render(write);
  }
}

// Where nginx and the proxy decide differently for this location.
void Importer::NoteDifferences(const Candidate& candidate) {
  const NginxLocation& location = candidate.location;
  const std::string uri = EscapeNginxText(location.uri);
  const std::string prefix = EscapeNginxText(candidate.prefix);
  const bool open = location.write.kind == Kind::kAnyone;
  if (location.uri == "/") {
    Note(location.line,
         open ? "location / forwards everything else without credentials: in nginx anyone "
                "could write outside the prefixes above, including /v2/members, /v2/auth, the "
                "/v3 gateway and gRPC; translated as {write: any}, which keeps that open in the "
                "proxy (shadow mode shows these writes)"
              : "location /: the proxy's \"/\" rule also decides writes to /v2/members, "
                "/v2/auth, the /v3 gateway and gRPC; nginx gated them by HTTP method, so v3 "
                "gateway reads (POST /v3/kv/range) needed these credentials, while the proxy "
                "decides v3 per key (reads follow public_reads)");
  } else if (candidate.prefix == "/") {
    Note(location.line, "location " + uri +
                            ": translated as the \"/\" rule, which also decides writes outside "
                            "/v2/keys (/v2/members, /v2/auth, the /v3 gateway, gRPC)");
  } else if (location.uri.back() == '/') {
    Note(location.line, "location " + uri + " did not match the directory key /v2/keys" + prefix +
                            " itself (nginx sent it to another location); the proxy's rule "
                            "covers it too");
  } else {
    Note(location.line, "location " + uri + " is a string prefix in nginx: it also matched " + uri +
                            "X; the proxy's rule \"" + prefix +
                            "\" covers that key and the keys below it only (whole segments)");
  }
  if (open && location.uri != "/") {
    Note(location.line, "location " + uri +
                            " has no auth_basic: anyone may write there; translated as "
                            "{write: any}");
  }
  NoteMethods(location);
}

void Importer::NoteMethods(const NginxLocation& location) {
  if (location.read.kind == Kind::kUsers && location.limit_except_line == 0) {
    return Note(location.line,
                "auth_basic applies to every method here, reads too: translated with a read "
                "list (it overrides public_reads)");
  }
  if (location.limit_except_line == 0 || location.write.kind != Kind::kUsers) return;
  const auto& methods = location.ungated_methods;
  const auto listed = [&](const char* m) {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
  };
  if (!listed("GET")) {
    Note(location.limit_except_line,
         "limit_except does not list GET: nginx required credentials to read here too; "
         "translated with a read list");
  } else if (!listed("OPTIONS")) {
    Note(location.limit_except_line,
         "limit_except does not list OPTIONS: nginx required credentials for it; the proxy "
         "treats OPTIONS as a read");
  }
  for (const std::string& method : methods) {
    if (method != "GET" && method != "HEAD" && method != "OPTIONS") {
      Note(location.limit_except_line,
           "limit_except lets " + EscapeNginxText(method) +
               " through without credentials in nginx; the proxy treats it as a write that "
               "needs the rule's writers");
    }
  }
}

// The names a gate lets through, read from its htpasswd file.
NameList Importer::Names(const NginxGate& gate, const std::string& prefix, const char* verb) {
  if (gate.kind == Kind::kAnyone) return {};
  const FileUsers& users = Users(gate.user_file, gate.line);
  const std::string file = EscapeNginxText(gate.user_file);
  const std::string rule = "the rule for \"" + EscapeNginxText(prefix) + "\"";
  if (!users.readable) {
    const std::string why = "cannot read " + file + " (" + EscapeNginxText(users.why) + ")";
    Note(gate.line, why + ": " + rule + " is printed commented out");
    return {NameList::State::kUnknown, {}, why + ": list who may " + verb};
  }
  if (users.users.names.empty()) {
    Note(gate.line, file + " lists no user: nginx let nobody " + verb + " under " + rule +
                        "; an empty list would mean anyone, so it is printed commented out");
    return {NameList::State::kUnknown, {}, file + " lists no user: nginx let nobody " + verb};
  }
  return {NameList::State::kNames, users.users.names, ""};
}

// The users of an htpasswd file, read once (and noted once).
const Importer::FileUsers& Importer::Users(const std::string& path, int line) {
  const auto found = files_.find(path);
  if (found != files_.end()) return found->second;
  FileUsers& file = files_[path];
  const std::optional<std::string> text = read_file_(path, &file.why);
  file.readable = text.has_value();
  if (text) file.users = ParseHtpasswdUsers(*text);
  const std::string name = EscapeNginxText(path);
  if (!path.empty() && path[0] != '/') {
    Note(line, name +
                   " is relative: nginx read it relative to its prefix (usually "
                   "/etc/nginx/); read here relative to the current directory");
  }
  for (const int skipped : file.users.skipped_lines) {
    Note(line, name + " line " + std::to_string(skipped) +
                   ": a user name with control characters or not UTF-8, left out (stricter "
                   "than nginx)");
  }
  if (!file.users.names.empty()) {
    std::string names;
    for (const std::string& user : file.users.names) {
      names += (names.empty() ? "" : ", ") + EscapeNginxText(user);
    }
    Note(line, name + ": users: " + names + "; copy their hashes under accounts: (not printed)");
  }
  return file;
}

std::string Importer::Yaml(const std::string& source_name) {
  std::stable_sort(notes_.begin(), notes_.end(),
                   [](const NginxNote& a, const NginxNote& b) { return a.line < b.line; });
  notes_.erase(std::unique(notes_.begin(), notes_.end(),
                           [](const NginxNote& a, const NginxNote& b) {
                             return a.line == b.line && a.text == b.text;
                           }),
               notes_.end());
  std::ostringstream yaml;
  yaml << "# etcd-tlsproxy --from-nginx " << EscapeNginxText(source_name) << ": " << notes_.size()
       << " note(s) on where the proxy decides differently; review them\n";
  for (const NginxNote& note : notes_) {
    yaml << "# nginx line " << note.line << ": " << note.text << "\n";
  }
  // Only commented-out rules (or none): "acls:" alone would be null.
  const bool any_live = std::any_of(rules_.begin(), rules_.end(),
                                    [](const auto& rule) { return rule.second[2] != '#'; });
  yaml << (any_live ? "acls:\n" : "acls: {}\n");
  for (const auto& [prefix, line] : rules_) yaml << line << "\n";
  return yaml.str();
}

}  // namespace

NginxFileReader DiskFileReader() {
  return [](const std::string& path, std::string* why) -> std::optional<std::string> {
    constexpr std::size_t kMaxBytes = 16 << 20;
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      *why = errno != 0 ? std::strerror(errno) : "cannot open";
      return std::nullopt;
    }
    std::string text(kMaxBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
      *why = "read error";
      return std::nullopt;
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxBytes) {
      *why = "larger than 16 MiB";
      return std::nullopt;
    }
    return text;
  };
}

NginxImport ImportNginx(std::string_view nginx_text, const std::string& source_name,
                        const NginxFileReader& read_file) {
  NginxImport result;
  const NginxParseResult parsed = ParseNginx(nginx_text);
  if (!parsed.ok()) {
    result.error = parsed.error;
    result.error_line = parsed.error_line;
    return result;
  }
  const NginxFileReader no_files = [](const std::string&, std::string* why) {
    *why = "no file reader";
    return std::optional<std::string>();
  };
  Importer importer(read_file ? read_file : no_files);
  std::vector<NginxNote> server_notes;
  int server_line = 0;
  const std::vector<NginxDirective>* server =
      FindNginxServer(parsed.directives, &server_line, &server_notes);
  if (server == nullptr) {
    result.error = "no server block with location blocks";
    return result;
  }
  importer.AddNotes(server_notes);
  if (!importer.Server(*server, server_line, &result.error, &result.error_line)) return result;
  result.yaml = importer.Yaml(source_name);
  result.notes = importer.TakeNotes();
  return result;
}

}  // namespace tlsproxy::config
