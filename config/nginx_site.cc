#include "config/nginx_site.h"

#include <algorithm>
#include <cctype>

namespace tlsproxy::config {
namespace {

void Note(std::vector<NginxNote>* notes, int line, std::string text) {
  notes->push_back({line, std::move(text)});
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// The gate one context's merged settings give. nginx asks for credentials
// only with both a realm (not "off") and a user file.
NginxGate GateOf(const NginxAuthSettings& settings, std::vector<NginxNote>* notes) {
  if (settings.deny_all) return {NginxGate::Kind::kDenied, "", settings.deny_line};
  const bool realm_on = !settings.realm.empty() && settings.realm != "off";
  if (realm_on && !settings.user_file.empty()) {
    return {NginxGate::Kind::kUsers, settings.user_file, settings.user_file_line};
  }
  if (realm_on) {
    Note(notes, settings.realm_line,
         "auth_basic without auth_basic_user_file: nginx asked for no credentials");
  } else if (settings.realm.empty() && !settings.user_file.empty()) {
    Note(notes, settings.user_file_line,
         "auth_basic_user_file without auth_basic: nginx asked for no credentials");
  }
  return {};
}

// `location [modifier] uri`, the modifier possibly glued to the uri.
bool ReadMatch(const NginxDirective& location, NginxLocation* out, std::string* error) {
  const std::vector<std::string>& args = location.args;
  if (args.empty() || args.size() > 2) {
    *error = "location needs one path, with an optional modifier";
    return false;
  }
  std::string uri = args.back();
  std::string modifier = args.size() == 2 ? args[0] : "";
  if (args.size() == 1) {
    for (const char* glued : {"~*", "^~", "~", "=", "@"}) {
      if (uri.rfind(glued, 0) == 0) {
        modifier = glued;
        uri.erase(0, modifier.size());
        break;
      }
    }
  }
  using Match = NginxLocation::Match;
  if (modifier.empty() || modifier == "^~") {
    out->match = Match::kPrefix;
  } else if (modifier == "=") {
    out->match = Match::kExact;
  } else if (modifier == "~" || modifier == "~*") {
    out->match = Match::kRegex;
  } else if (modifier == "@" && args.size() == 1) {
    out->match = Match::kNamed;
  } else {
    *error = "location: unknown modifier \"" + EscapeNginxText(modifier) + "\"";
    return false;
  }
  if (uri.empty()) {
    *error = "location needs a path";
    return false;
  }
  out->modifier = modifier;
  out->uri = uri;
  out->line = location.line;
  return true;
}

}  // namespace

NginxAuthSettings ReadNginxAuth(const std::vector<NginxDirective>& directives,
                                const NginxAuthSettings& parent, std::vector<NginxNote>* notes) {
  NginxAuthSettings settings = parent;
  bool own_access_rules = false;
  bool all_rule_seen = false;
  for (const NginxDirective& d : directives) {
    if (d.args.size() != 1) continue;
    const std::string& arg = d.args[0];
    if (d.name == "auth_basic") {
      settings.realm = arg, settings.realm_line = d.line;
    } else if (d.name == "auth_basic_user_file") {
      settings.user_file = arg, settings.user_file_line = d.line;
    } else if (d.name == "satisfy") {
      Note(notes, d.line, "satisfy " + EscapeNginxText(arg) + ": not translated");
    } else if (d.name == "allow" || d.name == "deny") {
      // A context with access rules of its own does not inherit its parent's.
      if (!own_access_rules) settings.deny_all = false, settings.deny_line = 0;
      own_access_rules = true;
      if (arg != "all") {
        Note(notes, d.line,
             d.name + " " + EscapeNginxText(arg) +
                 ": address rules are not translated (the proxy decides by identity only)");
      } else if (!all_rule_seen) {  // nginx: the first matching rule wins
        all_rule_seen = true;
        settings.deny_all = d.name == "deny", settings.deny_line = d.line;
      }
    }
  }
  return settings;
}

void NoteNginxUnfollowed(const std::vector<NginxDirective>& directives,
                         std::vector<NginxNote>* notes) {
  for (const NginxDirective& d : directives) {
    if (d.name == "include") {
      Note(notes, d.line,
           "include " + EscapeNginxText(d.args.empty() ? "" : d.args[0]) +
               ": not followed; run --from-nginx on the included file too");
    } else if (d.name == "if" && d.has_block) {
      Note(notes, d.line, "if block: not translated; check what it allowed by hand");
    }
  }
}

bool ReadNginxLocation(const NginxDirective& location, const NginxAuthSettings& server,
                       NginxLocation* out, std::vector<NginxNote>* notes, std::string* error) {
  if (!ReadMatch(location, out, error)) return false;
  const NginxAuthSettings here = ReadNginxAuth(location.children, server, notes);
  NoteNginxUnfollowed(location.children, notes);
  const NginxDirective* limit = nullptr;
  for (const NginxDirective& child : location.children) {
    if (child.name == "proxy_pass") {
      out->proxies = true;
    } else if (child.name == "limit_except" && limit == nullptr) {
      limit = &child;
    } else if (child.name == "location") {
      Note(notes, child.line,
           "nested location " + EscapeNginxText(child.args.empty() ? "" : child.args.back()) +
               " inside location " + EscapeNginxText(out->uri) + ": not translated");
    }
  }
  out->read = GateOf(here, notes);
  out->write = out->read;
  if (limit == nullptr) return true;
  if (limit->args.empty() || !limit->has_block) {
    *error = "limit_except needs methods and a block";
    return false;
  }
  out->limit_except_line = limit->line;
  for (const std::string& method : limit->args) out->ungated_methods.push_back(Upper(method));
  const NginxAuthSettings inner = ReadNginxAuth(limit->children, here, notes);
  out->write = GateOf(inner, notes);
  const auto& ungated = out->ungated_methods;
  if (std::find(ungated.begin(), ungated.end(), "GET") == ungated.end()) out->read = out->write;
  return true;
}

const std::vector<NginxDirective>* FindNginxServer(const std::vector<NginxDirective>& top,
                                                   int* line, std::vector<NginxNote>* notes) {
  std::vector<const NginxDirective*> servers;
  for (const NginxDirective& d : top) {
    if (d.name == "server" && d.has_block) servers.push_back(&d);
    if (d.name != "http") continue;
    for (const NginxDirective& inner : d.children) {
      if (inner.name == "server" && inner.has_block) servers.push_back(&inner);
    }
  }
  const auto listens_ssl = [](const NginxDirective* server) {
    for (const NginxDirective& d : server->children) {
      if (d.name == "listen" && std::count(d.args.begin(), d.args.end(), "ssl") > 0) return true;
    }
    return false;
  };
  const auto chosen = std::find_if(servers.begin(), servers.end(), listens_ssl);
  const NginxDirective* server = chosen != servers.end() ? *chosen
                                 : servers.empty()       ? nullptr
                                                         : servers.front();
  for (const NginxDirective* other : servers) {
    if (other != server) notes->push_back({other->line, "another server block: not translated"});
  }
  if (server != nullptr) {
    *line = server->line;
    return &server->children;
  }
  const bool has_location = std::any_of(
      top.begin(), top.end(), [](const NginxDirective& d) { return d.name == "location"; });
  *line = 1;
  return has_location ? &top : nullptr;
}

}  // namespace tlsproxy::config
