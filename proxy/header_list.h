// An HTTP/2 header list as the proxy keeps one (name, value pairs, in
// order), and the view nghttp2 takes of it.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <utility>
#include <vector>

namespace tlsproxy::proxy {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// nghttp2's name/value records pointing into `headers`, which must outlive
// them (nghttp2 copies them when a frame is submitted).
inline std::vector<nghttp2_nv> NameValues(const HeaderList& headers) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    nva.push_back(nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                             const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                             name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

}  // namespace tlsproxy::proxy
