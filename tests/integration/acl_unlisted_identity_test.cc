// A valid identity that a rule does not list gets 403 (not 401) with the
// errorCode 110 body; an empty list still lets it write.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

constexpr char kNobodyPassword[] = "nobody-Pa55";

class UnlistedIdentityTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.accounts = DefaultAccounts();
    options.accounts["nobody"] = OpensslPasswd("-5", kNobodyPassword);
    StartShared(options);
  }
};

TEST_F(UnlistedIdentityTest, RefusedWith403OnEveryListedRule) {
  for (const std::string prefix : {"", "/conftool", "/conftool/secret"}) {
    const std::string key = prefix + "/" + UniqueName("nobody");
    const HttpResponse response =
        HttpsPut(port(), "/v2/keys" + key, "x", "nobody", kNobodyPassword);
    EXPECT_TRUE(IsForbidden(response)) << key;
    EXPECT_TRUE(response.Header("www-authenticate").empty()) << key;
    EXPECT_TRUE(etcd().Missing(key)) << key;
  }
}

TEST_F(UnlistedIdentityTest, ReadsAndEmptyListRulesStillWork) {
  const std::string key = "/eventlogging/" + UniqueName("nobody");
  const HttpResponse put = HttpsPut(port(), "/v2/keys" + key, "x", "nobody", kNobodyPassword);
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(etcd().ValueOf(key), "x");
  const HttpResponse get = HttpsGet(port(), "/v2/keys" + key, "nobody", kNobodyPassword);
  EXPECT_EQ(get.status, 200) << get.body;
}

}  // namespace
}  // namespace tlsproxy::integration
