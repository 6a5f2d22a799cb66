// Every supported htpasswd-style hash verifies through the proxy: $apr1$
// (what puppet writes today), bcrypt ($2y$, $2b$) and sha-crypt ($5$, $6$),
// and a wrong password against each is 401.
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

struct HashCase {
  const char* name;
  std::string (*hash)();
  const char* password;
};

const HashCase kHashCases[] = {
    {"apr1", [] { return OpensslPasswd("-apr1", "apr1-pw"); }, "apr1-pw"},
    {"sha512", [] { return OpensslPasswd("-6", "sha512-pw"); }, "sha512-pw"},
    {"sha256", [] { return OpensslPasswd("-5", "sha256-pw"); }, "sha256-pw"},
    {"bcrypt2y", [] { return std::string(kBcryptSecretHash); }, "secret"},
    {"bcrypt2b", [] { return "$2b$" + std::string(kBcryptSecretHash).substr(4); }, "secret"},
};

void PrintTo(const HashCase& c, std::ostream* out) { *out << c.name; }

class PasswordFormatsTest : public ::testing::TestWithParam<HashCase> {
 protected:
  static void SetUpTestSuite() {
    etcd_ = new EtcdServer();
    error_.clear();
    if (auto started = etcd_->Start(); !started) error_ = started.message();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }

  static inline EtcdServer* etcd_ = nullptr;
  static inline std::string error_;
};

TEST_P(PasswordFormatsTest, ConftoolLogsInWithThisHash) {
  ASSERT_TRUE(error_.empty()) << error_;
  const HashCase& c = GetParam();
  ProxyOptions options;
  options.upstream_port = etcd_->client_port();
  options.accounts = {{"root", DefaultAccounts().at("root")}, {"conftool", c.hash()}};
  ProxyProcess proxy;
  ASSERT_TRUE(proxy.Start(options));

  const std::string key = "/conftool/" + UniqueName(c.name);
  const HttpResponse wrong = HttpsPut(proxy.port(), "/v2/keys" + key, "x", "conftool", "wrong");
  EXPECT_TRUE(IsUnauthorized(wrong));
  EXPECT_TRUE(etcd_->Missing(key));

  const HttpResponse right = HttpsPut(proxy.port(), "/v2/keys" + key, "ok", "conftool", c.password);
  EXPECT_EQ(right.status, 201) << right.body << right.error;
  EXPECT_EQ(etcd_->ValueOf(key), "ok");
  EXPECT_TRUE(proxy.Stop());
}

INSTANTIATE_TEST_SUITE_P(Hashes, PasswordFormatsTest, ::testing::ValuesIn(kHashCases),
                         [](const ::testing::TestParamInfo<HashCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace tlsproxy::integration
