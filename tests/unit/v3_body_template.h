// Test helpers shared by the v3 gateway unit tests: keys written with %XX for
// a byte in hex (decoded by libevent's evhttp_uridecode), and JSON body
// templates where <<text>> stands for the base64 (OpenSSL) of text.
#pragma once

#include <event2/http.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace tlsproxy::acl::v3test {

inline std::string PercentDecode(std::string_view text) {
  size_t length = 0;
  char* decoded = evhttp_uridecode(std::string(text).c_str(), 0, &length);
  std::string out(decoded, length);
  std::free(decoded);
  return out;
}

inline std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

// Expands every <<text>> of a body template.
inline std::string Body(std::string_view templ) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = templ.find("<<", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = templ.find(">>", open);
    out += templ.substr(pos, open - pos);
    out += Base64(PercentDecode(templ.substr(open + 2, close - open - 2)));
    pos = close + 2;
  }
  out += templ.substr(pos);
  return out;
}

}  // namespace tlsproxy::acl::v3test
