// Pins the refusal values and the exact bytes clients (python-etcd,
// etcdctl) read from them.
#include "proxy/error_response.h"

#include <gtest/gtest.h>

namespace tlsproxy::proxy {
namespace {

constexpr char kNeedCredentialsBody[] =
    "{\"errorCode\":110,\"message\":\"The request requires user authentication\","
    "\"cause\":\"Insufficient credentials\",\"index\":0}\n";
constexpr char kReadOnlyBody[] =
    "{\"errorCode\":107,\"message\":\"This cluster is in read-only mode\","
    "\"cause\":\"Cluster configured to be read-only\",\"index\":0}\n";

std::string BodyOf(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

TEST(ErrorResponse, NeedCredentialsIsEtcdError110WithChallenge) {
  const std::string r = RenderHttp1(ErrorResponse(ProxyError::kNeedCredentials, ""), true);
  EXPECT_EQ(r.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u);
  EXPECT_NE(r.find("WWW-Authenticate: Basic realm=\"etcd\"\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(BodyOf(r),
            "{\"errorCode\":110,\"message\":\"The request requires user authentication\","
            "\"cause\":\"Insufficient credentials\",\"index\":0}\n");
  EXPECT_EQ(r.find("Connection: close"), std::string::npos);
}

TEST(ErrorResponse, ForbiddenAndReadOnly) {
  const std::string forbidden = RenderHttp1(ErrorResponse(ProxyError::kForbidden, ""), true);
  EXPECT_EQ(forbidden.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_EQ(forbidden.find("WWW-Authenticate"), std::string::npos);
  EXPECT_NE(BodyOf(forbidden).find("\"errorCode\":110"), std::string::npos);
  const std::string read_only = RenderHttp1(ErrorResponse(ProxyError::kReadOnly, ""), false);
  EXPECT_EQ(BodyOf(read_only),
            "{\"errorCode\":107,\"message\":\"This cluster is in read-only mode\","
            "\"cause\":\"Cluster configured to be read-only\",\"index\":0}\n");
  EXPECT_NE(read_only.find("Connection: close\r\n"), std::string::npos);
}

TEST(ErrorResponse, OthersCarryAJsonMessage) {
  const struct {
    ProxyError error;
    const char* status_line;
  } cases[] = {
      {ProxyError::kBadRequest, "HTTP/1.1 400 "}, {ProxyError::kBodyTooLarge, "HTTP/1.1 413 "},
      {ProxyError::kUriTooLong, "HTTP/1.1 414 "}, {ProxyError::kHeadersTooLarge, "HTTP/1.1 431 "},
      {ProxyError::kBadGateway, "HTTP/1.1 502 "}, {ProxyError::kGatewayTimeout, "HTTP/1.1 504 "},
  };
  for (const auto& c : cases) {
    const std::string r = RenderHttp1(ErrorResponse(c.error, "some reason"), true);
    EXPECT_EQ(r.rfind(c.status_line, 0), 0u) << c.status_line;
    EXPECT_EQ(BodyOf(r), "{\"message\":\"some reason\"}\n");
    const std::string length = "Content-Length: " + std::to_string(BodyOf(r).size()) + "\r\n";
    EXPECT_NE(r.find(length), std::string::npos);
  }
}

// Every kind of refusal, byte for byte (the Content-Length is counted here).
TEST(ErrorResponse, ExactBytes) {
  const std::string need = std::string(kNeedCredentialsBody);
  const std::string read_only = std::string(kReadOnlyBody);
  const std::string message = "{\"message\":\"some reason\"}\n";
  const std::string gateway =
      "{\"code\":7,\"error\":\"etcdserver: permission denied\",\"message\":\"etcdserver: "
      "permission denied\"}\n";
  const struct {
    std::string rendered;
    std::string bytes;
  } cases[] = {
      {RenderHttp1(ErrorResponse(ProxyError::kNeedCredentials, ""), true),
       "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
       "WWW-Authenticate: Basic realm=\"etcd\"\r\nX-Etcd-Index: 0\r\nContent-Length: " +
           std::to_string(need.size()) + "\r\n\r\n" + need},
      {RenderHttp1(ErrorResponse(ProxyError::kForbidden, ""), false),
       "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nX-Etcd-Index: 0\r\n"
       "Content-Length: " +
           std::to_string(need.size()) + "\r\nConnection: close\r\n\r\n" + need},
      {RenderHttp1(ErrorResponse(ProxyError::kReadOnly, ""), true),
       "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nX-Etcd-Index: 0\r\n"
       "Content-Length: " +
           std::to_string(read_only.size()) + "\r\n\r\n" + read_only},
      {RenderHttp1(ErrorResponse(ProxyError::kBadRequest, "some reason"), false),
       "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(message.size()) + "\r\nConnection: close\r\n\r\n" + message},
      {RenderHttp1(ErrorResponse(ProxyError::kGatewayTimeout, "some reason"), true),
       "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(message.size()) + "\r\n\r\n" + message},
      {RenderHttp1(GatewayErrorResponse(403, 7, "etcdserver: permission denied"), true),
       "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(gateway.size()) + "\r\n\r\n" + gateway},
  };
  for (const auto& c : cases) EXPECT_EQ(c.rendered, c.bytes);
}

TEST(ErrorResponse, HeadGetsTheHeadOnly) {
  const LocalResponse response = ErrorResponse(ProxyError::kNeedCredentials, "");
  const std::string full = RenderHttp1(response, true);
  EXPECT_EQ(RenderHttp1(response, true, /*is_head=*/true),
            full.substr(0, full.find("\r\n\r\n") + 4));
}

TEST(ErrorResponse, ThrottledCarriesRetryAfter) {
  const std::string body = "{\"message\":\"too many failed authentication attempts\"}\n";
  EXPECT_EQ(RenderHttp1(ThrottledResponse(42), true),
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            "Retry-After: 42\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
}

// What a renderer other than HTTP/1 (gRPC trailers) reads from the value.
TEST(ErrorResponse, ValuesCarryStatusCodeAndMessage) {
  const struct {
    LocalResponse response;
    int status;
    int code;
    std::string message;
  } cases[] = {
      {ErrorResponse(ProxyError::kNeedCredentials, ""), 401, 110,
       "The request requires user authentication"},
      {ErrorResponse(ProxyError::kForbidden, ""), 403, 110,
       "The request requires user authentication"},
      {ErrorResponse(ProxyError::kReadOnly, ""), 403, 107, "This cluster is in read-only mode"},
      {ErrorResponse(ProxyError::kUriTooLong, "request target too long"), 414, 0,
       "request target too long"},
      {ThrottledResponse(1), 429, 0, "too many failed authentication attempts"},
      {GatewayErrorResponse(400, 3, "key: invalid base64"), 400, 3, "key: invalid base64"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.response.status, c.status) << c.message;
    EXPECT_EQ(c.response.code, c.code) << c.message;
    EXPECT_EQ(c.response.message, c.message);
    EXPECT_NE(c.response.body.find(c.message), std::string::npos) << c.response.body;
  }
}

TEST(ErrorResponse, RefusalForEachVerdict) {
  EXPECT_EQ(RefusalFor(acl::Verdict::kAllow), std::nullopt);
  EXPECT_EQ(RefusalFor(acl::Verdict::kNeedCredentials), ProxyError::kNeedCredentials);
  EXPECT_EQ(RefusalFor(acl::Verdict::kForbidden), ProxyError::kForbidden);
  EXPECT_EQ(RefusalFor(acl::Verdict::kReadOnly), ProxyError::kReadOnly);
}

}  // namespace
}  // namespace tlsproxy::proxy
