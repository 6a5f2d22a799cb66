// The `/` rule lists root, and root is on every more specific rule: root
// writes anywhere, with every write method.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class RootWritesTest : public SharedProxyTest {};

TEST_F(RootWritesTest, PutUnderEveryRule) {
  for (const std::string prefix : {"", "/conftool", "/conftool/secret", "/eventlogging"}) {
    const std::string key = prefix + "/" + UniqueName("root");
    const HttpResponse response = HttpsPut(port(), "/v2/keys" + key, "v", "root", kRootPassword);
    EXPECT_EQ(response.status, 201) << key << ": " << response.body << response.error;
    EXPECT_NE(response.body.find("\"action\":\"set\""), std::string::npos) << response.body;
    EXPECT_EQ(etcd().ValueOf(key), "v") << key;
  }
}

TEST_F(RootWritesTest, DeleteAndCompareAndSwap) {
  const std::string key = "/conftool/secret/" + UniqueName("root");
  ASSERT_TRUE(etcd().Put(key, "old"));

  HttpsRequest swap;
  swap.method = "PUT";
  swap.path = "/v2/keys" + key + "?prevValue=old";
  swap.body = "value=new";
  swap.user = "root";
  swap.password = kRootPassword;
  const HttpResponse swapped = Https(port(), swap);
  EXPECT_EQ(swapped.status, 200) << swapped.body;
  EXPECT_EQ(etcd().ValueOf(key), "new");

  const HttpResponse deleted = HttpsDelete(port(), "/v2/keys" + key, "root", kRootPassword);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(RootWritesTest, PostCreatesAnInOrderKey) {
  const std::string queue = "/" + UniqueName("queue");
  HttpsRequest request;
  request.method = "POST";
  request.path = "/v2/keys" + queue;
  request.body = "value=job";
  request.user = "root";
  request.password = kRootPassword;
  const HttpResponse response = Https(port(), request);
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_NE(response.body.find("\"action\":\"create\""), std::string::npos) << response.body;
  const HttpResponse listing = etcd().Get(queue);
  EXPECT_NE(listing.body.find("\"value\":\"job\""), std::string::npos) << listing.body;
}

TEST_F(RootWritesTest, RecursiveDeleteOfTheWholeConftoolTree) {
  const std::string a = "/conftool/" + UniqueName("tree");
  const std::string b = "/conftool/secret/" + UniqueName("tree");
  ASSERT_TRUE(etcd().Put(a, "1"));
  ASSERT_TRUE(etcd().Put(b, "2"));
  const HttpResponse response =
      HttpsDelete(port(), "/v2/keys/conftool?recursive=true", "root", kRootPassword);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(etcd().Missing(a));
  EXPECT_TRUE(etcd().Missing(b));
  EXPECT_TRUE(etcd().Missing("/conftool"));
}

}  // namespace
}  // namespace tlsproxy::integration
