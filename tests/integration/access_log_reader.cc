#include "tests/integration/access_log_reader.h"

#include <algorithm>
#include <thread>

namespace tlsproxy::integration {
namespace {

// The fields every access line has, each exactly once.
const std::vector<std::string> kFieldNames = {"client", "identity", "method", "path",
                                              "status", "bytes",    "ms",     "rule"};
// The fields some lines add: gRPC lines grpc_status and key, lines of
// requests shadow mode forwarded shadow_denied.
const std::vector<std::string> kOptionalFieldNames = {"grpc_status", "key", "shadow_denied"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads one value at the front of `text`: either "..." where the only
// escape is \xHH and no raw '"' or '\' occurs, or a bare token of printable
// ASCII without '"', '\' or space. Consumes it; nullopt when malformed.
std::optional<std::string> ReadValue(std::string_view& text) {
  std::string value;
  if (text.empty() || text.front() != '"') {
    const size_t end = std::min(text.find(' '), text.size());
    for (char c : text.substr(0, end)) {
      if (c == '"' || c == '\\' || c < 0x21 || c > 0x7e) return std::nullopt;
      value += c;
    }
    text.remove_prefix(end);
    return value;
  }
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      text.remove_prefix(i + 1);
      return value;
    }
    if (c == '\\') {
      if (i + 3 >= text.size() || text[i + 1] != 'x') return std::nullopt;
      const int high = HexValue(text[i + 2]), low = HexValue(text[i + 3]);
      if (high < 0 || low < 0) return std::nullopt;
      value += static_cast<char>(high * 16 + low);
      i += 3;
      continue;
    }
    if (c < 0x20 || c > 0x7e) return std::nullopt;
    value += c;
  }
  return std::nullopt;  // no closing quote
}

}  // namespace

std::optional<std::string_view> AccessPart(std::string_view line) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(space + 1);
  if (!rest.starts_with("access ")) return std::nullopt;
  return rest.substr(7);
}

std::optional<AccessFields> ParseAccessFields(std::string_view text, std::string* error) {
  AccessFields fields;
  while (!text.empty()) {
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) {
      *error = "no '=' in: " + std::string(text);
      return std::nullopt;
    }
    const std::string name(text.substr(0, equals));
    text.remove_prefix(equals + 1);
    const std::optional<std::string> value = ReadValue(text);
    if (!value) {
      *error = "malformed value of " + name;
      return std::nullopt;
    }
    if (!fields.emplace(name, *value).second) {
      *error = "field " + name + " twice";
      return std::nullopt;
    }
    if (!text.empty()) {
      if (text.front() != ' ') {
        *error = "no space after " + name;
        return std::nullopt;
      }
      text.remove_prefix(1);
    }
  }
  for (const std::string& name : kFieldNames) {
    if (fields.count(name) == 0) {
      *error = "no field " + name;
      return std::nullopt;
    }
  }
  size_t optional = 0;
  for (const std::string& name : kOptionalFieldNames) optional += fields.count(name);
  if (fields.size() != kFieldNames.size() + optional) {
    *error = "unknown fields";
    return std::nullopt;
  }
  return fields;
}

std::vector<std::string> NewAccessLines(const ProxyProcess& proxy, size_t offset) {
  const std::string text = proxy.Logs().substr(offset);
  std::vector<std::string> access;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    for (char c : line) {
      if (c < 0x20 || c > 0x7e) {
        ADD_FAILURE() << "byte " << static_cast<int>(static_cast<unsigned char>(c))
                      << " in log line: " << line;
        break;
      }
    }
    if (AccessPart(line)) access.push_back(line);
  }
  return access;
}

std::optional<AccessFields> AccessLineFor(const ProxyProcess& proxy, const HttpsRequest& request,
                                          long expected_status) {
  const size_t offset = proxy.Logs().size();
  const HttpResponse response = Https(proxy.port(), request);
  EXPECT_EQ(response.status, expected_status)
      << request.path << ": " << response.body << response.error;
  // The line is written just after the response: wait for it (bounded).
  std::vector<std::string> lines;
  for (int i = 0; i < 100 && lines.empty(); ++i) {
    if (i > 0) std::this_thread::sleep_for(50ms);
    lines = NewAccessLines(proxy, offset);
  }
  if (lines.size() != 1) {
    ADD_FAILURE() << request.path << ": " << lines.size() << " access lines, not 1:\n"
                  << proxy.Logs().substr(offset);
    return std::nullopt;
  }
  std::string error;
  std::optional<AccessFields> fields = ParseAccessFields(*AccessPart(lines[0]), &error);
  if (!fields) ADD_FAILURE() << error << " in: " << lines[0];
  return fields;
}

std::optional<AccessFields> AccessLineOf(const ProxyProcess& proxy, size_t offset,
                                         const std::string& method, const std::string& path) {
  std::vector<AccessFields> matches;
  for (int i = 0; i < 100 && matches.empty(); ++i) {
    if (i > 0) std::this_thread::sleep_for(50ms);
    for (const std::string& line : NewAccessLines(proxy, offset)) {
      std::string error;
      std::optional<AccessFields> fields = ParseAccessFields(*AccessPart(line), &error);
      if (!fields) {
        ADD_FAILURE() << error << " in: " << line;
        return std::nullopt;
      }
      if (fields->at("method") == method && fields->at("path") == path) {
        matches.push_back(std::move(*fields));
      }
    }
  }
  if (matches.size() != 1) {
    ADD_FAILURE() << method << " " << path << ": " << matches.size() << " access lines, not 1:\n"
                  << proxy.Logs().substr(offset);
    return std::nullopt;
  }
  return matches.front();
}

}  // namespace tlsproxy::integration
