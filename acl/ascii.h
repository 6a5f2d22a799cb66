// ASCII character helpers shared by every layer that reads protocol text
// (header names, schemes, percent escapes, user names): case folding and
// comparison of ASCII letters only, and the control-byte check.
//
// Guarantees: pure, locale-independent (the C locale's tolower() is a call
// per character and folds Latin-1 bytes in some locales), and bytes >= 0x80
// are never folded. Header-only and inline: the proxy's hop-by-hop check
// calls EqualsIgnoreCase a dozen times per header on the hot path.
#pragma once

#include <cstddef>
#include <string_view>

namespace tlsproxy::acl {

// 'A'..'Z' -> 'a'..'z'; every other byte unchanged.
inline char LowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal when the bytes are equal after LowerAscii; different lengths are
// never equal (checked first: that is the common answer).
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// The C0 controls (0x00-0x1f, NUL included) and DEL (0x7f). Not space, not
// bytes >= 0x80.
inline bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

}  // namespace tlsproxy::acl
