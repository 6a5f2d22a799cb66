#include "proxy/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <fstream>
#include <iterator>

namespace tlsproxy::proxy {
namespace {

// The most recent OpenSSL error as text, and clears the queue.
std::string OpenSslError() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(last, buffer, sizeof buffer);
  return buffer;
}

config::ConfigError Error(const char* key, int line, const std::string& what) {
  return config::ConfigError{key, line, what + ": " + OpenSslError()};
}

// ALPN: the proxy's own preference order decides. HTTP/1.1 comes first, so a
// client that speaks both (curl, browsers, python-etcd's urllib3 when it
// offers ALPN at all) keeps the HTTP/1.1 path it always had; gRPC clients
// offer only "h2" and get HTTP/2. A client offering neither (or no ALPN)
// gets HTTP/1.1 too: the handshake never fails over ALPN.
int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
               const unsigned char* offered, unsigned int offered_length, void* /*arg*/) {
  static const unsigned char kPreference[] = "\x08http/1.1\x02h2";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kPreference, sizeof kPreference - 1, offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Context-wide choices: TLS 1.2+ (1.3 preferred: OpenSSL negotiates the
// highest both sides speak), server cipher preference, no renegotiation,
// buffers released while a connection is idle, a server-side session cache
// for TLS 1.2 clients and rotating ticket keys (SessionTickets) for all.
SslCtxPtr NewBaseContext() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return ctx;
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_timeout(ctx.get(), 3600);
  static const unsigned char kSessionId[] = "etcd-tlsproxy";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionId, sizeof kSessionId - 1);
  SSL_CTX_set_alpn_select_cb(ctx.get(), &SelectAlpn, nullptr);
  return ctx;
}

void LoadServerIdentity(SSL_CTX* ctx, const config::TlsSettings& tls,
                        std::vector<config::ConfigError>& errors) {
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    errors.push_back(Error("tls.cert", tls.cert_line, "cannot load certificate chain"));
    return;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    errors.push_back(Error("tls.key", tls.key_line, "cannot load private key"));
    return;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    errors.push_back(Error("tls.key", tls.key_line, "private key does not match tls.cert"));
  }
}

// With require_client_cert false, a certificate that does not verify must
// not end the handshake: the client continues with no certificate identity
// (VerifiedClientName() reads the verify result OpenSSL still records).
int ContinueUnverified(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) { return 1; }

void LoadClientVerification(SSL_CTX* ctx, const config::TlsSettings& tls,
                            std::vector<config::ConfigError>& errors) {
  if (tls.client_ca_file.empty()) return;
  if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
    errors.push_back(Error("tls.client_ca", tls.client_ca_line, "cannot load CA bundle"));
    return;
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
  if (names == nullptr) {
    errors.push_back(Error("tls.client_ca", tls.client_ca_line, "no certificate in CA bundle"));
    return;
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  if (tls.require_client_cert) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &ContinueUnverified);
  }
  SSL_CTX_set_verify_depth(ctx, 8);
  if (tls.crl_file.empty()) return;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  if (lookup == nullptr ||
      X509_load_crl_file(lookup, tls.crl_file.c_str(), X509_FILETYPE_PEM) <= 0) {
    errors.push_back(Error("tls.crl", tls.crl_line, "cannot load CRL"));
    return;
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

// A digest of everything a client certificate's verification depends on:
// the CA and CRL files' contents and whether a certificate is required.
std::string VerificationDigest(const config::TlsSettings& tls) {
  std::string material = tls.require_client_cert ? "required\n" : "optional\n";
  for (const std::string* path : {&tls.client_ca_file, &tls.crl_file}) {
    std::ifstream file(*path, std::ios::binary);
    material += std::to_string(path->size()) + ":" + *path + "\n";
    material.append(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    material += "\n";
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(material.data(), material.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return material;  // still a faithful key, only longer
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

int ProtocolVersion(config::TlsProtocol protocol) {
  switch (protocol) {
    case config::TlsProtocol::kTls12:
      return TLS1_2_VERSION;
    case config::TlsProtocol::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_3_VERSION;
}

std::string JoinGroups(const std::vector<std::string>& groups) {
  std::string joined;
  for (const std::string& group : groups) joined += (joined.empty() ? "" : ":") + group;
  return joined;
}

// The first of `groups` OpenSSL does not know, or "" when each alone is
// accepted. Probes a scratch context so `ctx` keeps its settings.
std::string FirstUnknownGroup(const std::vector<std::string>& groups) {
  SslCtxPtr scratch(SSL_CTX_new(TLS_server_method()));
  for (const std::string& group : groups) {
    if (scratch && SSL_CTX_set1_groups_list(scratch.get(), group.c_str()) != 1) {
      ERR_clear_error();
      return group;
    }
  }
  return "";
}

// With TLS 1.2 enabled, at least one of its suites must be usable with the
// server key, or every TLS 1.2 handshake fails (e.g. only ECDHE-RSA suites
// with an EC key). OpenSSL accepts such a cipher string; we do not.
bool HasTls12SuiteForKey(SSL_CTX* ctx) {
  EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx);
  if (key == nullptr) return true;  // no key loaded: already reported
  const bool rsa = EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS");
  const int wanted = rsa ? NID_auth_rsa : NID_auth_ecdsa;  // EC and EdDSA keys sign ECDSA suites
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any) continue;  // a TLS 1.3 suite
    if (SSL_CIPHER_get_auth_nid(cipher) == wanted) return true;
  }
  return false;
}

void ApplyProtocols(SSL_CTX* ctx, const config::TlsSettings& tls,
                    std::vector<config::ConfigError>& errors) {
  if (SSL_CTX_set_min_proto_version(ctx, ProtocolVersion(tls.min_protocol)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, ProtocolVersion(tls.max_protocol)) != 1) {
    errors.push_back(Error("tls.protocols", tls.protocols_line, "OpenSSL refuses the range"));
  }
}

void ApplyCiphers(SSL_CTX* ctx, const config::TlsSettings& tls,
                  std::vector<config::ConfigError>& errors) {
  if (tls.ciphers.empty()) return;
  if (SSL_CTX_set_cipher_list(ctx, tls.ciphers.c_str()) != 1) {
    errors.push_back(Error("tls.ciphers", tls.ciphers_line,
                           "OpenSSL selects no TLS 1.2 cipher from '" + tls.ciphers +
                               "' (TLS 1.3 suites are not set here)"));
  } else if (tls.min_protocol == config::TlsProtocol::kTls12 && !HasTls12SuiteForKey(ctx)) {
    errors.push_back(config::ConfigError{
        "tls.ciphers", tls.ciphers_line,
        "'" + tls.ciphers + "' has no TLS 1.2 cipher usable with the key in tls.key"});
  }
}

void ApplyGroups(SSL_CTX* ctx, const config::TlsSettings& tls,
                 std::vector<config::ConfigError>& errors) {
  if (tls.groups.empty() || SSL_CTX_set1_groups_list(ctx, JoinGroups(tls.groups).c_str()) == 1) {
    return;
  }
  ERR_clear_error();
  const std::string unknown = FirstUnknownGroup(tls.groups);
  errors.push_back(config::ConfigError{
      "tls.groups", tls.groups_line,
      unknown.empty() ? "OpenSSL refuses the group list '" + JoinGroups(tls.groups) + "'"
                      : "OpenSSL does not know the group '" + unknown + "'"});
}

// tls.protocols, tls.ciphers and tls.groups as OpenSSL takes them (config/
// has checked their shape); each refusal names the key and its line. Call
// after the server key is loaded.
void ApplyProtocolSettings(SSL_CTX* ctx, const config::TlsSettings& tls,
                           std::vector<config::ConfigError>& errors) {
  ApplyProtocols(ctx, tls, errors);
  ApplyCiphers(ctx, tls, errors);
  ApplyGroups(ctx, tls, errors);
}

}  // namespace

TlsContext::Result TlsContext::Create(const config::TlsSettings& settings,
                                      const TlsContext* previous) {
  Result result;
  SslCtxPtr ctx = NewBaseContext();
  if (!ctx) {
    result.errors.push_back(Error("tls", 0, "cannot create TLS context"));
    return result;
  }
  LoadServerIdentity(ctx.get(), settings, result.errors);
  LoadClientVerification(ctx.get(), settings, result.errors);
  ApplyProtocolSettings(ctx.get(), settings, result.errors);
  if (!result.errors.empty()) return result;
  std::shared_ptr<TlsContext> context(new TlsContext(std::move(ctx), VerificationDigest(settings)));
  if (previous != nullptr && previous->verification_ == context->verification_) {
    context->tickets_ = previous->tickets_;
    context->sessions_ = previous->sessions_;
  } else {
    context->tickets_ = std::make_shared<SessionTickets>();
    context->sessions_ = std::make_shared<SessionCache>();
  }
  SessionTickets::Install(context->ctx_.get(), context->tickets_);
  SessionCache::Install(context->ctx_.get(), context->sessions_);
  result.context = std::move(context);
  return result;
}

SSL* TlsContext::NewSsl() const { return SSL_new(ctx_.get()); }

bool TlsContext::NegotiatedHttp2(SSL* ssl) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &length);
  return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

std::time_t TlsContext::NotAfter() const {
  X509* leaf = SSL_CTX_get0_certificate(ctx_.get());
  std::tm expiry{};
  if (leaf == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &expiry) != 1) return 0;
  return timegm(&expiry);
}

std::optional<std::string> TlsContext::VerifiedClientName(SSL* ssl,
                                                          const config::TlsSettings& tls) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  return CertificateIdentity(leaf, tls);
}

namespace {

std::optional<std::string> Utf8(const ASN1_STRING* data) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

// Every name of one kind in `leaf` (an unreadable one counts, as "").
std::vector<std::string> NamesOf(X509* leaf, config::IdentitySource source) {
  std::vector<std::string> names;
  if (source == config::IdentitySource::kCn) {
    const X509_NAME* subject = X509_get_subject_name(leaf);
    for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
      names.push_back(Utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))).value_or(""));
    }
    return names;
  }
  const int type = source == config::IdentitySource::kUriSan ? GEN_URI : GEN_DNS;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type != type) continue;
    const ASN1_IA5STRING* text =
        type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
    names.push_back(Utf8(text).value_or(""));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

}  // namespace

std::optional<std::string> TlsContext::CertificateIdentity(X509* leaf,
                                                           const config::TlsSettings& tls) {
  for (const config::IdentitySource source : tls.identity) {
    const std::vector<std::string> names = NamesOf(leaf, source);
    if (names.empty()) continue;                 // absent: the next kind
    if (names.size() != 1) return std::nullopt;  // ambiguous: no identity
    std::string name = names.front();
    if (source == config::IdentitySource::kUriSan && !tls.identity_prefix.empty()) {
      if (name.rfind(tls.identity_prefix, 0) != 0) return std::nullopt;
      name.erase(0, tls.identity_prefix.size());
    }
    const bool control = std::any_of(name.begin(), name.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (name.empty() || name.size() > 255 || control) return std::nullopt;
    return name;  // the first kind present decides, listed or not
  }
  return std::nullopt;
}

}  // namespace tlsproxy::proxy
