// public_reads: true (the default): GET, HEAD and OPTIONS need no
// credentials, on keys and on the read endpoints, and etcd's answer (status,
// body, X-Etcd-* headers) reaches the client unchanged.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class PublicReadsTest : public SharedProxyTest {};

TEST_F(PublicReadsTest, GetWithoutCredentialsReturnsTheValueEtcdHolds) {
  const std::string key = "/" + UniqueName("public");
  ASSERT_TRUE(etcd().Put(key, "hello world"));

  const HttpResponse response = HttpsGet(port(), "/v2/keys" + key);

  EXPECT_EQ(response.status, 200) << response.body << response.error;
  EXPECT_NE(response.body.find("\"action\":\"get\""), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("\"value\":\"hello world\""), std::string::npos) << response.body;
  // python-etcd reads these; a proxy that drops them breaks it.
  EXPECT_FALSE(response.Header("x-etcd-index").empty());
  EXPECT_FALSE(response.Header("x-etcd-cluster-id").empty());
  EXPECT_EQ(response.Header("content-type"), "application/json");
}

TEST_F(PublicReadsTest, ConftoolStyleQuorumAndRecursiveReads) {
  const std::string dir = "/conftool/" + UniqueName("tree");
  ASSERT_TRUE(etcd().Put(dir + "/a", "1"));
  ASSERT_TRUE(etcd().Put(dir + "/b", "2"));

  const HttpResponse quorum = HttpsGet(port(), "/v2/keys" + dir + "/a?quorum=true");
  EXPECT_EQ(quorum.status, 200) << quorum.body;
  EXPECT_NE(quorum.body.find("\"value\":\"1\""), std::string::npos) << quorum.body;

  const HttpResponse tree = HttpsGet(port(), "/v2/keys" + dir + "?recursive=true&sorted=true");
  EXPECT_EQ(tree.status, 200) << tree.body;
  EXPECT_NE(tree.body.find("\"key\":\"" + dir + "/a\""), std::string::npos) << tree.body;
  EXPECT_NE(tree.body.find("\"key\":\"" + dir + "/b\""), std::string::npos) << tree.body;
}

TEST_F(PublicReadsTest, RootKeyWithAndWithoutTrailingSlash) {
  const std::string key = "/" + UniqueName("rootlist");
  ASSERT_TRUE(etcd().Put(key, "x"));
  for (const std::string path : {"/v2/keys", "/v2/keys/"}) {
    const HttpResponse response = HttpsGet(port(), path);
    EXPECT_EQ(response.status, 200) << path << ": " << response.body;
    EXPECT_NE(response.body.find("\"key\":\"" + key + "\""), std::string::npos)
        << path << ": " << response.body;
  }
}

TEST_F(PublicReadsTest, MissingKeyIsEtcdsOwn404) {
  const HttpResponse response = HttpsGet(port(), "/v2/keys/" + UniqueName("absent"));
  EXPECT_EQ(response.status, 404);
  EXPECT_NE(response.body.find("\"errorCode\":100"), std::string::npos) << response.body;
}

TEST_F(PublicReadsTest, HeadWithoutCredentials) {
  const std::string key = "/" + UniqueName("head");
  ASSERT_TRUE(etcd().Put(key, "x"));
  HttpsRequest request;
  request.method = "HEAD";
  request.path = "/v2/keys" + key;
  const HttpResponse response = Https(port(), request);
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_FALSE(response.Header("x-etcd-index").empty());
}

TEST_F(PublicReadsTest, OptionsIsNotAWrite) {
  HttpsRequest request;
  request.method = "OPTIONS";
  request.path = "/v2/keys/" + UniqueName("options");
  const HttpResponse response = Https(port(), request);
  // etcd answers OPTIONS on the keys handler itself; the proxy must not ask
  // for credentials.
  EXPECT_NE(response.status, 401) << response.body;
  EXPECT_NE(response.status, 403) << response.body;
  EXPECT_NE(response.status, 0) << response.error;
}

TEST_F(PublicReadsTest, ReadsInsideProtectedPrefixesArePublicToo) {
  const std::string key = "/conftool/secret/" + UniqueName("public");
  ASSERT_TRUE(etcd().Put(key, "visible"));
  const HttpResponse response = HttpsGet(port(), "/v2/keys" + key);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_NE(response.body.find("\"value\":\"visible\""), std::string::npos) << response.body;
}

}  // namespace
}  // namespace tlsproxy::integration
