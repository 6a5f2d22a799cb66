// Pins the exact bytes clients (python-etcd, etcdctl) read from refusals.
#include "proxy/error_response.h"

#include <gtest/gtest.h>

namespace tlsproxy::proxy {
namespace {

std::string BodyOf(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

TEST(ErrorResponse, NeedCredentialsIsEtcdError110WithChallenge) {
  const std::string r = BuildErrorResponse(ProxyError::kNeedCredentials, "", true);
  EXPECT_EQ(r.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u);
  EXPECT_NE(r.find("WWW-Authenticate: Basic realm=\"etcd\"\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(BodyOf(r),
            "{\"errorCode\":110,\"message\":\"The request requires user authentication\","
            "\"cause\":\"Insufficient credentials\",\"index\":0}\n");
  EXPECT_EQ(r.find("Connection: close"), std::string::npos);
}

TEST(ErrorResponse, ForbiddenAndReadOnly) {
  const std::string forbidden = BuildErrorResponse(ProxyError::kForbidden, "", true);
  EXPECT_EQ(forbidden.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_EQ(forbidden.find("WWW-Authenticate"), std::string::npos);
  EXPECT_NE(BodyOf(forbidden).find("\"errorCode\":110"), std::string::npos);
  const std::string read_only = BuildErrorResponse(ProxyError::kReadOnly, "", false);
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
    const std::string r = BuildErrorResponse(c.error, "some reason", true);
    EXPECT_EQ(r.rfind(c.status_line, 0), 0u) << c.status_line;
    EXPECT_EQ(BodyOf(r), "{\"message\":\"some reason\"}\n");
    const std::string length = "Content-Length: " + std::to_string(BodyOf(r).size()) + "\r\n";
    EXPECT_NE(r.find(length), std::string::npos);
  }
}

}  // namespace
}  // namespace tlsproxy::proxy
