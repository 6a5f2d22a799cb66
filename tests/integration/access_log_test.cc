// One access-log line per request naming the method, path, status and the
// identity; never a password or an Authorization value, not even a wrong
// one.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class AccessLogTest : public SharedProxyTest {};

TEST_F(AccessLogTest, RequestsAreLoggedWithoutSecrets) {
  const std::string key = "/conftool/" + UniqueName("logged");
  ASSERT_EQ(HttpsPut(port(), "/v2/keys" + key, "v", "conftool", kConftoolPassword).status, 201);
  const std::string wrong_password = "Wr0ng-" + UniqueName("pw");
  EXPECT_EQ(HttpsGet(port(), "/v2/keys" + key, "root", wrong_password).status, 401);
  EXPECT_EQ(HttpsPut(port(), "/v2/keys" + key + "x", "v", "conftool", wrong_password).status, 401);

  const std::string logs = proxy().Logs();
  EXPECT_NE(logs.find("/v2/keys" + key), std::string::npos) << logs;
  EXPECT_NE(logs.find("PUT"), std::string::npos) << logs;
  EXPECT_NE(logs.find("201"), std::string::npos) << logs;
  EXPECT_NE(logs.find("conftool"), std::string::npos) << logs;
  for (const std::string& secret :
       {std::string(kConftoolPassword), wrong_password,
        Base64(std::string("conftool:") + kConftoolPassword), Base64("root:" + wrong_password),
        Base64("conftool:" + wrong_password)}) {
    EXPECT_EQ(logs.find(secret), std::string::npos) << "the log holds '" << secret << "'";
  }
}

}  // namespace
}  // namespace tlsproxy::integration
