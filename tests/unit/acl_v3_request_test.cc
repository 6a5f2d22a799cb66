// Unit tests for acl/v3_request: which keys a v3 gateway request reads and
// writes, and which bodies are refused before any ACL decision.
// Bodies are written with <<text>> standing for the base64 of text, where
// %XX is a byte in hex (so <<%00>> is the single zero byte "AA==").
#include <openssl/evp.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "acl/v3_request.h"
#include "tests/unit/v3_body_template.h"

namespace tlsproxy::acl {
namespace {

using v3test::Base64;
using v3test::Body;
using v3test::PercentDecode;

KeyAccess Read(std::string key, std::string range_end = "") {
  return KeyAccess{AccessKind::kRead, PercentDecode(key), PercentDecode(range_end)};
}
KeyAccess Write(std::string key, std::string range_end = "") {
  return KeyAccess{AccessKind::kWrite, PercentDecode(key), PercentDecode(range_end)};
}

std::string Nested(int depth, const std::string& innermost) {
  std::string body = innermost;
  for (int i = 1; i < depth; ++i) body = R"({"success":[{"request_txn":)" + body + "}]}";
  return body;
}

TEST(V3EndpointTest, GatewayPrefixes) {
  struct Case {
    std::string path;
    std::optional<std::string> endpoint;
  };
  const std::vector<Case> cases = {
      {"/v3/kv/range", "kv/range"},
      {"/v3beta/kv/put", "kv/put"},
      {"/v3alpha/kv/txn", "kv/txn"},
      {"/v3/watch", "watch"},
      {"/v3", ""},
      {"/v3beta", ""},
      {"/v3/cluster/member/list", "cluster/member/list"},
      {"/v3x/kv/range", std::nullopt},
      {"/v3betakv/range", std::nullopt},
      {"/v2/keys/v3", std::nullopt},
      {"/", std::nullopt},
      {"/V3/kv/range", std::nullopt},
  };
  for (const Case& c : cases) {
    std::optional<std::string_view> got = V3Endpoint(c.path);
    ASSERT_EQ(got.has_value(), c.endpoint.has_value()) << c.path;
    if (got) {
      EXPECT_EQ(*got, *c.endpoint) << c.path;
    }
  }
}

struct ParseCase {
  std::string name;
  std::string path;
  std::string body;  // a template for Body()
  std::vector<KeyAccess> accesses;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class ParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseTest, Accesses) {
  const ParseCase& c = GetParam();
  const V3ParseResult result = ParseV3Request(c.path, Body(c.body));
  ASSERT_TRUE(result.request.has_value()) << result.error;
  EXPECT_TRUE(result.error.empty());
  EXPECT_FALSE(result.request->admin_only);
  EXPECT_EQ(result.request->accesses, c.accesses);
}

INSTANTIATE_TEST_SUITE_P(
    Endpoints, ParseTest,
    testing::Values(
        ParseCase{"range_v3", "/v3/kv/range", R"({"key":"<</a>>"})", {Read("/a")}},
        ParseCase{"range_v3beta", "/v3beta/kv/range", R"({"key":"<</a>>"})", {Read("/a")}},
        ParseCase{"range_v3alpha", "/v3alpha/kv/range", R"({"key":"<</a>>"})", {Read("/a")}},
        ParseCase{"range_snake",
                  "/v3/kv/range",
                  R"({"key":"<</a/>>","range_end":"<</a0>>","limit":"5","keys_only":true})",
                  {Read("/a/", "/a0")}},
        ParseCase{"range_camel",
                  "/v3/kv/range",
                  R"({"key":"<</a/>>","rangeEnd":"<</a0>>","keysOnly":true,"sortOrder":"DESCEND"})",
                  {Read("/a/", "/a0")}},
        ParseCase{"range_all_from",
                  "/v3/kv/range",
                  R"({"key":"<<%00>>","range_end":"<<%00>>"})",
                  {Read("%00", "%00")}},
        ParseCase{"range_empty_body", "/v3/kv/range", "", {Read("")}},
        ParseCase{"range_whitespace_body", "/v3/kv/range", " \r\n\t", {Read("")}},
        ParseCase{"range_empty_object", "/v3/kv/range", "{}", {Read("")}},
        ParseCase{"range_null_key_is_empty",
                  "/v3/kv/range",
                  R"({"key":null,"range_end":null})",
                  {Read("")}},
        ParseCase{"range_url_safe_base64", "/v3/kv/range", R"({"key":"_w=="})", {Read("%ff")}},
        ParseCase{"range_unpadded_base64", "/v3/kv/range", R"({"key":"L2E"})", {Read("/a")}},
        ParseCase{
            "range_escaped_field_name", "/v3/kv/range", R"({"k\u0065y":"<</a>>"})", {Read("/a")}},
        ParseCase{"range_key_without_slash",
                  "/v3/kv/range",
                  R"({"key":"<<conftool>>"})",
                  {Read("conftool")}},
        ParseCase{"put",
                  "/v3/kv/put",
                  R"({"key":"<</a>>","value":"<<v>>","prev_kv":false})",
                  {Write("/a")}},
        // prev_kv returns the replaced value: a read of the same key as well.
        ParseCase{"put_prev_kv",
                  "/v3/kv/put",
                  R"({"key":"<</a>>","value":"<<v>>","prev_kv":true})",
                  {Write("/a"), Read("/a")}},
        ParseCase{"put_prev_kv_camel_string",
                  "/v3/kv/put",
                  R"({"key":"<</a>>","prevKv":"true"})",
                  {Write("/a"), Read("/a")}},
        ParseCase{"deleterange_prev_kv",
                  "/v3/kv/deleterange",
                  R"({"key":"<</a/>>","range_end":"<</a0>>","prev_kv":true})",
                  {Write("/a/", "/a0"), Read("/a/", "/a0")}},
        ParseCase{
            "put_beta", "/v3beta/kv/put", R"({"key":"<</a>>","ignoreLease":true})", {Write("/a")}},
        ParseCase{"deleterange",
                  "/v3/kv/deleterange",
                  R"({"key":"<</a/>>","range_end":"<</a0>>","prevKv":true})",
                  {Write("/a/", "/a0"), Read("/a/", "/a0")}},
        ParseCase{
            "deleterange_alpha", "/v3alpha/kv/deleterange", R"({"key":"<</a>>"})", {Write("/a")}},
        ParseCase{"txn_empty", "/v3/kv/txn", "{}", {}},
        ParseCase{"txn_all_parts",
                  "/v3/kv/txn",
                  R"({"compare":[{"key":"<</c>>","range_end":"<</d>>","target":"VALUE",
                                  "result":"EQUAL","value":"<<x>>"}],
                      "success":[{"request_range":{"key":"<</r>>"}},
                                 {"request_put":{"key":"<</p>>","value":"<<v>>"}},
                                 {"request_delete_range":{"key":"<</d/>>","range_end":"<</d0>>"}}],
                      "failure":[{"request_txn":{"success":[{"request_put":{"key":"<</n>>"}}]}}]})",
                  {Read("/c", "/d"), Read("/r"), Write("/p"), Write("/d/", "/d0"), Write("/n")}},
        ParseCase{"txn_camel",
                  "/v3beta/kv/txn",
                  R"({"compare":[{"key":"<</c>>","rangeEnd":"<</d>>","createRevision":"0"}],
                      "success":[{"requestRange":{"key":"<</r>>"}},
                                 {"requestPut":{"key":"<</p>>"}},
                                 {"requestDeleteRange":{"key":"<</d>>"}},
                                 {"requestTxn":{"failure":[{"requestPut":{"key":"<</n>>"}}]}}]})",
                  {Read("/c", "/d"), Read("/r"), Write("/p"), Write("/d"), Write("/n")}},
        ParseCase{"txn_null_lists", "/v3/kv/txn", R"({"compare":null,"success":null})", {}},
        ParseCase{"txn_empty_op", "/v3/kv/txn", R"({"success":[{}]})", {}},
        ParseCase{"txn_depth_16",
                  "/v3/kv/txn",
                  Nested(16, R"({"success":[{"request_put":{"key":"<</deep>>"}}]})"),
                  {Write("/deep")}},
        ParseCase{"watch_create",
                  "/v3/watch",
                  R"({"create_request":{"key":"<</a/>>","range_end":"<</a0>>","prev_kv":true}})",
                  {Read("/a/", "/a0")}},
        ParseCase{"watch_create_camel",
                  "/v3beta/watch",
                  R"({"createRequest":{"key":"<</a>>","startRevision":"3"}})",
                  {Read("/a")}},
        ParseCase{"watch_stream_of_two",
                  "/v3/watch",
                  R"({"create_request":{"key":"<</a>>"}}
                     {"create_request":{"key":"<</b>>"}}{"cancel_request":{"watch_id":"1"}})",
                  {Read("/a"), Read("/b")}},
        ParseCase{"watch_cancel", "/v3/watch", R"({"cancel_request":{"watch_id":"0"}})", {}},
        ParseCase{"watch_progress", "/v3/watch", R"({"progressRequest":{}})", {}},
        ParseCase{"watch_empty_body", "/v3/watch", "", {}}),
    [](const testing::TestParamInfo<ParseCase>& info) { return info.param.name; });

struct AdminCase {
  std::string path;
  bool write;
};

TEST(ParseV3RequestTest, AdminEndpointsIgnoreTheBody) {
  const std::vector<AdminCase> cases = {
      {"/v3/kv/compaction", true},
      {"/v3/lease/grant", true},
      {"/v3/lease/revoke", true},
      {"/v3/kv/lease/revoke", true},
      {"/v3beta/lease/keepalive", true},
      {"/v3/lease/leases", false},
      {"/v3/lease/timetolive", false},
      {"/v3/auth/enable", true},
      {"/v3/auth/user/add", true},
      {"/v3/auth/authenticate", true},
      {"/v3/auth/user/list", false},
      {"/v3/cluster/member/add", true},
      {"/v3/cluster/member/list", false},
      {"/v3/maintenance/status", false},
      {"/v3/maintenance/snapshot", false},
      {"/v3/maintenance/alarm", true},
      {"/v3/maintenance/defragment", true},
      {"/v3alpha/election/campaign", true},
      {"/v3/election/leader", false},
      {"/v3/lock/lock", true},
      {"/v3/kv/unknown", true},
      {"/v3/kv/range:custom", true},
      {"/v3/kv", true},
      {"/v3", true},
  };
  for (const AdminCase& c : cases) {
    const V3ParseResult result = ParseV3Request(c.path, "not json at all");
    ASSERT_TRUE(result.request.has_value()) << c.path << ": " << result.error;
    EXPECT_TRUE(result.request->admin_only) << c.path;
    EXPECT_EQ(result.request->admin_write, c.write) << c.path;
    EXPECT_EQ(result.request->IsWrite(), c.write) << c.path;
    EXPECT_TRUE(result.request->accesses.empty()) << c.path;
  }
}

TEST(ParseV3RequestTest, EndpointAndIsWrite) {
  V3ParseResult put = ParseV3Request("/v3beta/kv/put", Body(R"({"key":"<</a>>"})"));
  ASSERT_TRUE(put.request);
  EXPECT_EQ(put.request->endpoint, "kv/put");
  EXPECT_TRUE(put.request->IsWrite());
  V3ParseResult range = ParseV3Request("/v3/kv/range", Body(R"({"key":"<</a>>"})"));
  ASSERT_TRUE(range.request);
  EXPECT_FALSE(range.request->IsWrite());
  V3ParseResult hidden = ParseV3Request(
      "/v3/kv/txn",
      Body(R"({"failure":[{"request_txn":{"success":[{"request_put":{"key":"<</a>>"}}]}}]})"));
  ASSERT_TRUE(hidden.request);
  EXPECT_TRUE(hidden.request->IsWrite());
}

struct ErrorCase {
  std::string name;
  std::string path;
  std::string body;   // a template for Body()
  std::string error;  // a substring of the expected error
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ParseErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, Refused) {
  const ErrorCase& c = GetParam();
  const V3ParseResult result = ParseV3Request(c.path, Body(c.body));
  EXPECT_FALSE(result.request.has_value());
  EXPECT_NE(result.error.find(c.error), std::string::npos) << result.error;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ParseErrorTest,
    testing::Values(
        ErrorCase{"not_gateway", "/v2/keys/a", "{}", "not a v3 gateway path"},
        ErrorCase{"malformed", "/v3/kv/put", R"({"key":"<</a>>")", "malformed JSON"},
        ErrorCase{"malformed_watch", "/v3/watch", R"({"create_request":{"key":)", "malformed"},
        ErrorCase{"garbage", "/v3/kv/range", "key=/a", "malformed JSON"},
        ErrorCase{"comment", "/v3/kv/range", R"({/*c*/"key":"<</a>>"})", "malformed JSON"},
        ErrorCase{"trailing_value", "/v3/kv/put", R"({"key":"<</a>>"} {"key":"<</b>>"})",
                  "trailing data"},
        ErrorCase{"trailing_garbage", "/v3/kv/put", R"({"key":"<</a>>"}x)", "trailing data"},
        ErrorCase{"watch_trailing_garbage", "/v3/watch", R"({"create_request":{"key":"<</a>>"}}x)",
                  "malformed JSON"},
        ErrorCase{"array_body", "/v3/kv/range", R"([{"key":"<</a>>"}])", "not an object"},
        ErrorCase{"string_body", "/v3/kv/range", R"("<</a>>")", "not an object"},
        ErrorCase{"null_body", "/v3/kv/range", "null", "not an object"},
        ErrorCase{"number_body", "/v3/kv/txn", "1", "not an object"},
        ErrorCase{"watch_array_in_stream", "/v3/watch", R"({"progress_request":{}}[])",
                  "not an object"},
        ErrorCase{"invalid_utf8", "/v3/kv/range", "{\"key\":\"L2E=\",\"x\xff\":1}", "malformed"},
        ErrorCase{"duplicate_field", "/v3/kv/put", R"({"key":"<</a>>","key":"<</b>>"})",
                  "duplicate field 'key'"},
        ErrorCase{"duplicate_nested", "/v3/kv/txn",
                  R"({"success":[{"request_put":{"key":"<</a>>","key":"<</b>>"}}]})",
                  "duplicate field"},
        ErrorCase{"bad_base64_char", "/v3/kv/put", R"({"key":"L2E*"})", "key: invalid base64"},
        ErrorCase{"bad_base64_padding", "/v3/kv/put", R"({"key":"L2E=="})", "invalid base64"},
        ErrorCase{"bad_base64_length", "/v3/kv/put", R"({"key":"L2EhL"})", "invalid base64"},
        ErrorCase{"bad_base64_inner_pad", "/v3/kv/put", R"({"key":"L2=h"})", "invalid base64"},
        ErrorCase{"bad_base64_mixed", "/v3/kv/put", R"({"key":"L2-/"})", "invalid base64"},
        ErrorCase{"bad_base64_newline", "/v3/kv/put", R"({"key":"L2Fi\nYw=="})", "invalid base64"},
        ErrorCase{"bad_base64_range_end", "/v3/kv/range", R"({"key":"<</a>>","range_end":"!!!!"})",
                  "range_end: invalid base64"},
        ErrorCase{"key_number", "/v3/kv/put", R"({"key":12})", "key: not a base64 string"},
        ErrorCase{"key_array", "/v3/kv/range", R"({"key":["<</a>>"]})", "not a base64 string"},
        ErrorCase{"range_end_object", "/v3/kv/range", R"({"key":"<</a>>","range_end":{}})",
                  "range_end: not a base64 string"},
        ErrorCase{"unknown_field", "/v3/kv/range", R"({"key":"<</a>>","rangeend":"<</b>>"})",
                  "rangeend: unknown field"},
        ErrorCase{"unknown_field_put", "/v3/kv/put", R"({"key":"<</a>>","range_end":"<</b>>"})",
                  "range_end: unknown field"},
        ErrorCase{"unknown_field_compare", "/v3/kv/txn",
                  R"({"compare":[{"key":"<</a>>","end":"<</b>>"}]})",
                  "compare[0].end: unknown field"},
        ErrorCase{"unknown_field_watch", "/v3/watch", R"({"create":{"key":"<</a>>"}})",
                  "unknown field"},
        ErrorCase{"unknown_field_txn", "/v3/kv/txn", R"({"then":[]})", "unknown field"},
        ErrorCase{"both_spellings", "/v3/kv/range",
                  R"({"key":"<</a>>","range_end":"<</b>>","rangeEnd":"<</c>>"})",
                  "range_end: given twice"},
        ErrorCase{"both_spellings_op", "/v3/kv/txn",
                  R"({"success":[{"request_put":{"key":"<</a>>"},"requestPut":{"key":"<</b>>"}}]})",
                  "given twice"},
        ErrorCase{"both_spellings_watch", "/v3/watch",
                  R"({"create_request":{"key":"<</a>>"},"createRequest":{"key":"<</b>>"}})",
                  "given twice"},
        ErrorCase{
            "two_oneof_members", "/v3/kv/txn",
            R"({"success":[{"request_range":{"key":"<</a>>"},"request_put":{"key":"<</b>>"}}]})",
            "both request_range and request_put"},
        ErrorCase{"watch_create_and_cancel", "/v3/watch",
                  R"({"cancel_request":{"watch_id":"1"},"create_request":{"key":"<</a>>"}})",
                  "both create_request and cancel_request"},
        ErrorCase{"null_op_member", "/v3/kv/txn", R"({"success":[{"request_put":null}]})",
                  "request_put: null message"},
        ErrorCase{"null_create_request", "/v3/watch", R"({"create_request":null})", "null message"},
        ErrorCase{"op_member_not_object", "/v3/kv/txn", R"({"success":[{"request_put":[]}]})",
                  "request_put: not an object"},
        ErrorCase{"compare_not_array", "/v3/kv/txn", R"({"compare":{"key":"<</a>>"}})",
                  "compare: not an array"},
        ErrorCase{"success_element_null", "/v3/kv/txn", R"({"success":[null]})",
                  "success[0]: not an object"},
        ErrorCase{"failure_element_string", "/v3/kv/txn", R"({"failure":["x"]})",
                  "failure[0]: not an object"},
        ErrorCase{"nested_bad_base64", "/v3/kv/txn",
                  R"({"failure":[{"request_txn":{"success":[{"request_put":{"key":"%%"}}]}}]})",
                  "failure[0].request_txn.success[0].request_put.key: invalid base64"},
        ErrorCase{"txn_depth_17", "/v3/kv/txn",
                  Nested(17, R"({"success":[{"request_put":{"key":"<</deep>>"}}]})"),
                  "nested deeper"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

}  // namespace
}  // namespace tlsproxy::acl
