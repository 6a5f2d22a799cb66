#include "proxy/error_response.h"

#include <cassert>
#include <cstring>

#include <nlohmann/json.hpp>

namespace tlsproxy::proxy {
namespace {

// etcd's own v2 bodies, byte for byte (the keys handler ends them with "\n").
constexpr char kRequiresAuthentication[] = "The request requires user authentication";
constexpr char kInsufficientCredentials[] =
    "{\"errorCode\":110,\"message\":\"The request requires user authentication\","
    "\"cause\":\"Insufficient credentials\",\"index\":0}\n";
constexpr char kReadOnlyMessage[] = "This cluster is in read-only mode";
constexpr char kReadOnlyBody[] =
    "{\"errorCode\":107,\"message\":\"This cluster is in read-only mode\","
    "\"cause\":\"Cluster configured to be read-only\",\"index\":0}\n";

constexpr int kEtcdUnauthorized = 110;
constexpr int kEtcdRootReadOnly = 107;

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

std::optional<ProxyError> RefusalFor(acl::Verdict verdict) {
  switch (verdict) {
    case acl::Verdict::kAllow:
      return std::nullopt;
    case acl::Verdict::kNeedCredentials:
      return ProxyError::kNeedCredentials;
    case acl::Verdict::kForbidden:
      return ProxyError::kForbidden;
    case acl::Verdict::kReadOnly:
      return ProxyError::kReadOnly;
  }
  return ProxyError::kForbidden;  // not a Verdict: fail closed
}

LocalResponse ErrorResponse(ProxyError error, const char* message) {
  LocalResponse response;
  response.status = StatusOf(error);
  switch (error) {
    case ProxyError::kNeedCredentials:
      response.code = kEtcdUnauthorized;
      response.message = kRequiresAuthentication;
      response.headers = {{"WWW-Authenticate", "Basic realm=\"etcd\""}, {"X-Etcd-Index", "0"}};
      response.body = kInsufficientCredentials;
      break;
    case ProxyError::kForbidden:
      response.code = kEtcdUnauthorized;
      response.message = kRequiresAuthentication;
      response.headers = {{"X-Etcd-Index", "0"}};
      response.body = kInsufficientCredentials;
      break;
    case ProxyError::kReadOnly:
      response.code = kEtcdRootReadOnly;
      response.message = kReadOnlyMessage;
      response.headers = {{"X-Etcd-Index", "0"}};
      response.body = kReadOnlyBody;
      break;
    default:
      response.message = message;
      response.body = MessageBody(message);
      break;
  }
  return response;
}

LocalResponse ThrottledResponse(std::size_t retry_after_seconds) {
  LocalResponse response =
      ErrorResponse(ProxyError::kTooManyRequests, "too many failed authentication attempts");
  response.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return response;
}

LocalResponse GatewayErrorResponse(int status, int code, const std::string& message) {
  const nlohmann::json json = {{"error", message}, {"message", message}, {"code", code}};
  LocalResponse response;
  response.status = status;
  response.code = code;
  response.message = message;
  if (status == 401) response.headers = {{"WWW-Authenticate", "Basic realm=\"etcd\""}};
  response.body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return response;
}

}  // namespace tlsproxy::proxy
