#include "config/nginx_syntax.h"

#include <cstdio>
#include <utility>

namespace tlsproxy::config {
namespace {

enum class TokenKind { kWord, kOpen, kClose, kSemicolon, kEnd, kError };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // the word, or the error message
  int line = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsSpecial(char c) { return c == '{' || c == '}' || c == ';'; }

// nginx's escapes, in quoted and bare words alike: \" \' \\ stand for the
// character, \t \r \n for the control character; any other backslash is kept.
std::string Unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 == raw.size()) {
      out += raw[i];
      continue;
    }
    const char next = raw[i + 1];
    if (next == '"' || next == '\'' || next == '\\') {
      out += next;
    } else if (next == 't' || next == 'r' || next == 'n') {
      out += next == 't' ? '\t' : next == 'r' ? '\r' : '\n';
    } else {
      out += '\\';
      continue;
    }
    ++i;
  }
  return out;
}

// Splits nginx text into words, braces and semicolons, skipping comments.
// Holds a view of the text: the text must outlive it.
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  Token Next() {
    SkipSpaceAndComments();
    if (pos_ == text_.size()) return {TokenKind::kEnd, "", line_};
    const char c = text_[pos_];
    if (IsSpecial(c)) {
      ++pos_;
      return {c == '{'   ? TokenKind::kOpen
              : c == '}' ? TokenKind::kClose
                         : TokenKind::kSemicolon,
              std::string(1, c), line_};
    }
    if (c == '"' || c == '\'') return Quoted(c);
    return Bare();
  }

 private:
  void Advance() {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      if (IsSpace(text_[pos_])) {
        Advance();
      } else if (text_[pos_] == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  Token Quoted(char quote) {
    const int start_line = line_;
    const std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) Advance();
      Advance();
    }
    if (pos_ == text_.size()) {
      return {TokenKind::kError, "unterminated quoted string", start_line};
    }
    const std::string_view raw = text_.substr(start, pos_ - start);
    ++pos_;
    if (pos_ < text_.size() && !IsSpace(text_[pos_]) && !IsSpecial(text_[pos_])) {
      return {TokenKind::kError, "unexpected character after a quoted string", line_};
    }
    return {TokenKind::kWord, Unescape(raw), start_line};
  }

  // A bare word ends at whitespace or { } ; except inside "${name}".
  Token Bare() {
    const int start_line = line_;
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_])) {
      const char c = text_[pos_];
      if (c == '\\' && pos_ + 1 < text_.size()) {
        Advance();
      } else if (c == '$' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '{') {
        while (pos_ < text_.size() && text_[pos_] != '}') Advance();
        if (pos_ == text_.size()) return {TokenKind::kError, "unterminated ${...}", start_line};
      } else if (IsSpecial(c)) {
        break;
      }
      Advance();
    }
    return {TokenKind::kWord, Unescape(text_.substr(start, pos_ - start)), start_line};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// Builds the directive tree from the tokens; stops at the first error.
class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(text) {}

  NginxParseResult Run() {
    NginxParseResult result;
    if (!ParseBlock(0, 0, &result.directives)) {
      result.directives.clear();
      result.error = std::move(error_);
      result.error_line = error_line_;
    }
    return result;
  }

 private:
  bool Fail(int line, std::string message) {
    error_ = std::move(message);
    error_line_ = line;
    return false;
  }

  // Reads directives until the '}' closing a block opened on `open_line`
  // (0: the top level, which ends at the end of the text).
  bool ParseBlock(int depth, int open_line, std::vector<NginxDirective>* out) {
    NginxDirective current;
    for (;;) {
      Token token = tokens_.Next();
      switch (token.kind) {
        case TokenKind::kError:
          return Fail(token.line, token.text);
        case TokenKind::kWord:
          if (current.name.empty()) {
            if (token.text.empty()) return Fail(token.line, "empty directive name");
            current.name = std::move(token.text);
            current.line = token.line;
          } else {
            current.args.push_back(std::move(token.text));
          }
          break;
        case TokenKind::kSemicolon:
          if (current.name.empty()) return Fail(token.line, "unexpected ';'");
          out->push_back(std::exchange(current, NginxDirective{}));
          break;
        case TokenKind::kOpen:
          if (current.name.empty()) return Fail(token.line, "unexpected '{'");
          if (depth + 1 > kMaxNginxDepth) return Fail(token.line, "blocks nested too deeply");
          current.has_block = true;
          if (!ParseBlock(depth + 1, current.line, &current.children)) return false;
          out->push_back(std::exchange(current, NginxDirective{}));
          break;
        case TokenKind::kClose:
        case TokenKind::kEnd:
          return Close(token, open_line, current);
      }
    }
  }

  // At a '}' or the end of the text: right only with no directive pending
  // and the right kind of block open.
  bool Close(const Token& token, int open_line, const NginxDirective& pending) {
    if (!pending.name.empty()) {
      return Fail(pending.line,
                  "directive \"" + EscapeNginxText(pending.name) + "\" is not terminated by ';'");
    }
    const bool at_end = token.kind == TokenKind::kEnd;
    if (open_line == 0 && !at_end) return Fail(token.line, "unexpected '}'");
    if (open_line != 0 && at_end) {
      return Fail(token.line, "unexpected end of file: the block opened on line " +
                                  std::to_string(open_line) + " is not closed");
    }
    return true;
  }

  Tokenizer tokens_;
  std::string error_;
  int error_line_ = 0;
};

}  // namespace

NginxParseResult ParseNginx(std::string_view text) { return Parser(text).Run(); }

std::string EscapeNginxText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace tlsproxy::config
