// Unit tests for acl/request_target: canonicalising request targets, and
// spotting parameters that make a request reach below its key.
#include <string>
#include <vector>

#include <event2/http.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "acl/request_target.h"

namespace tlsproxy::acl {
namespace {

struct GoodCase {
  std::string raw;
  std::string path;
  std::string key;  // "" unless kKeys
  std::string query;
  std::string forward;
  Endpoint endpoint;
};

TEST(ParseRequestTargetTest, AcceptsAndCanonicalises) {
  const std::vector<GoodCase> cases = {
      {"/v2/keys/a", "/v2/keys/a", "/a", "", "/v2/keys/a", Endpoint::kKeys},
      {"/v2/keys/a/", "/v2/keys/a", "/a", "", "/v2/keys/a", Endpoint::kKeys},
      {"/v2/keys", "/v2/keys", "/", "", "/v2/keys", Endpoint::kKeys},
      {"/v2/keys/", "/v2/keys", "/", "", "/v2/keys", Endpoint::kKeys},
      {"/v2/keys/conftool/x?recursive=true", "/v2/keys/conftool/x", "/conftool/x", "recursive=true",
       "/v2/keys/conftool/x?recursive=true", Endpoint::kKeys},
      {"/v2/keys/a%20b/", "/v2/keys/a b", "/a b", "", "/v2/keys/a%20b", Endpoint::kKeys},
      {"/v2/keys/a+b", "/v2/keys/a+b", "/a+b", "", "/v2/keys/a%2Bb", Endpoint::kKeys},
      {"/v2/keys/%63onftool", "/v2/keys/conftool", "/conftool", "", "/v2/keys/conftool",
       Endpoint::kKeys},
      // Decoded once: "%252e" is the literal "%2e", not a dot segment.
      {"/v2/keys/%252e", "/v2/keys/%2e", "/%2e", "", "/v2/keys/%252e", Endpoint::kKeys},
      {"/v2/keys/a.b/...", "/v2/keys/a.b/...", "/a.b/...", "", "/v2/keys/a.b/...", Endpoint::kKeys},
      {"/v2/keys/x?a=1&b=%2F", "/v2/keys/x", "/x", "a=1&b=%2F", "/v2/keys/x?a=1&b=%2F",
       Endpoint::kKeys},
      {"/v2/keys/x?", "/v2/keys/x", "/x", "", "/v2/keys/x", Endpoint::kKeys},
      {"/v2/keys/caf\xc3\xa9", "/v2/keys/caf\xc3\xa9", "/caf\xc3\xa9", "", "/v2/keys/caf%C3%A9",
       Endpoint::kKeys},
      {"http://h:2379/v2/keys/x?q", "/v2/keys/x", "/x", "q", "/v2/keys/x?q", Endpoint::kKeys},
      {"HTTPS://h/v2/keys/x", "/v2/keys/x", "/x", "", "/v2/keys/x", Endpoint::kKeys},
      {"https://h:2379", "/", "", "", "/", Endpoint::kOther},
      {"http://h?x=1", "/", "", "x=1", "/?x=1", Endpoint::kOther},
      {"/", "/", "", "", "/", Endpoint::kOther},
      {"/version", "/version", "", "", "/version", Endpoint::kPublicRead},
      {"/health", "/health", "", "", "/health", Endpoint::kPublicRead},
      {"/metrics", "/metrics", "", "", "/metrics", Endpoint::kPublicRead},
      {"/v2/stats/self", "/v2/stats/self", "", "", "/v2/stats/self", Endpoint::kPublicRead},
      {"/v2/stats", "/v2/stats", "", "", "/v2/stats", Endpoint::kPublicRead},
      {"/v2/members", "/v2/members", "", "", "/v2/members", Endpoint::kPublicRead},
      {"/v2/members/leader", "/v2/members/leader", "", "", "/v2/members/leader",
       Endpoint::kPublicRead},
      {"/v2/machines/", "/v2/machines", "", "", "/v2/machines", Endpoint::kPublicRead},
      {"/v2/membersX", "/v2/membersX", "", "", "/v2/membersX", Endpoint::kOther},
      {"/versionX", "/versionX", "", "", "/versionX", Endpoint::kOther},
      {"/v2/keysX/a", "/v2/keysX/a", "", "", "/v2/keysX/a", Endpoint::kOther},
      {"/V2/keys/x", "/V2/keys/x", "", "", "/V2/keys/x", Endpoint::kOther},
      {"/v2/auth/users", "/v2/auth/users", "", "", "/v2/auth/users", Endpoint::kOther},
      {"/v3/kv/put", "/v3/kv/put", "", "", "/v3/kv/put", Endpoint::kOther},
  };
  for (const GoodCase& c : cases) {
    SCOPED_TRACE(c.raw);
    TargetResult result = ParseRequestTarget(c.raw);
    ASSERT_TRUE(result.target.has_value()) << result.error;
    EXPECT_EQ(result.error, "");
    EXPECT_EQ(result.target->path, c.path);
    EXPECT_EQ(result.target->key, c.key);
    EXPECT_EQ(result.target->query, c.query);
    EXPECT_EQ(result.target->forward_target, c.forward);
    EXPECT_EQ(result.target->endpoint, c.endpoint);
  }
}

struct BadCase {
  std::string raw;
  std::string error;
};

TEST(ParseRequestTargetTest, RefusesWhatCannotBeCanonicalised) {
  const std::vector<BadCase> cases = {
      {"", "request target is not a path"},
      {"*", "request target is not a path"},
      {"v2/keys/a", "request target is not a path"},
      {"ftp://h/v2/keys/a", "request target is not a path"},
      {"http:///v2/keys/a", "empty authority in absolute-form target"},
      {"/v2/keys/a#frag", "fragment in request target"},
      {"/v2/keys/a?x=#", "fragment in request target"},
      {"/v2/keys/a%2Fb", "encoded slash in path"},
      {"/v2/keys/a%2fb", "encoded slash in path"},
      {"/v2/keys/a%5Cb", "encoded backslash in path"},
      {"/v2/keys/a%5cb", "encoded backslash in path"},
      {"/v2/keys/a%00b", "encoded NUL in path"},
      {"/v2/keys/a%", "malformed percent escape in path"},
      {"/v2/keys/a%4", "malformed percent escape in path"},
      {"/v2/keys/a%zz", "malformed percent escape in path"},
      {"/v2/keys/a\\b", "backslash in path"},
      {"/v2/keys/a%0Ab", "control character in path"},
      {"/v2/keys/a%7f", "control character in path"},
      {"/v2/keys/a%09", "control character in path"},
      {"/v2/keys/a\tb", "control character or space in request target"},
      {"/v2/keys/a b", "control character or space in request target"},
      {std::string("/v2/keys/a\0b", 12), "control character or space in request target"},
      {"/v2/keys/a?x=\r\n", "control character or space in request target"},
      {"/v2/keys//a", "empty path segment"},
      {"//v2/keys/a", "empty path segment"},
      {"/v2/keys/a//", "empty path segment"},
      {"//", "empty path segment"},
      {"/v2/keys/./a", "dot segment in path"},
      {"/v2/keys/../a", "dot segment in path"},
      {"/v2/keys/a/..", "dot segment in path"},
      {"/v2/keys/a/../", "dot segment in path"},
      {"/v2/keys/%2e%2e/a", "dot segment in path"},
      {"/v2/keys/%2E", "dot segment in path"},
      {"http://h/v2/keys/%2e%2e", "dot segment in path"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.raw);
    TargetResult result = ParseRequestTarget(c.raw);
    EXPECT_FALSE(result.target.has_value());
    EXPECT_EQ(result.error, c.error);
  }
}

struct SubtreeCase {
  std::string query;
  std::string body;
  std::string content_type;
  bool reaches;
};

TEST(ReachesSubtreeTest, FindsSubtreeParameters) {
  const std::vector<SubtreeCase> cases = {
      {"", "", "", false},
      {"value=1", "", "", false},
      {"prevExist=false&value=x", "", "", false},
      {"recursive=true", "", "", true},
      {"recursive=false", "", "", true},
      {"recursive", "", "", true},
      {"a=1&dir=true", "", "", true},
      {"ttl=", "", "", true},
      {"refresh=true&ttl=5", "", "", true},
      {"%72ecursive=true", "", "", true},
      {"%74tl=5", "", "", true},
      {"re%63ursive", "", "", true},
      {"value=a%26ttl%3D5", "", "", false},
      {"value=recursive", "", "", false},
      {"Recursive=true", "", "", false},
      {"recursivex=true", "", "", false},
      {"+ttl=5", "", "", false},
      {"t+tl=5", "", "", false},
      {"value=1;ttl=5", "", "", true},
      {"value=1;x", "", "", true},
      {"%zzname=1", "", "", true},
      {"name%=1", "", "", true},
      {"value=%zz", "", "", false},
      {"&&", "", "", false},
      {"", "value=x", "application/x-www-form-urlencoded", false},
      {"", "value=x&ttl=5", "application/x-www-form-urlencoded", true},
      {"", "ttl=5", "", true},
      {"", "ttl=5", "text/plain", true},
      {"", "value=a%26recursive%3Dtrue", "application/x-www-form-urlencoded", false},
      {"", "dir", "application/x-www-form-urlencoded", true},
      {"", "value=x;dir=true", "application/x-www-form-urlencoded", true},
      {"", "%64ir=true", "", true},
      {"", "value=x", "multipart/form-data; boundary=x", true},
      {"", "", "Multipart/Form-Data", true},
      {"", "", " multipart/mixed", true},
      {"", "value=x", "application/json", false},
  };
  for (const SubtreeCase& c : cases) {
    SCOPED_TRACE("query=" + c.query + " body=" + c.body + " type=" + c.content_type);
    EXPECT_EQ(ReachesSubtree(c.query, c.body, c.content_type), c.reaches);
  }
}

// Key names with nothing to escape skip libevent's encoder: the result must
// still be exactly what evhttp_uriencode makes, for every printable byte.
TEST(ParseRequestTargetTest, ForwardTargetMatchesLibeventEncodingForEveryByte) {
  for (int c = 0x21; c < 0x7f; ++c) {
    if (std::string_view("%#?/\\").find(static_cast<char>(c)) != std::string_view::npos) continue;
    const std::string segment = std::string("a") + static_cast<char>(c) + "b";
    SCOPED_TRACE(segment);
    char* encoded = evhttp_uriencode(segment.data(), static_cast<ev_ssize_t>(segment.size()), 0);
    ASSERT_NE(encoded, nullptr);
    const std::string expected = std::string("/v2/keys/") + encoded;
    std::free(encoded);
    const TargetResult result = ParseRequestTarget("/v2/keys/" + segment);
    ASSERT_TRUE(result.target.has_value()) << result.error;
    EXPECT_EQ(result.target->forward_target, expected);
  }
}

// A NUL ends the parameter name as libevent decodes it ("recursive"):
// skipping the decoder for names with nothing to decode must not change that.
TEST(ReachesSubtreeTest, NameCutAtNulIsStillRecognised) {
  const std::string body("recursive\0x=true", 16);
  EXPECT_TRUE(ReachesSubtree("", body, "application/x-www-form-urlencoded"));
}

struct WatchCase {
  std::string query;
  bool watch;
};

// What etcd's v2 handler waits on: Go's url.ParseQuery, then
// strconv.ParseBool of the first `wait` value.
TEST(IsWatchQueryTest, ReadsWaitAsEtcdDoes) {
  const std::vector<WatchCase> cases = {
      {"", false},
      {"wait=true", true},
      {"wait=1", true},
      {"wait=t", true},
      {"wait=T", true},
      {"wait=TRUE", true},
      {"wait=True", true},
      {"wa%69t=true", true},
      {"%77%61%69%74=%74%72%75%65", true},
      {"wait=tru%65", true},
      {"xwait=true&wait=true", true},
      {"wait=1&stream=1", true},
      {"wait=true&stream=true", true},
      {"recursive=true&wait=true&waitIndex=7", true},
      {"wait=true&wait=false", true},
      {"wait=false&wait=true", false},
      {"wait=yes&wait=true", false},
      {"&&wait=1&&", true},
      {"stream=1", false},
      {"stream=true", false},
      {"wait=false&stream=true", false},
      {"wait=yes", false},
      {"wait=on", false},
      {"wait=tRUE", false},
      {"wait=0", false},
      {"wait=f", false},
      {"wait=False", false},
      {"wait=", false},
      {"wait", false},
      {"wait=+true", false},
      {"wait=true+", false},
      {"wait+=true", false},
      {"Wait=true", false},
      {"waitx=true", false},
      {"xwait=true", false},
      {"wait%3Dtrue", false},
      {"value=wait%3Dtrue%26", false},
      {"wait%00=true", false},
      // Go cannot parse these (etcd answers 400 at once): in doubt, a watch.
      {"wait=false;x=1", true},
      {"x;wait=false", true},
      {"wait=false&x=%zz", true},
      {"wait=false&x%=1", true},
      {"wait=%", true},
      // A raw NUL (no accepted target holds one): in doubt, a watch.
      {std::string("wait=t\0u%65", 11), true},
      {std::string("wait=false\0", 11), true},
  };
  for (const WatchCase& c : cases) {
    EXPECT_EQ(IsWatchQuery(c.query), c.watch) << "?" << c.query;
  }
}

TEST(IsWatchRequestTest, AGetUnderV2KeysOrAPostToTheGatewayWatch) {
  struct Case {
    std::string method;
    std::string target;
    bool watch;
  };
  const std::vector<Case> cases = {
      {"GET", "/v2/keys/a?wait=1", true},
      {"GET", "/v2/keys?wait=true", true},
      {"GET", "/v2/keys/a?stream=true", false},
      {"HEAD", "/v2/keys/a?wait=true", false},
      {"PUT", "/v2/keys/a?wait=true", false},
      {"GET", "/v2/members?wait=true", false},
      {"GET", "/version?wait=true", false},
      {"POST", "/v3/watch", true},
      {"POST", "/v3beta/watch", true},
      {"POST", "/v3alpha/watch", true},
      {"GET", "/v3/watch", false},
      {"POST", "/v3/kv/range", false},
      {"POST", "/v3/watch/x", false},
      {"POST", "/v2/keys/a?wait=true", false},
  };
  for (const Case& c : cases) {
    const TargetResult parsed = ParseRequestTarget(c.target);
    ASSERT_TRUE(parsed.target) << c.target;
    EXPECT_EQ(IsWatchRequest(c.method, *parsed.target), c.watch) << c.method << " " << c.target;
  }
}

}  // namespace
}  // namespace tlsproxy::acl
