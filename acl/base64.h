// Base64 decoding (RFC 4648) for the two places the proxy reads it, each
// with the strictness of the peer it must agree with:
// - DecodeBase64Strict: the credentials of `Authorization: Basic` (RFC 7617).
//   Only the standard alphabet, padded to a multiple of 4 characters.
// - DecodeBase64Lenient: bytes fields of the v3 JSON gateway, as protobuf's
//   JSON mapping (jsonpb, Go) reads them: the standard or the URL-safe
//   alphabet (not mixed in one value), with or without '=' padding.
// Both refuse (nullopt) whitespace, characters outside the alphabet, '='
// anywhere but the last one or two places, and impossible lengths; both
// accept non-zero bits in the last character ("QR==" is "A"), as Go's
// decoder and EVP_DecodeBlock do. The empty text is the empty string.
//
// Pure; the decoding itself is OpenSSL's EVP_DecodeBlock, these functions
// only choose what reaches it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsproxy::acl {

std::optional<std::string> DecodeBase64Strict(std::string_view text);
std::optional<std::string> DecodeBase64Lenient(std::string_view text);

}  // namespace tlsproxy::acl
