#include "proxy/error_response.h"

#include <cassert>
#include <cstring>

#include <nlohmann/json.hpp>

#include "proxy/http_message.h"

namespace tlsproxy::proxy {
namespace {

// etcd's own v2 bodies, byte for byte (the keys handler ends them with "\n").
constexpr char kInsufficientCredentials[] =
    "{\"errorCode\":110,\"message\":\"The request requires user authentication\","
    "\"cause\":\"Insufficient credentials\",\"index\":0}\n";
constexpr char kReadOnlyBody[] =
    "{\"errorCode\":107,\"message\":\"This cluster is in read-only mode\","
    "\"cause\":\"Cluster configured to be read-only\",\"index\":0}\n";

std::string MessageBody(const char* message) {
  assert(std::strpbrk(message, "\"\\") == nullptr);
  return std::string("{\"message\":\"") + message + "\"}\n";
}

}  // namespace

int StatusOf(ProxyError error) {
  switch (error) {
    case ProxyError::kNeedCredentials:
      return 401;
    case ProxyError::kForbidden:
      return 403;
    case ProxyError::kReadOnly:
      return 403;
    case ProxyError::kBadRequest:
      return 400;
    case ProxyError::kRequestTimeout:
      return 408;
    case ProxyError::kTooManyRequests:
      return 429;
    case ProxyError::kBodyTooLarge:
      return 413;
    case ProxyError::kUriTooLong:
      return 414;
    case ProxyError::kHeadersTooLarge:
      return 431;
    case ProxyError::kBadGateway:
      return 502;
    case ProxyError::kGatewayTimeout:
      return 504;
  }
  return 500;
}

std::string BuildErrorResponse(ProxyError error, const char* message, bool keep_alive) {
  const int status = StatusOf(error);
  std::string body;
  std::string extra;
  switch (error) {
    case ProxyError::kNeedCredentials:
      body = kInsufficientCredentials;
      extra = "WWW-Authenticate: Basic realm=\"etcd\"\r\nX-Etcd-Index: 0\r\n";
      break;
    case ProxyError::kForbidden:
      body = kInsufficientCredentials;
      extra = "X-Etcd-Index: 0\r\n";
      break;
    case ProxyError::kReadOnly:
      body = kReadOnlyBody;
      extra = "X-Etcd-Index: 0\r\n";
      break;
    default:
      body = MessageBody(message);
      break;
  }
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  out += "Content-Type: application/json\r\n";
  out += extra;
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string BuildThrottledResponse(std::size_t retry_after_seconds, bool keep_alive) {
  std::string response = BuildErrorResponse(ProxyError::kTooManyRequests,
                                            "too many failed authentication attempts", keep_alive);
  const size_t line_end = response.find("\r\n") + 2;
  response.insert(line_end, "Retry-After: " + std::to_string(retry_after_seconds) + "\r\n");
  return response;
}

std::string BuildGatewayErrorResponse(int status, int code, const std::string& message,
                                      bool keep_alive) {
  const nlohmann::json json = {{"error", message}, {"message", message}, {"code", code}};
  const std::string body =
      json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  out += "Content-Type: application/json\r\n";
  if (status == 401) out += "WWW-Authenticate: Basic realm=\"etcd\"\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace tlsproxy::proxy
