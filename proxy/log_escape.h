// Makes bytes a client chose safe to write into a log line.
//
// Pure and thread-safe. EscapeForLog() returns printable ASCII only: each
// byte outside 0x20..0x7e, and each '"' and '\', becomes \xHH (two
// upper-case hex digits); every other byte is copied. So the result holds
// no quote, no backslash that does not start \xHH, no control byte (no
// newline) and no byte >= 0x80: written between double quotes it is one
// field that parses back to exactly the original bytes (read each \xHH as
// the byte 0xHH), whatever the client sent - quotes and spaces that would
// forge other fields, a newline that would forge a line, bytes that are not
// UTF-8. (UTF-8 text is escaped byte by byte too: one rule, no decoding.)
//
// LogText wraps a view for spdlog/fmt: `spdlog::warn("... \"{}\"",
// LogText(path_))` writes what EscapeForLog() returns, without a copy when
// nothing needs escaping. The view must outlive the formatting call.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace tlsproxy::proxy {

std::string EscapeForLog(std::string_view bytes);

// True when EscapeForLog(bytes) differs from `bytes`.
bool NeedsLogEscape(std::string_view bytes);

struct LogText {
  explicit LogText(std::string_view text) : bytes(text) {}
  std::string_view bytes;
};

}  // namespace tlsproxy::proxy

template <>
struct fmt::formatter<tlsproxy::proxy::LogText> : fmt::formatter<std::string_view> {
  auto format(const tlsproxy::proxy::LogText& text, fmt::format_context& ctx) const
      -> decltype(ctx.out()) {
    if (!tlsproxy::proxy::NeedsLogEscape(text.bytes)) {
      return fmt::formatter<std::string_view>::format(text.bytes, ctx);
    }
    return fmt::formatter<std::string_view>::format(tlsproxy::proxy::EscapeForLog(text.bytes), ctx);
  }
};
