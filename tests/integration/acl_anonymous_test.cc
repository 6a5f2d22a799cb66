// A write without credentials: 401 with `WWW-Authenticate: Basic
// realm="etcd"` and etcd's errorCode 110 body on any rule that lists
// someone; allowed on a rule with an empty list (/eventlogging).
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class AnonymousWritesTest : public SharedProxyTest {};

TEST_F(AnonymousWritesTest, RefusedWith401WhereTheRuleListsSomeone) {
  for (const std::string prefix : {"", "/conftool", "/conftool/secret"}) {
    const std::string key = prefix + "/" + UniqueName("anon");
    const HttpResponse response = HttpsPut(port(), "/v2/keys" + key, "x");
    EXPECT_TRUE(IsUnauthorized(response)) << key;
    EXPECT_TRUE(etcd().Missing(key)) << key;
  }
}

TEST_F(AnonymousWritesTest, DeleteAndPostRefused) {
  const std::string key = "/conftool/" + UniqueName("anon");
  ASSERT_TRUE(etcd().Put(key, "keep"));
  EXPECT_TRUE(IsUnauthorized(HttpsDelete(port(), "/v2/keys" + key)));
  EXPECT_EQ(etcd().ValueOf(key), "keep");

  const std::string queue = "/" + UniqueName("queue");
  HttpsRequest post;
  post.method = "POST";
  post.path = "/v2/keys" + queue;
  post.body = "value=job";
  EXPECT_TRUE(IsUnauthorized(Https(port(), post)));
  EXPECT_TRUE(etcd().Missing(queue));
}

TEST_F(AnonymousWritesTest, AllowedWhereTheListIsEmpty) {
  const std::string key = "/eventlogging/" + UniqueName("schema");
  const HttpResponse response = HttpsPut(port(), "/v2/keys" + key, "anyone");
  EXPECT_EQ(response.status, 201) << response.body << response.error;
  EXPECT_EQ(etcd().ValueOf(key), "anyone");

  HttpsRequest post;
  post.method = "POST";
  post.path = "/v2/keys/eventlogging/" + UniqueName("queue");
  post.body = "value=event";
  const HttpResponse posted = Https(port(), post);
  EXPECT_EQ(posted.status, 201) << posted.body;
  EXPECT_NE(etcd().Get(post.path.substr(8)).body.find("\"value\":\"event\""), std::string::npos);

  const HttpResponse deleted = HttpsDelete(port(), "/v2/keys" + key);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(AnonymousWritesTest, TheEventloggingKeyItselfIsUnderItsRule) {
  // /v2/keys/eventlogging/ (trailing slash) names the same key as without.
  HttpsRequest request;
  request.method = "POST";
  request.path = "/v2/keys/eventlogging/";
  request.body = "value=" + UniqueName("e");
  const HttpResponse response = Https(port(), request);
  EXPECT_EQ(response.status, 201) << response.body;
}

}  // namespace
}  // namespace tlsproxy::integration
