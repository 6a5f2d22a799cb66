// A write that can reach below its key (recursive, dir, ttl or refresh, in
// the query or a form body, whatever the value) needs the identity on every
// more specific rule below it too: conftool may not delete, expire or
// re-type /conftool as a whole, because /conftool/secret is root's.
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

struct SubtreeWrite {
  const char* method;
  const char* target;  // appended to /v2/keys
  const char* body;    // a form body, or ""
};

// Every one of these, if forwarded, would delete or expire /conftool/secret
// or change /conftool's node.
const SubtreeWrite kSubtreeWrites[] = {
    {"DELETE", "/conftool?recursive=true", ""},
    {"DELETE", "/conftool/?recursive=true", ""},
    {"DELETE", "/conftool?recursive=false", ""},
    {"DELETE", "/conftool?recursive", ""},
    {"DELETE", "/conftool?%72ecursive=true", ""},
    {"DELETE", "/conftool?dir=true", ""},
    {"DELETE", "/conftool?recursive=false&recursive=true", ""},
    {"PUT", "/conftool?dir=true&ttl=1&prevExist=true", ""},
    {"PUT", "/conftool?ttl=1&refresh=true&prevExist=true", ""},
    {"PUT", "/conftool?ttl=&dir=true&prevExist=true", ""},
    {"PUT", "/conftool", "dir=true&ttl=1&prevExist=true"},
    {"PUT", "/conftool", "ttl=1&refresh=true&prevExist=true"},
    {"PUT", "/conftool?prevExist=true", "dir=true&ttl=1"},
    {"POST", "/conftool?ttl=1", ""},
};

class SubtreeTest : public SharedProxyTest {
 protected:
  // Puts a key under /conftool and one under /conftool/secret.
  void SetUp() override {
    SharedProxyTest::SetUp();
    if (HasFatalFailure()) return;
    open_ = "/conftool/" + UniqueName("open");
    secret_ = "/conftool/secret/" + UniqueName("secret");
    ASSERT_TRUE(etcd().Put(open_, "o"));
    ASSERT_TRUE(etcd().Put(secret_, "s"));
  }

  ::testing::AssertionResult SubtreeIntact() {
    if (etcd().ValueOf(open_) != "o") return ::testing::AssertionFailure() << open_ << " changed";
    if (etcd().ValueOf(secret_) != "s") {
      return ::testing::AssertionFailure() << secret_ << " changed";
    }
    const HttpResponse dir = etcd().Get("/conftool");
    if (dir.body.find("\"dir\":true") == std::string::npos ||
        dir.body.find("\"ttl\"") != std::string::npos ||
        dir.body.find("\"expiration\"") != std::string::npos) {
      return ::testing::AssertionFailure() << "/conftool changed: " << dir.body;
    }
    return ::testing::AssertionSuccess();
  }

  std::string open_;
  std::string secret_;
};

TEST_F(SubtreeTest, ConftoolIsRefusedEveryWriteReachingTheSecretSubtree) {
  for (const SubtreeWrite& write : kSubtreeWrites) {
    SCOPED_TRACE(std::string(write.method) + " " + write.target + " body '" + write.body + "'");
    HttpsRequest request;
    request.method = write.method;
    request.path = std::string("/v2/keys") + write.target;
    request.body = write.body;
    if (*write.body != '\0') request.headers = {"Content-Type: application/x-www-form-urlencoded"};
    request.user = "conftool";
    request.password = kConftoolPassword;
    EXPECT_TRUE(IsForbidden(Https(port(), request)));
    EXPECT_TRUE(SubtreeIntact());
  }
  // Give a forwarded ttl=1 the time to fire before the last look.
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(SubtreeIntact());
}

TEST_F(SubtreeTest, ConftoolMayUseThemWhereNoRuleIsBelow) {
  const std::string dir = "/conftool/" + UniqueName("dir");
  HttpsRequest make_dir;
  make_dir.method = "PUT";
  make_dir.path = "/v2/keys" + dir + "?dir=true";
  make_dir.user = "conftool";
  make_dir.password = kConftoolPassword;
  const HttpResponse made = Https(port(), make_dir);
  EXPECT_EQ(made.status, 201) << made.body;
  EXPECT_NE(etcd().Get(dir).body.find("\"dir\":true"), std::string::npos);

  HttpsRequest with_ttl = make_dir;
  with_ttl.path = "/v2/keys" + dir + "/leaf?ttl=600";
  with_ttl.body = "value=t";
  const HttpResponse leaf = Https(port(), with_ttl);
  EXPECT_EQ(leaf.status, 201) << leaf.body;
  EXPECT_NE(etcd().Get(dir + "/leaf").body.find("\"ttl\":"), std::string::npos);

  const HttpResponse deleted =
      HttpsDelete(port(), "/v2/keys" + dir + "?recursive=true", "conftool", kConftoolPassword);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(etcd().Missing(dir));
  EXPECT_TRUE(SubtreeIntact());
}

TEST_F(SubtreeTest, RootMayDeleteTheWholeSubtree) {
  const HttpResponse deleted =
      HttpsDelete(port(), "/v2/keys/conftool?recursive=true", "root", kRootPassword);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(etcd().Missing(secret_));
  EXPECT_TRUE(etcd().Missing("/conftool"));
}

}  // namespace
}  // namespace tlsproxy::integration
