// The adversarial corpus: crafted raw requests sent over TLS exactly as
// written (RawTls), each with the outcome a safe proxy must give. Every case
// runs against the same etcd and proxy and:
//   1. seeds its own keys in etcd directly: /<M>, /conftool/<M>,
//      /conftool/secret/<M> and /eventlogging/<M> (v2, value "orig") and
//      /<M>, /conftool/secret/<M> (v3, value "orig"), <M> a fresh marker;
//   2. sends its bytes and checks the status and the shape of the answer
//      (etcd-style 401/403 with errorCode 110, the v3 gateway's code 16/7,
//      or a JSON {"message":...}; framing problems also close the
//      connection);
//   3. sends a normal write through the proxy (libcurl, root), which must
//      still succeed;
//   4. checks in etcd directly that every seeded key (and every extra probe,
//      e.g. /v2/members) reads exactly as before, unless the case is an
//      allowed write that names what it changes, and that no key anywhere
//      holds "pwned" (every refused write tries to store that value).
//
// Request templates use these placeholders: {M} the marker, {ROOT} and {CONF}
// a valid "Authorization: Basic ..." header for root and conftool, {RPW} and
// {CPW} their passwords, {PORT} the proxy's port, {MEMBER} etcd's member id,
// {b64:TEXT} TEXT in base64 (after the others are replaced), and {CL} the
// number of bytes after the first blank line (the whole body as sent).
//
// A case that fails here is a finding: the expected outcome is the safe one.
#include <algorithm>
#include <optional>
#include <ostream>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

enum class Want {
  kJsonError,     // `status` with a JSON body carrying "message"
  kUnauthorized,  // 401, WWW-Authenticate, errorCode 110
  kForbidden,     // 403, errorCode 110
  kV3Refusal,     // 401 with "code":16 or 403 with "code":7, JSON with "message"
  kStatus,        // `status` only (an allowed request, or etcd's own answer)
};

// A read of etcd, made directly before and after the case; both answers
// must be identical.
struct Probe {
  std::string method;
  std::string path;
  std::string body;
};

struct Case {
  std::string name;  // [A-Za-z0-9_]: the test's name
  std::string request;
  int status = 0;
  Want want = Want::kStatus;
  bool closes = false;  // the answer says Connection: close (framing in doubt)
  std::vector<Probe> probes = {};
  // Seeded v2 keys this (allowed) request may change: not compared.
  std::vector<std::string> may_change = {};
  // v2 keys (URL-encoded as etcd's URL wants them) and the value they must
  // hold afterwards.
  std::vector<std::pair<std::string, std::string>> values = {};
  // False when an allowed body legitimately carries the text "pwned".
  bool tree_clean = true;
  std::optional<std::string> client = std::nullopt;  // client certificate for RawTls
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// --- request builders ---------------------------------------------------------------

constexpr char kAnon[] = "";
constexpr char kRoot[] = "{ROOT}\r\n";
constexpr char kConf[] = "{CONF}\r\n";
constexpr char kForm[] = "Content-Type: application/x-www-form-urlencoded\r\n";
constexpr char kJson[] = "Content-Type: application/json\r\n";

// METHOD target, Host, `auth`, `extra` headers; a form body (with its
// Content-Length) when `body` is non-empty.
std::string Req(const std::string& method, const std::string& target, const std::string& auth,
                const std::string& body = "", const std::string& extra = "") {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + auth + extra;
  if (!body.empty()) out += std::string(kForm) + "Content-Length: {CL}\r\n";
  return out + "\r\n" + body;
}

std::string Put(const std::string& target, const std::string& auth,
                const std::string& body = "value=pwned") {
  return Req("PUT", target, auth, body);
}

// A v3 gateway call: POST with a JSON body.
std::string V3(const std::string& path, const std::string& auth, const std::string& json) {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\n" + auth + kJson +
         "Content-Length: {CL}\r\n\r\n" + json;
}
std::string V3PutJson(const std::string& key) {
  return "{\"key\":\"{b64:" + key + "}\",\"value\":\"{b64:pwned}\"}";
}

// The request smuggled into a body: an anonymous write of the root-only key
// /<M>, which the proxy refuses when it sees it as a request.
constexpr char kHidden[] =
    "PUT /v2/keys/{M} HTTP/1.1\r\nHost: localhost\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nvalue=pwned";

// An allowed anonymous write (/eventlogging: []) with the given framing
// headers and body: only the framing decides.
std::string Framed(const std::string& framing, const std::string& body,
                   const std::string& version = "HTTP/1.1") {
  return "PUT /v2/keys/eventlogging/{M} " + version + "\r\nHost: localhost\r\n" + kForm + framing +
         "\r\n" + body;
}

const Probe kMembers{"GET", "/v2/members", ""};
const Probe kAuthEnabled{"GET", "/v2/auth/enable", ""};
const Probe kAuthUsers{"GET", "/v2/auth/users", ""};
const Probe kConftoolDir{"GET", "/v2/keys/conftool?sorted=true", ""};
const Probe kV3Users{"POST", "/v3/auth/user/list", "{}"};

Case Refused(std::string name, std::string request, Want want, std::vector<Probe> probes = {}) {
  Case c;
  c.name = std::move(name);
  c.request = std::move(request);
  c.want = want;
  c.status = want == Want::kUnauthorized ? 401 : 403;
  c.probes = std::move(probes);
  return c;
}
Case Unauthorized(std::string name, std::string request, std::vector<Probe> probes = {}) {
  return Refused(std::move(name), std::move(request), Want::kUnauthorized, std::move(probes));
}
Case Forbidden(std::string name, std::string request, std::vector<Probe> probes = {}) {
  return Refused(std::move(name), std::move(request), Want::kForbidden, std::move(probes));
}
Case V3Refused(std::string name, std::string request, int status, std::vector<Probe> probes = {}) {
  Case c = Refused(std::move(name), std::move(request), Want::kV3Refusal, std::move(probes));
  c.status = status;
  return c;
}
Case BadRequest(std::string name, std::string request, bool closes = false) {
  Case c;
  c.name = std::move(name);
  c.request = std::move(request);
  c.status = 400;
  c.want = Want::kJsonError;
  c.closes = closes;
  return c;
}
// A framing problem: 400, connection closed, nothing forwarded.
Case BadFraming(std::string name, std::string request) {
  return BadRequest(std::move(name), std::move(request), true);
}
Case Limit(std::string name, std::string request, int status) {
  Case c;
  c.name = std::move(name);
  c.request = std::move(request);
  c.status = status;
  c.want = Want::kJsonError;
  return c;
}
// An allowed request: `status`, and the v2 keys it writes (raw key -> value).
Case Allowed(std::string name, std::string request, int status,
             std::vector<std::pair<std::string, std::string>> values = {},
             std::vector<std::string> may_change = {}) {
  Case c;
  c.name = std::move(name);
  c.request = std::move(request);
  c.status = status;
  c.want = Want::kStatus;
  c.values = std::move(values);
  c.may_change = std::move(may_change);
  return c;
}

std::vector<Case> Corpus() {
  std::vector<Case> cases;
  auto add = [&cases](Case c) { cases.push_back(std::move(c)); };
  const std::string big(17000, 'a');

  // --- percent-encoding, dot and empty segments, NUL, backslash ----------------
  add(BadRequest("pct2e_lower_dotdot_out_of_conftool", Put("/v2/keys/conftool/%2e%2e/{M}", kConf)));
  add(BadRequest("pct2E_upper_dotdot_out_of_conftool", Put("/v2/keys/conftool/%2E%2E/{M}", kConf)));
  add(BadRequest("pct2e_mixed_dotdot", Put("/v2/keys/conftool/.%2E/{M}", kConf)));
  add(BadRequest("pct2e_single_dot_segment", Put("/v2/keys/conftool/%2e/secret/{M}", kConf)));
  add(BadRequest("pct2e_dotdot_as_root", Put("/v2/keys/%2e%2e/v2/keys/{M}", kRoot)));
  // Decoded once (as etcd does), %252e%252e is the literal name "%2e%2e":
  // a key under /conftool, nothing above it.
  add(Allowed("pct252e_double_encoded_dotdot_is_a_literal_name",
              Put("/v2/keys/conftool/%252e%252e/{M}", kConf, "value=ok"), 201,
              {{"/conftool/%252e%252e/{M}", "ok"}}));
  add(Forbidden("pct252f_double_encoded_slash_stays_top_level",
                Put("/v2/keys/conftool%252fsecret%252f{M}", kConf)));
  add(Allowed("pct252f_double_encoded_slash_dotdot_is_literal",
              Put("/v2/keys/conftool/x%252f..%252f..%252f{M}", kConf, "value=ok"), 201,
              {{"/conftool/x%252f..%252f..%252f{M}", "ok"}}));
  add(BadRequest("pct2f_lower_encoded_slash_as_root",
                 Put("/v2/keys/conftool%2fsecret%2f{M}", kRoot)));
  add(BadRequest("pct2F_upper_encoded_slash", Put("/v2/keys/conftool%2Fsecret/{M}", kConf)));
  add(BadRequest("pct2f_encoded_slash_dotdot", Put("/v2/keys/conftool/x%2f..%2f..%2f{M}", kConf)));
  add(BadRequest("dotdot_raw", Put("/v2/keys/conftool/../{M}", kConf)));
  add(BadRequest("dotdot_twice", Put("/v2/keys/conftool/x/../../{M}", kConf)));
  add(BadRequest("dot_segment_into_secret", Put("/v2/keys/conftool/./secret/{M}", kConf)));
  add(BadRequest("trailing_dotdot_delete",
                 Req("DELETE", "/v2/keys/conftool/secret/{M}/..", kConf)));
  add(BadRequest("dotdot_above_keys", Put("/v2/../v2/keys/{M}", kRoot)));
  add(BadRequest("empty_segment_in_key", Put("/v2/keys//{M}", kRoot)));
  add(BadRequest("empty_segment_before_secret", Put("/v2/keys/conftool//secret/{M}", kConf)));
  add(BadRequest("leading_double_slash", Put("//v2/keys/{M}", kRoot)));
  add(BadRequest("empty_segment_in_v2", Put("/v2//keys/{M}", kRoot)));
  add(BadRequest("double_trailing_slash", Put("/v2/keys/{M}//", kRoot)));
  add(BadRequest("nul_encoded", Put("/v2/keys/conftool%00/secret/{M}", kConf)));
  add(BadRequest("nul_encoded_at_end", Put("/v2/keys/{M}%00", kRoot)));
  add(BadRequest("nul_raw_byte_in_target",
                 Put(std::string("/v2/keys/conftool/{M}") + '\0' + "/../../{M}", kConf), true));
  add(BadRequest("backslash_raw", Put("/v2/keys/conftool\\..\\{M}", kConf)));
  add(BadRequest("backslash_pct5c", Put("/v2/keys/conftool%5c..%5c{M}", kConf)));
  add(BadRequest("backslash_pct5C", Put("/v2/keys/conftool%5Csecret%5C{M}", kConf)));

  // --- ';' parameters -------------------------------------------------------------
  // etcd (Go) keeps ';' in the path: "conftool;secret" is a top-level name.
  add(Forbidden("semicolon_param_on_conftool_segment", Put("/v2/keys/conftool;secret/{M}", kConf)));
  // "secret;x" is not "secret": a literal name under /conftool, as etcd sees it.
  add(Allowed("semicolon_param_on_secret_segment_is_a_literal_name",
              Put("/v2/keys/conftool/secret;x/{M}", kConf, "value=ok"), 201,
              {{"/conftool/secret;x/{M}", "ok"}}));
  add(BadRequest("semicolon_dotdot_segment_then_dotdot",
                 Put("/v2/keys/conftool/..;/../{M}", kConf)));
  add(Forbidden("semicolon_recursive_in_path",
                Req("DELETE", "/v2/keys/conftool;recursive=true", kConf)));
  // Go refuses ';' in a query (etcd: 400 invalid form); the proxy must not
  // let it hide a recursive delete.
  add(Forbidden("semicolon_in_query_hides_recursive",
                Req("DELETE", "/v2/keys/conftool?x=1;recursive=true", kConf)));

  // --- recursive writes above a more specific rule ------------------------------
  add(Forbidden("recursive_delete_above_secret",
                Req("DELETE", "/v2/keys/conftool?recursive=true", kConf)));
  add(Forbidden("recursive_delete_trailing_slash",
                Req("DELETE", "/v2/keys/conftool/?recursive=true", kConf)));
  add(Forbidden("recursive_false_still_reaches_below",
                Req("DELETE", "/v2/keys/conftool?recursive=false", kConf)));
  add(Forbidden("recursive_given_twice",
                Req("DELETE", "/v2/keys/conftool?recursive=false&recursive=true", kConf)));
  add(Forbidden("recursive_name_percent_encoded",
                Req("DELETE", "/v2/keys/conftool?rec%75rsive=true", kConf)));
  add(Forbidden("dir_delete_above_secret", Req("DELETE", "/v2/keys/conftool?dir=true", kConf)));
  add(Unauthorized("recursive_delete_of_everything_anonymous",
                   Req("DELETE", "/v2/keys/?recursive=true", kAnon)));
  add(Forbidden("recursive_delete_keys_root_no_slash",
                Req("DELETE", "/v2/keys?recursive=true", kConf)));
  add(Forbidden("ttl_on_conftool_dir_query",
                Req("PUT", "/v2/keys/conftool?dir=true&ttl=1000&prevExist=true", kConf),
                {kConftoolDir}));
  add(Forbidden("ttl_on_conftool_dir_form_body",
                Put("/v2/keys/conftool", kConf, "dir=true&ttl=1000&prevExist=true"),
                {kConftoolDir}));
  add(Forbidden("ttl_name_percent_encoded_in_form_body",
                Put("/v2/keys/conftool", kConf, "dir=true&t%74l=1000&prevExist=true"),
                {kConftoolDir}));
  add(Forbidden("refresh_on_conftool_dir",
                Req("PUT", "/v2/keys/conftool?refresh=true&ttl=1000&prevExist=true", kConf),
                {kConftoolDir}));

  // --- absolute-form targets ------------------------------------------------------
  add(Forbidden("absolute_https_with_port_into_secret",
                Put("https://localhost:{PORT}/v2/keys/conftool/secret/{M}", kConf)));
  add(Forbidden("absolute_http_with_port_into_secret",
                Put("http://localhost:{PORT}/v2/keys/conftool/secret/{M}", kConf)));
  add(Unauthorized("absolute_https_without_port_anonymous",
                   Put("https://localhost/v2/keys/{M}", kAnon)));
  add(Unauthorized("absolute_http_without_port_anonymous",
                   Put("http://127.0.0.1/v2/keys/conftool/secret/{M}", kAnon)));
  add(BadRequest("absolute_http_dotdot", Put("http://localhost/v2/keys/conftool/../{M}", kConf)));
  add(BadRequest("absolute_https_encoded_dotdot",
                 Put("https://127.0.0.1:{PORT}/v2/keys/conftool/%2e%2e/{M}", kConf)));
  add(Allowed("absolute_https_allowed_write",
              Put("https://localhost:{PORT}/v2/keys/conftool/{M}", kConf, "value=ok"), 200,
              {{"/conftool/{M}", "ok"}}));
  add(Unauthorized("absolute_userinfo_is_no_identity",
                   Put("https://root:{RPW}@localhost:{PORT}/v2/keys/{M}", kAnon)));
  add(Unauthorized("absolute_other_host_anonymous",
                   Put("http://etcd.internal:2378/v2/keys/{M}", kAnon)));
  add(BadRequest("scheme_relative_target", Put("//localhost/v2/keys/{M}", kRoot)));
  add(BadRequest("target_without_leading_slash", Put("v2/keys/{M}", kRoot), true));

  // --- methods ------------------------------------------------------------------------
  add(BadRequest("method_lowercase_get", Req("get", "/v2/keys/conftool/secret/{M}", kAnon), true));
  add(BadRequest("method_lowercase_put", Put("/v2/keys/{M}", kAnon).replace(0, 3, "put"), true));
  add(BadRequest("method_lowercase_delete_recursive",
                 Req("delete", "/v2/keys/conftool?recursive=true", kConf), true));
  add(BadRequest("method_putt", Put("/v2/keys/{M}", kAnon).replace(0, 3, "PUTT"), true));
  add(Unauthorized("method_propfind_is_a_write", Req("PROPFIND", "/v2/keys/{M}", kAnon)));
  add(Unauthorized("method_patch_is_a_write", Req("PATCH", "/v2/keys/{M}", kAnon, "value=pwned")));
  add(Unauthorized("method_mkcol_is_a_write", Req("MKCOL", "/v2/keys/{M}", kAnon)));
  add(BadRequest("method_unknown_token", Req("XYZZY", "/v2/keys/{M}", kAnon), true));
  add(BadRequest("method_connect",
                 "CONNECT 127.0.0.1:2378 HTTP/1.1\r\nHost: 127.0.0.1:2378\r\n\r\n", true));

  // --- endpoints outside /v2/keys -----------------------------------------------------
  const std::string peer = "{\"peerURLs\":[\"http://127.0.0.1:9\"]}";
  add(Unauthorized("v2_members_post_anonymous",
                   "POST /v2/members HTTP/1.1\r\nHost: localhost\r\n" + std::string(kJson) +
                       "Content-Length: {CL}\r\n\r\n" + peer,
                   {kMembers}));
  add(Forbidden("v2_members_post_conftool",
                "POST /v2/members HTTP/1.1\r\nHost: localhost\r\n{CONF}\r\n" + std::string(kJson) +
                    "Content-Length: {CL}\r\n\r\n" + peer,
                {kMembers}));
  add(Unauthorized("v2_members_delete_anonymous", Req("DELETE", "/v2/members/{MEMBER}", kAnon),
                   {kMembers}));
  add(Forbidden("v2_members_delete_conftool", Req("DELETE", "/v2/members/{MEMBER}", kConf),
                {kMembers}));
  add(Forbidden("v2_members_put_conftool",
                "PUT /v2/members/{MEMBER} HTTP/1.1\r\nHost: localhost\r\n{CONF}\r\n" +
                    std::string(kJson) + "Content-Length: {CL}\r\n\r\n" + peer,
                {kMembers}));
  add(Unauthorized("v2_machines_post_anonymous", Req("POST", "/v2/machines", kAnon, "x=1"),
                   {kMembers}));
  add(Unauthorized("v2_auth_enable_put_anonymous", Req("PUT", "/v2/auth/enable", kAnon),
                   {kAuthEnabled}));
  add(Forbidden("v2_auth_enable_put_conftool", Req("PUT", "/v2/auth/enable", kConf),
                {kAuthEnabled}));
  const std::string user_x = "{\"user\":\"x\",\"password\":\"y\",\"roles\":[\"root\"]}";
  add(Unauthorized("v2_auth_users_put_anonymous",
                   "PUT /v2/auth/users/x HTTP/1.1\r\nHost: localhost\r\n" + std::string(kJson) +
                       "Content-Length: {CL}\r\n\r\n" + user_x,
                   {kAuthUsers}));
  add(Forbidden("v2_auth_users_put_conftool",
                "PUT /v2/auth/users/x HTTP/1.1\r\nHost: localhost\r\n{CONF}\r\n" +
                    std::string(kJson) + "Content-Length: {CL}\r\n\r\n" + user_x,
                {kAuthUsers}));
  add(Unauthorized("v2_auth_users_read_anonymous", Req("GET", "/v2/auth/users", kAnon)));
  add(Unauthorized("debug_vars_anonymous", Req("GET", "/debug/vars", kAnon)));
  add(BadRequest("v2_stats_dotdot_to_members", Req("POST", "/v2/stats/../members", kAnon, "x=1")));
  add(V3Refused("v3_put_anonymous", V3("/v3/kv/put", kAnon, V3PutJson("/{M}")), 401));
  add(V3Refused("v3_put_conftool_outside_conftool", V3("/v3/kv/put", kConf, V3PutJson("/{M}")),
                403));
  add(V3Refused("v3_put_conftool_into_secret",
                V3("/v3/kv/put", kConf, V3PutJson("/conftool/secret/{M}")), 403));
  add(V3Refused("v3beta_put_anonymous", V3("/v3beta/kv/put", kAnon, V3PutJson("/{M}")), 401));
  add(V3Refused("v3beta_put_conftool_into_secret",
                V3("/v3beta/kv/put", kConf, V3PutJson("/conftool/secret/{M}")), 403));
  add(V3Refused("v3alpha_put_anonymous", V3("/v3alpha/kv/put", kAnon, V3PutJson("/{M}")), 401));
  add(V3Refused("v3_deleterange_everything_anonymous",
                V3("/v3/kv/deleterange", kAnon, "{\"key\":\"AA==\",\"range_end\":\"AA==\"}"), 401));
  add(V3Refused("v3_deleterange_conftool_prefix_covers_secret",
                V3("/v3/kv/deleterange", kConf,
                   "{\"key\":\"{b64:/conftool/}\",\"range_end\":\"{b64:/conftool0}\"}"),
                403));
  add(V3Refused("v3_txn_conftool_put_into_secret",
                V3("/v3/kv/txn", kConf,
                   "{\"success\":[{\"request_put\":" + V3PutJson("/conftool/secret/{M}") + "}]}"),
                403));
  add(V3Refused("v3_auth_enable_anonymous", V3("/v3/auth/enable", kAnon, "{}"), 401, {kV3Users}));
  add(V3Refused("v3_auth_enable_conftool", V3("/v3/auth/enable", kConf, "{}"), 403, {kV3Users}));
  add(V3Refused("v3_auth_user_add_anonymous",
                V3("/v3/auth/user/add", kAnon, "{\"name\":\"x\",\"password\":\"y\"}"), 401,
                {kV3Users}));
  add(V3Refused("v3_maintenance_snapshot_anonymous", V3("/v3/maintenance/snapshot", kAnon, "{}"),
                401));
  add(V3Refused("v3_maintenance_snapshot_conftool", V3("/v3/maintenance/snapshot", kConf, "{}"),
                403));
  add(V3Refused("v3_lease_revoke_conftool", V3("/v3/lease/revoke", kConf, "{\"ID\":1}"), 403));
  add(V3Refused("v3_path_percent_encoded", V3("/v3/kv/%70ut", kAnon, V3PutJson("/{M}")), 401));
  add(V3Refused("v3_put_trailing_slash", V3("/v3/kv/put/", kAnon, V3PutJson("/{M}")), 401));
  add(BadRequest("v3_dotdot_from_range_to_put",
                 V3("/v3/kv/range/../put", kConf, V3PutJson("/{M}"))));
  add(BadRequest("v3_via_v2_keys_dotdot",
                 V3("/v2/keys/../../v3/kv/put", kAnon, V3PutJson("/{M}"))));
  // Go's JSON decoder keeps the last of two equal names; a proxy that reads
  // the first would decide on /conftool/<M>.
  add(Limit("v3_json_duplicate_key_field_is_400",
            V3("/v3/kv/put", kConf,
               "{\"key\":\"{b64:/conftool/{M}}\",\"key\":\"{b64:/{M}}\","
               "\"value\":\"{b64:pwned}\"}"),
            400));
  add(V3Refused("v3_json_escaped_field_name",
                V3("/v3/kv/put", kConf, "{\"k\\u0065y\":\"{b64:/{M}}\",\"value\":\"{b64:pwned}\"}"),
                403));

  // --- request smuggling ----------------------------------------------------------------
  add(BadFraming("smuggle_cl_and_te",
                 Framed("Content-Length: {CL}\r\nTransfer-Encoding: chunked\r\n",
                        std::string("0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_and_cl",
                 Framed("Transfer-Encoding: chunked\r\nContent-Length: {CL}\r\n",
                        std::string("8\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_duplicate_cl_equal", Framed("Content-Length: 8\r\nContent-Length: 8\r\n",
                                                      std::string("value=ok") + kHidden)));
  add(BadFraming(
      "smuggle_duplicate_cl_differing",
      Framed("Content-Length: 8\r\nContent-Length: {CL}\r\n", std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_te_space_before_colon",
                 Framed("Transfer-Encoding : chunked\r\nContent-Length: {CL}\r\n",
                        std::string("0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_space_before_colon_alone",
                 Framed("Transfer-Encoding : chunked\r\n",
                        std::string("8\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_tab_with_cl",
                 Framed("Transfer-Encoding:\tchunked\r\nContent-Length: {CL}\r\n",
                        std::string("0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_xchunked",
                 Framed("Transfer-Encoding: xchunked\r\nContent-Length: {CL}\r\n",
                        std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_te_chunked_identity",
                 Framed("Transfer-Encoding: chunked, identity\r\n",
                        std::string("8\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_identity_chunked",
                 Framed("Transfer-Encoding: identity, chunked\r\nContent-Length: {CL}\r\n",
                        std::string("0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_two_headers",
                 Framed("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                        std::string("8\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_te_obs_fold",
                 Framed("Transfer-Encoding:\r\n chunked\r\nContent-Length: {CL}\r\n",
                        std::string("0\r\n\r\n") + kHidden)));
  // RFC 9112 5.2: an obs-fold is replaced by SP before the field is read or
  // forwarded; "Transfer-Encoding: chunked" is then part of X-Padding's
  // value, Content-Length frames the body and the hidden request is data.
  add(Allowed("smuggle_te_hidden_in_obs_fold_is_a_value",
              Framed("X-Padding: a\r\n Transfer-Encoding: chunked\r\nContent-Length: {CL}\r\n",
                     std::string("0\r\n\r\n") + kHidden),
              200, {{"/eventlogging/{M}", ""}}));
  add(BadFraming("smuggle_te_with_http10",
                 Framed("Transfer-Encoding: chunked\r\nContent-Length: {CL}\r\n",
                        std::string("0\r\n\r\n") + kHidden, "HTTP/1.0")));
  add(BadFraming("smuggle_chunk_size_negative",
                 Framed("Transfer-Encoding: chunked\r\n",
                        std::string("-1\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_chunk_size_0x_prefix",
                 Framed("Transfer-Encoding: chunked\r\n",
                        std::string("0x8\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_chunk_size_huge",
                 Framed("Transfer-Encoding: chunked\r\n",
                        std::string("ffffffffffffffffffff\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_chunk_size_wraps_64_bits",
                 Framed("Transfer-Encoding: chunked\r\n",
                        std::string("10000000000000008\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_chunk_data_longer_than_size",
                 Framed("Transfer-Encoding: chunked\r\n",
                        std::string("3\r\nvalue=ok\r\n0\r\n\r\n") + kHidden)));
  add(BadFraming("smuggle_cl_plus_sign",
                 Framed("Content-Length: +8\r\n", std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_cl_negative", Framed("Content-Length: -1\r\n", kHidden)));
  add(BadFraming("smuggle_cl_hex",
                 Framed("Content-Length: 0x8\r\n", std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_cl_list",
                 Framed("Content-Length: 8, 8\r\n", std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_cl_trailing_garbage",
                 Framed("Content-Length: 8abc\r\n", std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_cl_space_before_colon",
                 Framed("Content-Length : 8\r\n", std::string("value=ok") + kHidden)));
  add(BadFraming("smuggle_cr_inside_header_value",
                 Framed("X-Padding: a\rTransfer-Encoding: chunked\r\nContent-Length: {CL}\r\n",
                        std::string("0\r\n\r\n") + kHidden)));
  // RFC 9112 5.1: whitespace between a field name and the colon must be
  // refused with 400 (a lenient server would read "Upgrade" here).
  add(BadFraming(
      "smuggle_upgrade_space_before_colon",
      Framed("Connection : Upgrade\r\nUpgrade : websocket\r\nContent-Length: 8\r\n", "value=ok")));
  add(BadFraming("smuggle_upgrade_h2c",
                 Framed("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: "
                        "AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 8\r\n",
                        "value=ok")));
  // Allowed framings: the hidden request is body data or a second request
  // the proxy decides on by itself (and refuses); /<M> must stay unchanged.
  {
    Case c = Allowed("smuggle_te_tab_is_valid_ows",
                     Framed("Transfer-Encoding:\tchunked\r\n", "8\r\nvalue=ok\r\n0\r\n\r\n"), 200,
                     {{"/eventlogging/{M}", "ok"}});
    add(c);
  }
  add(Allowed("smuggle_chunk_extension_ignored",
              Framed("Transfer-Encoding: chunked\r\n", "8;ext=\"x\"\r\nvalue=ok\r\n0\r\n\r\n"), 200,
              {{"/eventlogging/{M}", "ok"}}));
  add(Allowed(
      "smuggle_chunked_then_pipelined_anonymous_write",
      Framed("Transfer-Encoding: chunked\r\n", std::string("8\r\nvalue=ok\r\n0\r\n\r\n") + kHidden),
      200, {{"/eventlogging/{M}", "ok"}}));
  add(Allowed("smuggle_cl_zero_then_pipelined_anonymous_write",
              Framed("Content-Length: 0\r\n", kHidden), 200, {}, {"/eventlogging/{M}"}));
  {
    Case c =
        Allowed("smuggle_request_hidden_in_cl_body",
                Framed("Content-Length: {CL}\r\n", std::string("value=ok&x=\r\n\r\n") + kHidden),
                200, {{"/eventlogging/{M}", "ok"}});
    c.tree_clean = false;  // the form field x holds the hidden text; only value is stored
    add(c);
  }
  add(Allowed("smuggle_request_hidden_in_get_body",
              "GET /v2/keys/eventlogging/{M} HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
              "{CL}\r\n\r\n" +
                  std::string(kHidden),
              200));
  add(Allowed("smuggle_connection_header_names_content_length",
              Framed("Connection: keep-alive, Content-Length\r\nContent-Length: 8\r\n", "value=ok"),
              200, {{"/eventlogging/{M}", "ok"}}));
  // Trailer fields would join the head after it was checked: refused.
  add(BadFraming("smuggle_chunked_trailer_declares_framing",
                 Framed("Transfer-Encoding: chunked\r\n",
                        "8\r\nvalue=ok\r\n0\r\nContent-Length: 500\r\nTransfer-Encoding: "
                        "chunked\r\n\r\n")));
  add(BadFraming("smuggle_chunked_trailer_carries_authorization",
                 std::string("PUT /v2/keys/{M} HTTP/1.1\r\nHost: localhost\r\n") + kForm +
                     "Transfer-Encoding: chunked\r\n\r\nb\r\nvalue=pwned\r\n0\r\n{ROOT}\r\n\r\n"));

  // --- Authorization oddities (target: the root-only key /<M>) -----------------------
  add(Unauthorized("auth_two_headers_root_and_conftool",
                   Put("/v2/keys/{M}", "{ROOT}\r\n{CONF}\r\n")));
  add(Unauthorized("auth_two_headers_bad_then_root",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:root:wrong}\r\n{ROOT}\r\n")));
  add(Unauthorized("auth_two_identical_root_headers", Put("/v2/keys/{M}", "{ROOT}\r\n{ROOT}\r\n")));
  add(Unauthorized("auth_bad_base64", Put("/v2/keys/{M}", "Authorization: Basic !!!!\r\n")));
  add(Unauthorized("auth_base64_with_trailing_block",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:root:{RPW}}AAAA\r\n")));
  add(Unauthorized("auth_empty_password",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:root:}\r\n")));
  add(Unauthorized("auth_colon_in_password",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:root:{RPW}:x}\r\n")));
  add(Unauthorized("auth_colon_in_user",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:ro:ot:{RPW}}\r\n")));
  add(Unauthorized("auth_no_colon",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:root{RPW}}\r\n")));
  add(Unauthorized("auth_empty_user",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64::{RPW}}\r\n")));
  add(Unauthorized("auth_user_trailing_space",
                   Put("/v2/keys/{M}", "Authorization: Basic {b64:root :{RPW}}\r\n")));
  add(Unauthorized(
      "auth_nul_after_password",
      Put("/v2/keys/{M}", std::string("Authorization: Basic {b64:root:{RPW}") + '\0' + "x}\r\n")));
  add(Allowed("auth_scheme_lowercase_basic_is_valid",
              Put("/v2/keys/{M}", "Authorization: basic {b64:root:{RPW}}\r\n", "value=ok"), 200,
              {{"/{M}", "ok"}}));
  add(Allowed("auth_scheme_uppercase_BASIC_is_valid",
              Put("/v2/keys/{M}", "Authorization: BASIC {b64:root:{RPW}}\r\n", "value=ok"), 200,
              {{"/{M}", "ok"}}));
  add(Allowed("auth_header_name_lowercase_is_valid",
              Put("/v2/keys/{M}", "authorization: Basic {b64:root:{RPW}}\r\n", "value=ok"), 200,
              {{"/{M}", "ok"}}));
  add(Unauthorized("auth_bearer_scheme",
                   Put("/v2/keys/{M}", "Authorization: Bearer {b64:root:{RPW}}\r\n")));
  add(Unauthorized("auth_no_space_after_scheme",
                   Put("/v2/keys/{M}", "Authorization: Basic{b64:root:{RPW}}\r\n")));
  add(Unauthorized("auth_scheme_only", Put("/v2/keys/{M}", "Authorization: Basic\r\n")));
  add(Unauthorized("auth_empty_value", Put("/v2/keys/{M}", "Authorization:\r\n")));
  add(Unauthorized(
      "auth_wrong_password_on_public_read",
      Req("GET", "/v2/keys/conftool/{M}", "Authorization: Basic {b64:root:wrong}\r\n")));
  add(Unauthorized("auth_proxy_authorization_is_not_authorization",
                   Put("/v2/keys/{M}", "Proxy-Authorization: Basic {b64:root:{RPW}}\r\n")));
  {
    // A valid root certificate does not rescue a wrong password.
    Case c = Unauthorized("auth_root_certificate_with_wrong_password",
                          Put("/v2/keys/{M}", "Authorization: Basic {b64:root:wrong}\r\n"));
    c.client = "root";
    add(c);
  }

  // --- limits ------------------------------------------------------------------------------
  add(Limit("limit_long_query_414", Put("/v2/keys/{M}?x=" + big, kRoot), 414));
  add(Limit("limit_long_path_414", Put("/v2/keys/" + big, kRoot), 414));
  add(Limit("limit_big_header_431",
            Put("/v2/keys/{M}", kRoot + std::string("X-Big: ") + big + "\r\n"), 431));
  {
    std::string many;
    for (int i = 0; i < 1000; ++i) many += "X-H" + std::to_string(i) + ": 0123456789\r\n";
    add(Limit("limit_many_headers_431", Put("/v2/keys/{M}", kRoot + many), 431));
  }
  add(Limit("limit_declared_body_too_big_413",
            "PUT /v2/keys/{M} HTTP/1.1\r\nHost: localhost\r\n{ROOT}\r\n" + std::string(kForm) +
                "Content-Length: 999999999\r\n\r\nvalue=pwned",
            413));
  return cases;
}

// --- running one case ---------------------------------------------------------------------

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Replaces every {b64:TEXT} by Base64(TEXT).
std::string ExpandBase64(std::string text) {
  for (auto at = text.find("{b64:"); at != std::string::npos; at = text.find("{b64:", at)) {
    const auto end = text.find('}', at);
    if (end == std::string::npos) break;
    const std::string encoded = Base64(text.substr(at + 5, end - at - 5));
    text.replace(at, end - at + 1, encoded);
    at += encoded.size();
  }
  return text;
}

std::string Expand(std::string text, const std::string& marker, uint16_t port,
                   const std::string& member) {
  text = ReplaceAll(text, "{M}", marker);
  text = ReplaceAll(text, "{ROOT}", BasicAuthHeader("root", kRootPassword));
  text = ReplaceAll(text, "{CONF}", BasicAuthHeader("conftool", kConftoolPassword));
  text = ReplaceAll(text, "{RPW}", kRootPassword);
  text = ReplaceAll(text, "{CPW}", kConftoolPassword);
  text = ReplaceAll(text, "{PORT}", std::to_string(port));
  text = ReplaceAll(text, "{MEMBER}", member);
  text = ExpandBase64(text);
  if (const auto head_end = text.find("\r\n\r\n"); head_end != std::string::npos) {
    text = ReplaceAll(text, "{CL}", std::to_string(text.size() - head_end - 4));
  }
  return text;
}

// What etcd holds for a probe: status and body, or the curl error.
std::string Snapshot(const HttpResponse& response) {
  return std::to_string(response.status) + " " + response.body + response.error;
}

class AdversarialCorpusTest : public SharedProxyTest, public ::testing::WithParamInterface<Case> {
 protected:
  static void SetUpTestSuite() {
    ProxyOptions options;
    // Many cases fail authentication on purpose: keep the throttle out of
    // the way (it has its own tests).
    options.extra_yaml = "auth_throttle: {max_failures: 1000000, window: 1, backoff: 1}\n";
    StartShared(options);
  }

  static std::string MemberId() {
    static const std::string id = [] {
      const HttpResponse members = etcd().Request("GET", "/v2/members");
      static const std::regex kId("\"id\":\"([0-9a-f]+)\"");
      std::smatch match;
      return std::regex_search(members.body, match, kId) ? match[1].str() : std::string("0");
    }();
    return id;
  }

  static bool V3Put(const std::string& key, const std::string& value) {
    return etcd()
               .Request("POST", "/v3/kv/put",
                        "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64(value) + "\"}")
               .status == 200;
  }
};

::testing::AssertionResult HasShape(const Case& c, const RawResponse& response) {
  switch (c.want) {
    case Want::kJsonError:
      return IsJsonError(response, c.status);
    case Want::kUnauthorized:
      return IsUnauthorized(response);
    case Want::kForbidden:
      return IsForbidden(response);
    case Want::kV3Refusal: {
      if (response.status != c.status) {
        return ::testing::AssertionFailure() << "status " << response.status << " (expected "
                                             << c.status << "), body '" << response.body << "'";
      }
      const std::string code = c.status == 401 ? "\"code\":16" : "\"code\":7";
      if (response.body.find(code) == std::string::npos) {
        return ::testing::AssertionFailure() << "no " << code << " in '" << response.body << "'";
      }
      return IsJsonWithMessage(response.body);
    }
    case Want::kStatus:
      if (response.status != c.status) {
        return ::testing::AssertionFailure() << "status " << response.status << " (expected "
                                             << c.status << "), body '" << response.body << "'";
      }
      return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "unknown Want";
}

std::string ToLowerAscii(std::string text) {
  for (char& ch : text) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return text;
}

std::string Printable(const std::string& bytes, std::size_t limit = 600) {
  std::string out;
  for (char ch : bytes.substr(0, limit)) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n\n";
    } else if (ch == '\0') {
      out += "\\0";
    } else if (ch == '\t') {
      out += "\\t";
    } else {
      out += ch;
    }
  }
  if (bytes.size() > limit) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

TEST_P(AdversarialCorpusTest, Request) {
  const Case& c = GetParam();
  const std::string marker = UniqueName("adv");
  const auto expand = [&](const std::string& text) {
    return Expand(text, marker, port(), MemberId());
  };
  const std::string bytes = expand(c.request);
  SCOPED_TRACE("request:\n" + Printable(bytes));

  // 1. Seed, and read what every probe sees.
  const std::vector<std::string> seeded = {"/" + marker, "/conftool/" + marker,
                                           "/conftool/secret/" + marker, "/eventlogging/" + marker};
  const std::vector<std::string> v3_seeded = {"/" + marker, "/conftool/secret/" + marker};
  for (const std::string& key : seeded) ASSERT_TRUE(etcd().Put(key, "orig")) << key;
  for (const std::string& key : v3_seeded) ASSERT_TRUE(V3Put(key, "orig")) << key;
  std::vector<Probe> probes;
  for (const std::string& key : seeded) {
    bool expected_to_change = false;
    for (const auto& [changed_key, value] : c.values) {
      if (expand(changed_key) == key) expected_to_change = true;
    }
    for (const std::string& changed_key : c.may_change) {
      if (expand(changed_key) == key) expected_to_change = true;
    }
    if (!expected_to_change) probes.push_back({"GET", "/v2/keys" + key, ""});
  }
  for (const Probe& probe : c.probes) probes.push_back(probe);
  std::vector<std::string> before;
  for (const Probe& probe : probes) {
    before.push_back(Snapshot(etcd().Request(probe.method, probe.path, probe.body)));
  }

  // 2. The attack.
  const RawResponse response = RawTls(port(), bytes, c.client, 5s);
  EXPECT_TRUE(HasShape(c, response)) << "response:\n" << Printable(response.raw, 2000);
  if (c.closes) {
    EXPECT_EQ(ToLowerAscii(response.Header("connection")), "close") << response.head;
    EXPECT_EQ(response.raw.find("HTTP/1.", 1), std::string::npos) << "more than one response:\n"
                                                                  << Printable(response.raw, 2000);
  }

  // 3. The proxy still serves a normal request.
  ASSERT_TRUE(proxy().Alive());
  const std::string canary = "/canary/" + marker;
  const HttpResponse normal = HttpsPut(port(), "/v2/keys" + canary, "alive", "root", kRootPassword);
  EXPECT_EQ(normal.status, 201) << normal.body << normal.error;
  EXPECT_EQ(etcd().ValueOf(canary), "alive");

  // 4. etcd holds what it held, and what an allowed request wrote.
  for (std::size_t i = 0; i < probes.size(); ++i) {
    EXPECT_EQ(Snapshot(etcd().Request(probes[i].method, probes[i].path, probes[i].body)), before[i])
        << probes[i].method << " " << probes[i].path << " changed";
  }
  for (const std::string& key : v3_seeded) {
    EXPECT_EQ(etcd().V3ValueOf(key), "orig") << "v3 " << key << " changed";
  }
  for (const auto& [key, value] : c.values) {
    EXPECT_EQ(etcd().ValueOf(expand(key)), value) << expand(key);
  }
  if (c.tree_clean) {
    const HttpResponse tree = etcd().Get("/?recursive=true");
    EXPECT_EQ(tree.status, 200);
    EXPECT_EQ(tree.body.find("pwned"), std::string::npos) << "a refused write reached etcd";
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Adversarial, AdversarialCorpusTest, ::testing::ValuesIn(Corpus()),
                         CaseName);

TEST(AdversarialCorpusSize, AtLeastSixtyDistinctCases) {
  const std::vector<Case> cases = Corpus();
  EXPECT_GE(cases.size(), 60u);
  std::set<std::string> names;
  for (const Case& c : cases) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

}  // namespace
}  // namespace tlsproxy::integration
