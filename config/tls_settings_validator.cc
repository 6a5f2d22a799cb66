// config/: the Validator's `tls` section (see validator.h): the
// certificate, key, client CA and CRL files, require_client_cert, the
// protocol versions, ciphers, key-exchange groups, and which certificate
// names give the client's identity.
#include <algorithm>
#include <map>
#include <set>

#include <re2/re2.h>

#include "config/validator.h"

namespace tlsproxy::config::internal {

void Validator::OnTls(const Entry& entry) {
  if (!ExpectMap(entry)) return;
  static const KeyTable kTable{{{"cert", &Validator::OnTlsCert},
                                {"key", &Validator::OnTlsKey},
                                {"client_ca", &Validator::OnTlsClientCa},
                                {"crl", &Validator::OnTlsCrl},
                                {"require_client_cert", &Validator::OnTlsRequireClientCert},
                                {"protocols", &Validator::OnTlsProtocols},
                                {"ciphers", &Validator::OnTlsCiphers},
                                {"groups", &Validator::OnTlsGroups},
                                {"identity", &Validator::OnTlsIdentity},
                                {"identity_prefix", &Validator::OnTlsIdentityPrefix}},
                               {"cert", "key"}};
  Dispatch(entry, kTable);
}

void Validator::OnTlsRequireClientCert(const Entry& entry) {
  require_client_cert_line_ = entry.line;
  Assign(ReadBool(entry), &config_.tls.require_client_cert);
}

std::optional<TlsProtocol> Validator::ReadTlsProtocol(const Entry& element) {
  static const std::vector<std::pair<std::string, TlsProtocol>> kSupported = {
      {"TLSv1.2", TlsProtocol::kTls12}, {"TLSv1.3", TlsProtocol::kTls13}};
  static const std::set<std::string> kRetired = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"};
  const std::optional<std::string> name = ReadString(element);
  if (!name) return std::nullopt;
  for (const auto& [known, protocol] : kSupported) {
    if (*name == known) return protocol;
  }
  if (kRetired.count(*name) != 0) {
    AddError(element.path, element.line,
             *name +
                 " is refused: retired (RFC 7568, RFC 8996) and not negotiated by OpenSSL 3 "
                 "at its default security level (expected TLSv1.2 or TLSv1.3)");
  } else {
    AddError(element.path, element.line,
             "unknown protocol '" + *name + "' (expected TLSv1.2 or TLSv1.3)");
  }
  return std::nullopt;
}

void Validator::OnTlsProtocols(const Entry& entry) {
  if (!ExpectList(entry)) return;
  if (entry.value.size() == 0) {
    AddError(entry.path, entry.line, "needs at least one of TLSv1.2, TLSv1.3");
    return;
  }
  std::set<TlsProtocol> chosen;
  bool valid = true;
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    const Entry element{entry.path + "[" + std::to_string(i) + "]", "", LineOf(item), item};
    const std::optional<TlsProtocol> protocol = ReadTlsProtocol(element);
    if (!protocol) {
      valid = false;
    } else if (!chosen.insert(*protocol).second) {
      AddError(element.path, element.line, item.Scalar() + " is listed twice");
      valid = false;
    }
  }
  // With only two versions supported a gap cannot be written: the chosen
  // set is always the range from its lowest to its highest member.
  if (!valid) return;
  config_.tls.min_protocol = *chosen.begin();
  config_.tls.max_protocol = *chosen.rbegin();
  config_.tls.protocols_line = entry.line;
}

void Validator::OnTlsCiphers(const Entry& entry) {
  const std::optional<std::string> ciphers = ReadString(entry);
  if (!ciphers) return;
  if (ciphers->empty() || HasControlChar(*ciphers)) {
    AddError(entry.path, entry.line,
             "expected an OpenSSL cipher string (e.g. ECDHE+AESGCM:ECDHE+CHACHA20), without "
             "control characters; leave the key out for OpenSSL's default");
    return;
  }
  config_.tls.ciphers = *ciphers;
  config_.tls.ciphers_line = entry.line;
}

void Validator::OnTlsGroups(const Entry& entry) {
  config_.tls.groups_line = entry.line;
  if (entry.value.IsScalar()) {  // "X25519:P-256", as nginx's ssl_ecdh_curve
    const std::string& text = entry.value.Scalar();
    if (text.empty()) {
      AddError(entry.path, entry.line, "needs at least one group (e.g. X25519:P-256)");
      return;
    }
    for (std::size_t start = 0;;) {
      const std::size_t end = text.find(':', start);
      AddTlsGroup(text.substr(start, end - start), entry.path, entry.line);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return;
  }
  if (!ExpectList(entry)) return;
  if (entry.value.size() == 0) {
    AddError(entry.path, entry.line, "needs at least one group (e.g. [X25519, P-256])");
    return;
  }
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    const YAML::Node item = entry.value[i];
    const Entry element{entry.path + "[" + std::to_string(i) + "]", "", LineOf(item), item};
    if (const std::optional<std::string> name = ReadString(element)) {
      AddTlsGroup(*name, element.path, element.line);
    }
  }
}

void Validator::AddTlsGroup(const std::string& name, const std::string& path, int line) {
  static const RE2 kGroupName("[A-Za-z0-9_.-]+");
  if (name.empty()) {
    AddError(path, line, "empty group name (groups are separated by a single ':')");
  } else if (!RE2::FullMatch(name, kGroupName)) {
    AddError(path, line, "'" + name + "' is not a group name (letters, digits, '-', '_', '.')");
  } else if (std::find(config_.tls.groups.begin(), config_.tls.groups.end(), name) !=
             config_.tls.groups.end()) {
    AddError(path, line, "'" + name + "' is listed twice");
  } else {
    config_.tls.groups.push_back(name);
  }
}

// `cn`, `uri_san` or `dns_san`, or an ordered list of them, each once.
void Validator::OnTlsIdentity(const Entry& entry) {
  static const std::map<std::string, IdentitySource> kSources = {
      {"cn", IdentitySource::kCn},
      {"uri_san", IdentitySource::kUriSan},
      {"dns_san", IdentitySource::kDnsSan}};
  std::vector<Entry> items;
  if (entry.value.IsSequence() && entry.value.size() > 0) {
    for (const YAML::Node& item : entry.value) {
      items.push_back(Entry{entry.path, "", LineOf(item), item});
    }
  } else if (entry.value.IsScalar()) {
    items.push_back(entry);
  } else {
    AddError(entry.path, entry.line,
             "expected cn, uri_san or dns_san, or a list of them, got " + Describe(entry.value));
    return;
  }
  std::vector<IdentitySource> sources;
  for (const Entry& item : items) {
    const std::optional<std::string> name = ReadString(item);
    if (!name) return;
    const auto known = kSources.find(*name);
    if (known == kSources.end()) {
      AddError(item.path, item.line, "expected cn, uri_san or dns_san, got '" + *name + "'");
      return;
    }
    if (std::find(sources.begin(), sources.end(), known->second) != sources.end()) {
      AddError(item.path, item.line, "'" + *name + "' is listed twice");
      return;
    }
    sources.push_back(known->second);
  }
  config_.tls.identity = std::move(sources);
  config_.tls.identity_line = entry.line;
}

void Validator::CheckTlsNeedsClientCa() {
  if (config_.tls.require_client_cert && config_.tls.client_ca_file.empty()) {
    AddError("tls.require_client_cert", require_client_cert_line_,
             "requires tls.client_ca (the CA bundle that verifies client certificates)");
  }
  if (!config_.tls.crl_file.empty() && config_.tls.client_ca_file.empty()) {
    AddError("tls.crl", config_.tls.crl_line, "requires tls.client_ca");
  }
}

}  // namespace tlsproxy::config::internal
