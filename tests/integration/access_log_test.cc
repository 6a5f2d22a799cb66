// One access-log line per request, whose fields parse back to exactly what
// the request carried: client bytes in the path (quotes, spaces, bytes that
// are not UTF-8) or in the identity (basic-auth user names, certificate
// CNs) are escaped, never able to forge a field or a line. Never a password
// or an Authorization value, not even a wrong one.
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/access_log_reader.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

using Fields = AccessFields;

class AccessLogTest : public SharedProxyTest {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    options.accounts = DefaultAccounts();
    options.accounts[kQuotingUser] = OpensslPasswd("-apr1", kPassword);
    options.accounts[kUtf8User] = OpensslPasswd("-apr1", kPassword);
    StartShared(options);
  }

  static std::optional<Fields> LineFor(const HttpsRequest& request, long expected_status) {
    return AccessLineFor(proxy(), request, expected_status);
  }

  static constexpr char kPassword[] = "log-Pa55word";
  static constexpr char kQuotingUser[] = "ev\" status=200 rule=\"/";
  static constexpr char kUtf8User[] = "jos\xc3\xa9";
};

HttpsRequest Request(const std::string& method, const std::string& path) {
  HttpsRequest request;
  request.method = method;
  request.path = path;
  if (method == "PUT") request.body = "value=v";
  return request;
}

HttpsRequest WithUser(HttpsRequest request, const std::string& user, const std::string& password) {
  request.headers.push_back(BasicAuthHeader(user, password));
  return request;
}

TEST_F(AccessLogTest, RequestsAreLoggedWithoutSecrets) {
  const std::string key = "/conftool/" + UniqueName("logged");
  const std::optional<Fields> put =
      LineFor(WithUser(Request("PUT", "/v2/keys" + key), "conftool", kConftoolPassword), 201);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->at("identity"), "basic:conftool");
  EXPECT_EQ(put->at("method"), "PUT");
  EXPECT_EQ(put->at("path"), "/v2/keys" + key);
  EXPECT_EQ(put->at("status"), "201");
  EXPECT_EQ(put->at("rule"), "/conftool");
  EXPECT_EQ(put->at("client").rfind("127.0.0.1:", 0), 0u) << put->at("client");

  const std::string wrong_password = "Wr0ng-" + UniqueName("pw");
  for (const HttpsRequest& request :
       {WithUser(Request("GET", "/v2/keys" + key), "root", wrong_password),
        WithUser(Request("PUT", "/v2/keys" + key + "x"), "conftool", wrong_password)}) {
    const std::optional<Fields> refused = LineFor(request, 401);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->at("identity"), "-");
    EXPECT_EQ(refused->at("status"), "401");
    EXPECT_EQ(refused->at("rule"), "authentication");
    EXPECT_EQ(refused->at("path"), request.path);
  }

  const std::string logs = proxy().Logs();
  for (const std::string& secret :
       {std::string(kConftoolPassword), wrong_password,
        Base64(std::string("conftool:") + kConftoolPassword), Base64("root:" + wrong_password),
        Base64("conftool:" + wrong_password)}) {
    EXPECT_EQ(logs.find(secret), std::string::npos) << "the log holds '" << secret << "'";
  }
}

// Paths that would forge fields, or carry bytes that are not UTF-8, parse
// back to exactly the canonical path; the ones the proxy refuses (a newline,
// a backslash, other control bytes) are logged with path "-".
TEST_F(AccessLogTest, PathsParseBackExactly) {
  const std::string base = "/v2/keys/eventlogging/" + UniqueName("path");
  struct Case {
    std::string target;
    long status;
    std::string logged_path;
  };
  const std::vector<Case> cases = {
      {base + "%22%20status=200%20identity=cert:root%20rule=/%22", 404,
       base + "\" status=200 identity=cert:root rule=/\""},
      {base + "\"%20status=200", 404, base + "\" status=200"},
      {base + "%ff%fe", 404, base + "\xff\xfe"},
      {base + "%c3%a9", 404, base + "\xc3\xa9"},
      {base + "%5cx", 400, "-"},
      {base + "%0a2026-01-01T00:00:00.000+0000%20access%20x=1", 400, "-"},
      {base + "%0d", 400, "-"},
      {base + "%09", 400, "-"},
      {base + "%7f", 400, "-"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    const std::optional<Fields> fields = LineFor(Request("GET", c.target), c.status);
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->at("path"), c.logged_path);
    EXPECT_EQ(fields->at("identity"), "-");
    EXPECT_EQ(fields->at("method"), "GET");
    EXPECT_EQ(fields->at("status"), std::to_string(c.status));
    EXPECT_EQ(fields->at("rule"), c.status == 404 ? "public_reads" : "-");
  }
}

// Identities carry client bytes too: basic-auth user names and certificate
// CNs with quotes or UTF-8 parse back exactly; names the proxy refuses (a
// newline) or does not know are logged as no identity, and never written.
TEST_F(AccessLogTest, IdentitiesParseBackExactly) {
  const std::string path = "/v2/keys/eventlogging/" + UniqueName("who");
  struct Case {
    HttpsRequest request;
    long status;
    std::string identity;
    std::string rule;
  };
  HttpsRequest forger = Request("PUT", path);
  forger.client = "forger";
  HttpsRequest forger_and_user = WithUser(Request("PUT", path), kUtf8User, kPassword);
  forger_and_user.client = "forger";
  const std::string newline_marker = UniqueName("newline-user");
  const std::string newline_user = "a\n" + newline_marker;
  const std::string latin1_marker = UniqueName("latin1-user");
  const std::string latin1_user = "caf\xe9" + latin1_marker;
  const std::vector<Case> cases = {
      {WithUser(Request("PUT", path), kQuotingUser, kPassword), 201,
       std::string("basic:") + kQuotingUser, "/eventlogging"},
      {WithUser(Request("PUT", path), kUtf8User, kPassword), 200, std::string("basic:") + kUtf8User,
       "/eventlogging"},
      {forger, 200, std::string("cert:") + kForgerCommonName, "/eventlogging"},
      {forger_and_user, 200, std::string("cert:") + kForgerCommonName + ",basic:" + kUtf8User,
       "/eventlogging"},
      {WithUser(Request("PUT", path), newline_user, kPassword), 401, "-", "authentication"},
      {WithUser(Request("PUT", path), latin1_user, kPassword), 401, "-", "authentication"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.identity);
    const std::optional<Fields> fields = LineFor(c.request, c.status);
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->at("identity"), c.identity);
    EXPECT_EQ(fields->at("status"), std::to_string(c.status));
    EXPECT_EQ(fields->at("rule"), c.rule);
    EXPECT_EQ(fields->at("path"), path);
    EXPECT_EQ(fields->at("method"), "PUT");
  }
  const std::string logs = proxy().Logs();
  for (const std::string& marker : {newline_marker, latin1_marker}) {
    EXPECT_EQ(logs.find(marker), std::string::npos) << "a refused user name is in the log";
  }
}

}  // namespace
}  // namespace tlsproxy::integration
