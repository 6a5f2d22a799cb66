// Prefixes match on whole path segments: the /conftool rule covers
// /conftool/... and never /conftoolX (nginx's string-prefix `location` let
// conftool write there).
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class SegmentBoundaryTest : public SharedProxyTest {};

TEST_F(SegmentBoundaryTest, ConftoolCannotWriteASiblingThatSharesThePrefix) {
  const std::string name = UniqueName("x");
  for (const std::string& key : {std::string("/conftoolX"), "/conftool-" + name,
                                 "/conftoolX/" + name, "/conftool.d/" + name}) {
    const HttpResponse response =
        HttpsPut(port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword);
    EXPECT_TRUE(IsForbidden(response)) << key;
    EXPECT_TRUE(etcd().Missing(key)) << key;
  }
}

TEST_F(SegmentBoundaryTest, EmptyListRuleDoesNotLeakToSiblings) {
  const std::string key = "/eventloggingX/" + UniqueName("e");
  const HttpResponse response = HttpsPut(port(), "/v2/keys" + key, "x");
  EXPECT_TRUE(IsUnauthorized(response));
  EXPECT_TRUE(etcd().Missing(key));
}

TEST_F(SegmentBoundaryTest, SecretRuleDoesNotCoverItsSiblings) {
  // /conftool/secretX is under /conftool, not /conftool/secret.
  const std::string key = "/conftool/secretX/" + UniqueName("s");
  const HttpResponse response =
      HttpsPut(port(), "/v2/keys" + key, "v", "conftool", kConftoolPassword);
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(etcd().ValueOf(key), "v");
}

TEST_F(SegmentBoundaryTest, RootStillWritesThere) {
  const std::string key = "/conftoolX/" + UniqueName("r");
  const HttpResponse response = HttpsPut(port(), "/v2/keys" + key, "v", "root", kRootPassword);
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(etcd().ValueOf(key), "v");
}

}  // namespace
}  // namespace tlsproxy::integration
