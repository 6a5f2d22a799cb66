#include "proxy/http_message.h"

#include <http_parser.h>

#include <algorithm>
#include <array>

namespace tlsproxy::proxy {
namespace {

// Hop-by-hop headers, and headers the proxy computes itself for the next hop.
constexpr std::array<std::string_view, 12> kHopByHop = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "content-length",
    "expect",
    "http2-settings",
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), LowerAscii);
  return out;
}

// The characters of an RFC 9110 token, as a lookup table.
constexpr std::array<bool, 256> MakeTokenTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kTokenChars = MakeTokenTable();

}  // namespace

bool IsTokenText(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return kTokenChars[static_cast<unsigned char>(c)]; });
}

std::vector<std::string_view> RequestHead::All(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) values.emplace_back(v);
  }
  return values;
}

std::optional<std::string_view> RequestHead::First(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

size_t HeaderCollector::Field(HeaderList& headers, const char* at, size_t length) {
  if (value_last_ || headers.empty()) {
    headers.emplace_back(std::string(at, length), std::string());
    value_last_ = false;
    return length + 4;  // ": " and CRLF
  }
  headers.back().first.append(at, length);
  return length;
}

bool HeaderCollector::Value(HeaderList& headers, const char* at, size_t length) {
  if (headers.empty()) return false;
  headers.back().second.append(at, length);
  value_last_ = true;
  return true;
}

std::optional<const char*> CheckRequestFraming(const RequestHead& head) {
  if (head.http_major != 1 || head.http_minor > 1) return "unsupported HTTP version";
  const auto lengths = head.All("content-length");
  const auto encodings = head.All("transfer-encoding");
  if (lengths.size() > 1) return "several Content-Length headers";
  if (!encodings.empty() && !lengths.empty()) {
    return "both Content-Length and Transfer-Encoding";
  }
  if (encodings.size() > 1) return "several Transfer-Encoding headers";
  if (encodings.size() == 1 && !EqualsIgnoreCase(Trim(encodings[0]), "chunked")) {
    return "Transfer-Encoding other than chunked";
  }
  if (!encodings.empty() && head.http_minor == 0) return "Transfer-Encoding in HTTP/1.0";
  if (!head.All("upgrade").empty()) return "protocol upgrades are not supported";
  if (head.method == "CONNECT") return "CONNECT is not supported";
  return std::nullopt;
}

std::vector<std::string> ConnectionTokens(const HeaderList& headers) {
  std::vector<std::string> tokens;
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view token = Trim(rest.substr(0, comma));
      if (!token.empty()) tokens.push_back(Lower(token));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return tokens;
}

bool IsHopByHop(std::string_view name, const std::vector<std::string>& connection_tokens) {
  const auto same = [name](std::string_view other) { return EqualsIgnoreCase(name, other); };
  return std::any_of(kHopByHop.begin(), kHopByHop.end(), same) ||
         std::any_of(connection_tokens.begin(), connection_tokens.end(), same);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

const char* ReasonPhrase(int status) {
  // http_status has no fixed underlying type: only 0..511 convert to it.
  const int known = status >= 0 && status <= 511 ? status : 0;
  return http_status_str(static_cast<http_status>(known));
}

}  // namespace tlsproxy::proxy
