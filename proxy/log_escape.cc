#include "proxy/log_escape.h"

#include <algorithm>

namespace tlsproxy::proxy {
namespace {

bool IsKept(char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; }

}  // namespace

bool NeedsLogEscape(std::string_view bytes) {
  return !std::all_of(bytes.begin(), bytes.end(), IsKept);
}

std::string EscapeForLog(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    if (IsKept(c)) {
      out += c;
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

}  // namespace tlsproxy::proxy
