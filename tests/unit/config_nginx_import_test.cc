// config::ImportNginx: nginx tlsproxy locations -> YAML acls, and a note
// for every place the two decide differently. Table-driven; htpasswd files
// come from an in-memory map.
#include "config/nginx_import.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <utility>

namespace tlsproxy::config {
namespace {

const std::map<std::string, std::string>& Files() {
  static const std::map<std::string, std::string> files = {
      {"/auth/root", "root:$apr1$salt$roothash\n# a comment\n\nadmin:$6$salt$adminhash\n"},
      {"/auth/conftool", "conftool:$apr1$salt$conftoolhash\r\nroot:$apr1$salt$roothash\r\n"},
      {"/auth/empty", "# nobody here\n\n"},
      {"/auth/weird",
       "ok:$apr1$a$b\nb\x01"
       "d:$apr1$a$b\nno-colon-line\n"},
      {"auth/relative", "rel:$apr1$a$b\n"},
  };
  return files;
}

NginxFileReader FakeReader() {
  return [](const std::string& path, std::string* why) -> std::optional<std::string> {
    const auto found = Files().find(path);
    if (found == Files().end()) {
      *why = "No such file or directory";
      return std::nullopt;
    }
    return found->second;
  };
}

// A server block whose body starts on line 3.
std::string Server(const std::string& body) {
  return "server {\n    listen 2379 ssl;\n" + body + "}\n";
}

// The lines after "acls:".
std::vector<std::string> RuleLines(const std::string& yaml) {
  std::vector<std::string> rules;
  std::istringstream lines(yaml);
  std::string line;
  bool in_acls = false;
  while (std::getline(lines, line)) {
    if (in_acls) rules.push_back(line);
    if (line == "acls:") in_acls = true;
  }
  return rules;
}

::testing::AssertionResult HasNote(const NginxImport& import, int line, const std::string& text) {
  for (const NginxNote& note : import.notes) {
    if (note.line == line && note.text.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no note on line " << line << " with '" << text << "' in:\n"
         << import.yaml;
}

const std::string kLimitConftool =
    "        limit_except GET HEAD OPTIONS {\n"
    "            auth_basic \"conftool\";\n"
    "            auth_basic_user_file /auth/conftool;\n"
    "        }\n"
    "        proxy_pass http://127.0.0.1:2378;\n";

struct Case {
  const char* name;
  std::string body;                                // of the server block, from line 3
  std::vector<std::string> rules;                  // the lines after "acls:", exactly
  std::vector<std::pair<int, std::string>> notes;  // (nginx line, part of the note)
};

std::vector<Case> Cases() {
  const std::string root_location =
      "    location / {\n"
      "        limit_except GET HEAD OPTIONS { auth_basic \"root\"; auth_basic_user_file "
      "/auth/root; }\n"
      "        proxy_pass http://127.0.0.1:2378;\n"
      "    }\n";
  const std::string proxy = "        proxy_pass http://127.0.0.1:2378;\n";
  return {
      {"trailing slash: stripped, and the directory key itself was not matched",
       "    location /v2/keys/conftool/ {\n" + kLimitConftool + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/conftool\": [\"conftool\", \"root\"]"},
       {{3, "did not match the directory key /v2/keys/conftool itself"}}},
      {"no trailing slash: a string prefix in nginx",
       "    location /v2/keys/conftool {\n" + kLimitConftool + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/conftool\": [\"conftool\", \"root\"]"},
       {{3, "string prefix"}, {3, "/v2/keys/conftoolX"}}},
      {"no auth: anyone may write, printed explicitly",
       "    location /v2/keys/eventlogging {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/eventlogging\": {write: any}"},
       {{3, "anyone may write"}}},
      {"unreadable htpasswd: the rule is commented out, never open",
       "    location /v2/keys/conftool/ {\n"
       "        limit_except GET { auth_basic \"c\"; auth_basic_user_file /auth/missing; }\n" +
           proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]",
        "  # \"/conftool\": [...]  # TODO: cannot read /auth/missing (No such file or "
        "directory): list who may write"},
       {{4, "cannot read /auth/missing"}}},
      {"htpasswd without users: nobody could write, commented out",
       "    location /v2/keys/locked/ {\n"
       "        limit_except GET { auth_basic \"c\"; auth_basic_user_file /auth/empty; }\n" +
           proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]",
        "  # \"/locked\": [...]  # TODO: /auth/empty lists no user: nginx let nobody write"},
       {{4, "lists no user"}}},
      {"location / with credentials also gates members, v3 and gRPC",
       root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "also decides"}, {3, "/v3"}}},
      {"location / without credentials: anonymous writes outside /v2/keys",
       "    location / {\n" + proxy + "    }\n",
       {"  \"/\": {write: any}"},
       {{3, "without credentials"}, {3, "/v2/members"}}},
      {"no location /",
       "    location /v2/keys/conftool/ {\n" + kLimitConftool + "    }\n",
       {"  \"/conftool\": [\"conftool\", \"root\"]"},
       {{1, "no location /"}}},
      {"read-only variant: limit_except GET { deny all; }",
       "    location / {\n        limit_except GET { deny all; }\n" + proxy + "    }\n",
       {},
       {{4, "read_only: true"}}},
      {"/v3/ location: a note, no rule",
       "    location /v3/ {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "outside /v2/keys"}}},
      {"/v2/members location: a note, no rule",
       "    location /v2/members {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "outside /v2/keys"}}},
      {"regex location: a note, no rule",
       "    location ~ ^/v2/keys/(a|b)/ {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "regex"}}},
      {"case-insensitive regex location: a note, no rule",
       "    location ~* ^/v2/keys/a {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "regex"}}},
      {"exact location: a note, no rule",
       "    location = /v2/keys/a {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "exact"}}},
      {"^~ is a prefix location",
       "    location ^~ /v2/keys/a/ {\n" + kLimitConftool + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": [\"conftool\", \"root\"]"},
       {}},
      {"server-level auth_basic_user_file reaches limit_except",
       "    auth_basic_user_file /auth/root;\n"
       "    location /v2/keys/a/ {\n        limit_except GET { auth_basic \"a\"; }\n" +
           proxy + "    }\n",
       {"  \"/a\": [\"root\", \"admin\"]"},
       {}},
      {"server-level auth_basic gates every method of a location without its own",
       "    auth_basic \"all\";\n    auth_basic_user_file /auth/root;\n"
       "    location /v2/keys/a/ {\n" +
           proxy + "    }\n",
       {"  \"/a\": {write: [\"root\", \"admin\"], read: [\"root\", \"admin\"]}"},
       {{5, "every method"}}},
      {"auth_basic off in a location overrides the server's",
       "    auth_basic \"all\";\n    auth_basic_user_file /auth/root;\n"
       "    location /v2/keys/open/ {\n        auth_basic off;\n" +
           proxy + "    }\n",
       {"  \"/open\": {write: any}"},
       {{5, "anyone may write"}}},
      {"limit_except lets a write method through",
       "    location /v2/keys/a/ {\n"
       "        limit_except GET POST { auth_basic \"a\"; auth_basic_user_file /auth/root; }\n" +
           proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": [\"root\", \"admin\"]"},
       {{4, "POST"}}},
      {"limit_except without GET: reads needed credentials",
       "    location /v2/keys/a/ {\n"
       "        limit_except PUT { auth_basic \"a\"; auth_basic_user_file /auth/root; }\n" +
           proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]",
        "  \"/a\": {write: [\"root\", \"admin\"], read: [\"root\", \"admin\"]}"},
       {{4, "does not list GET"}}},
      {"two locations for one prefix: the trailing-slash one is kept",
       "    location /v2/keys/a {\n" + proxy + "    }\n" + "    location /v2/keys/a/ {\n" +
           kLimitConftool + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": [\"conftool\", \"root\"]"},
       {{3, "same rule"}}},
      {"a location that does not proxy: no rule",
       "    location /v2/keys/secret/ {\n        return 403;\n    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "proxy_pass"}}},
      {"location-level deny all: no rule",
       "    location /v2/keys/secret/ {\n        deny all;\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "refused every request"}}},
      {"a prefix the acls cannot take",
       "    location /v2/keys/a/../b/ {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "not a valid acls prefix"}}},
      {"/v2/keysfoo is not a key prefix",
       "    location /v2/keysfoo {\n" + proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "outside /v2/keys"}}},
      {"/v2/keys/ is the whole key space",
       "    location /v2/keys/ {\n" + kLimitConftool + "    }\n",
       {"  \"/\": [\"conftool\", \"root\"]"},
       {{3, "also decides"}}},
      {"include is not followed",
       "    include /etc/nginx/snippets/etcd.conf;\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]"},
       {{3, "not followed"}}},
      {"auth_basic without a user file asks for nothing",
       "    location /v2/keys/a/ {\n        limit_except GET { auth_basic \"a\"; }\n" + proxy +
           "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": {write: any}"},
       {{4, "without auth_basic_user_file"}}},
      {"a relative htpasswd path is read as written, and said so",
       "    location /v2/keys/a/ {\n"
       "        limit_except GET { auth_basic \"a\"; auth_basic_user_file auth/relative; }\n" +
           proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": [\"rel\"]"},
       {{4, "relative"}}},
      {"a user name the YAML cannot carry is left out (stricter, never open)",
       "    location /v2/keys/a/ {\n"
       "        limit_except GET { auth_basic \"a\"; auth_basic_user_file /auth/weird; }\n" +
           proxy + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": [\"ok\"]"},
       {{4, "left out"}}},
      {"rules sorted by prefix, quoted as JSON strings",
       "    location \"/v2/keys/z z/\" {\n" + kLimitConftool + "    }\n" +
           "    location /v2/keys/b/ {\n" + kLimitConftool + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/b\": [\"conftool\", \"root\"]",
        "  \"/z z\": [\"conftool\", \"root\"]"},
       {}},
      {"a nested location is not translated",
       "    location /v2/keys/a/ {\n        location /v2/keys/a/b/ {\n" + proxy + "        }\n" +
           kLimitConftool + "    }\n" + root_location,
       {"  \"/\": [\"root\", \"admin\"]", "  \"/a\": [\"conftool\", \"root\"]"},
       {{4, "nested"}}},
  };
}

TEST(NginxImport, Table) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const NginxImport import = ImportNginx(Server(c.body), "test.conf", FakeReader());
    ASSERT_TRUE(import.ok()) << import.error;
    EXPECT_EQ(RuleLines(import.yaml), c.rules) << import.yaml;
    for (const auto& [line, text] : c.notes) EXPECT_TRUE(HasNote(import, line, text));
  }
}

TEST(NginxImport, NoHashEverPrinted) {
  for (const Case& c : Cases()) {
    const NginxImport import = ImportNginx(Server(c.body), "test.conf", FakeReader());
    for (const char* hash : {"$apr1$", "$6$", "roothash", "adminhash", "conftoolhash"}) {
      EXPECT_EQ(import.yaml.find(hash), std::string::npos) << c.name << "\n" << import.yaml;
    }
  }
}

TEST(NginxImport, OutputShape) {
  const NginxImport import = ImportNginx(
      Server("    location /v2/keys/eventlogging {\n        proxy_pass http://x;\n    }\n"),
      "/etc/nginx/sites-enabled/etcd_tlsproxy", FakeReader());
  ASSERT_TRUE(import.ok());
  std::istringstream lines(import.yaml);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line.rfind("# etcd-tlsproxy --from-nginx /etc/nginx/sites-enabled/etcd_tlsproxy", 0),
            0u)
      << line;
  bool seen_acls = false;
  while (std::getline(lines, line)) {
    if (line == "acls:") {
      seen_acls = true;
    } else if (!seen_acls) {
      EXPECT_EQ(line.rfind("# nginx line ", 0), 0u) << line;
    } else {
      EXPECT_EQ(line.rfind("  ", 0), 0u) << line;
    }
  }
  EXPECT_TRUE(seen_acls) << import.yaml;
  EXPECT_EQ(import.yaml.back(), '\n');
}

TEST(NginxImport, NotesAreSortedByLineAndPrinted) {
  const NginxImport import =
      ImportNginx(Server("    location /v3/ {\n        proxy_pass http://x;\n    }\n"
                         "    location /v2/keys/a {\n        proxy_pass http://x;\n    }\n"),
                  "t", FakeReader());
  ASSERT_TRUE(import.ok());
  for (std::size_t i = 1; i < import.notes.size(); ++i) {
    EXPECT_LE(import.notes[i - 1].line, import.notes[i].line);
  }
  for (const NginxNote& note : import.notes) {
    EXPECT_NE(import.yaml.find("# nginx line " + std::to_string(note.line) + ": " + note.text),
              std::string::npos)
        << note.text;
  }
}

TEST(NginxImport, NoRulesPrintsAnEmptyMap) {
  const NginxImport import = ImportNginx(
      Server("    location /v3/ {\n        proxy_pass http://x;\n    }\n"), "t", FakeReader());
  ASSERT_TRUE(import.ok());
  EXPECT_NE(import.yaml.find("\nacls: {}\n"), std::string::npos) << import.yaml;
}

// A map even when every rule is commented out: "acls:" alone is null.
TEST(NginxImport, OnlyCommentedRulesPrintAnEmptyMap) {
  const NginxImport import = ImportNginx(
      Server("    location / {\n        limit_except GET { auth_basic \"r\"; auth_basic_user_file "
             "/auth/missing; }\n        proxy_pass http://x;\n    }\n"),
      "t", FakeReader());
  ASSERT_TRUE(import.ok());
  EXPECT_NE(import.yaml.find("\nacls: {}\n  # \"/\": [...]  # TODO"), std::string::npos)
      << import.yaml;
  EXPECT_TRUE(YAML::Load(import.yaml)["acls"].IsMap());
}

// File bytes in notes are escaped: a newline in a quoted location cannot
// end the comment line and start a YAML key.
TEST(NginxImport, FileBytesInNotesAreEscaped) {
  const NginxImport import = ImportNginx(
      Server("    location \"/v3/x\\nacls: evil\" {\n        proxy_pass http://x;\n    }\n"), "t",
      FakeReader());
  ASSERT_TRUE(import.ok());
  EXPECT_EQ(import.yaml.find("\nacls: evil"), std::string::npos) << import.yaml;
  EXPECT_NE(import.yaml.find("\\x0aacls: evil"), std::string::npos) << import.yaml;
}

// What is printed parses back, as YAML, to the prefixes and names read.
TEST(NginxImport, OutputIsYamlWithTheSameStrings) {
  const std::string tricky = "/v2/keys/yes: no #x/'q'/\\\"dq\\\"/\xc3\xbcn\xc3\xaf/";
  const NginxImport import =
      ImportNginx(Server("    location \"" + tricky + "\" {\n" + kLimitConftool + "    }\n"), "t",
                  FakeReader());
  ASSERT_TRUE(import.ok());
  const YAML::Node root = YAML::Load(import.yaml);
  const YAML::Node rule = root["acls"]["/yes: no #x/'q'/\"dq\"/\xc3\xbcn\xc3\xaf"];
  ASSERT_TRUE(rule.IsSequence()) << import.yaml;
  EXPECT_EQ(rule[0].as<std::string>(), "conftool");
  EXPECT_EQ(rule[1].as<std::string>(), "root");
}

TEST(NginxImport, HttpBlockAroundTheServer) {
  const NginxImport import = ImportNginx(
      "http {\n" + Server("    location / {\n        proxy_pass http://x;\n    }\n") + "}\n", "t",
      FakeReader());
  ASSERT_TRUE(import.ok()) << import.error;
  EXPECT_EQ(RuleLines(import.yaml), std::vector<std::string>{"  \"/\": {write: any}"});
}

// `depth` blocks "a {", one a line, never closed.
std::string Nested(int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += "a {\n";
  return text;
}

TEST(NginxImport, Errors) {
  const struct {
    const char* name;
    std::string text;
    int line;
    const char* message;
  } cases[] = {
      {"unterminated quote", "server {\n  location \"/v2/keys/a {\n}\n", 2, "unterminated"},
      {"missing }", "server {\n  location / {\n    proxy_pass x;\n  }\n", 5, "not closed"},
      {"extra }", "server {\n}\n}\n", 3, "unexpected '}'"},
      {"missing ;", "server {\n  proxy_pass x\n}\n", 2, "not terminated by ';'"},
      {"lone ;", "server {\n  ;\n}\n", 2, "unexpected ';'"},
      {"{ without a name", "{\n}\n", 1, "unexpected '{'"},
      {"no server", "events {}\n", 0, "no server"},
      {"location without a path", "server {\n  location {\n  }\n}\n", 2, "location"},
      {"too deep", Nested(40), 33, "nested too deeply"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const NginxImport import = ImportNginx(c.text, "t", FakeReader());
    EXPECT_FALSE(import.ok());
    EXPECT_TRUE(import.yaml.empty());
    EXPECT_EQ(import.error_line, c.line) << import.error;
    EXPECT_NE(import.error.find(c.message), std::string::npos) << import.error;
  }
}

}  // namespace
}  // namespace tlsproxy::config
