#include "proxy/local_response.h"

namespace tlsproxy::proxy {

std::string RenderHttp1(const LocalResponse& response, bool keep_alive, bool is_head) {
  std::string out;
  out.reserve(256 + response.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  out.append(ReasonPhrase(response.status)).append("\r\n");
  AppendHeader(out, "Content-Type", "application/json");
  for (const auto& [name, value] : response.headers) AppendHeader(out, name, value);
  AppendHeader(out, "Content-Length", std::to_string(response.body.size()));
  if (!keep_alive) AppendHeader(out, "Connection", "close");
  out.append("\r\n");
  if (!is_head) out.append(response.body);
  return out;
}

}  // namespace tlsproxy::proxy
