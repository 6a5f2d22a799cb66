// TlsContext::CertificateIdentity: which name `tls.identity` reads from a
// client certificate (CN, URI SAN, DNS SAN), certificates made in memory.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/tls_context.h"

namespace tlsproxy::proxy {
namespace {

using config::IdentitySource;

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// A self-signed certificate with these CNs and this subjectAltName text
// ("URI:...,DNS:..."; empty for none).
X509Ptr Certificate(const std::vector<std::string>& cns, const std::string& sans) {
  static EVP_PKEY* key = EVP_EC_gen("P-256");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const std::string& cn : cns) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), name);
  if (!sans.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
    EXPECT_NE(ext, nullptr) << sans;
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key, EVP_sha256());
  return cert;
}

config::TlsSettings Reading(std::vector<IdentitySource> sources, std::string prefix = "") {
  config::TlsSettings tls;
  tls.identity = std::move(sources);
  tls.identity_prefix = std::move(prefix);
  return tls;
}

std::optional<std::string> Identity(const X509Ptr& cert, const config::TlsSettings& tls) {
  return TlsContext::CertificateIdentity(cert.get(), tls);
}

TEST(CertificateIdentityTest, CnByDefault) {
  const config::TlsSettings defaults;
  EXPECT_EQ(Identity(Certificate({"conftool"}, "DNS:conftool.example.org"), defaults), "conftool");
  EXPECT_EQ(Identity(Certificate({"a", "b"}, ""), defaults), std::nullopt);  // ambiguous
  EXPECT_EQ(Identity(Certificate({}, "DNS:x.example.org"), defaults), std::nullopt);
}

TEST(CertificateIdentityTest, UriSanWithPrefixStripped) {
  const auto tls = Reading({IdentitySource::kUriSan}, "spiffe://example.org/sa/");
  EXPECT_EQ(Identity(Certificate({"cn"}, "URI:spiffe://example.org/sa/conftool"), tls), "conftool");
  // Outside the prefix, or no URI SAN at all (no fall-back to the CN).
  EXPECT_EQ(Identity(Certificate({"cn"}, "URI:spiffe://other.org/sa/conftool"), tls), std::nullopt);
  EXPECT_EQ(Identity(Certificate({"cn"}, "DNS:conftool"), tls), std::nullopt);
  // Several URI SANs: no identity.
  EXPECT_EQ(
      Identity(Certificate({"cn"}, "URI:spiffe://example.org/sa/a,URI:spiffe://example.org/sa/b"),
               tls),
      std::nullopt);
  // The prefix alone leaves nothing: no identity.
  EXPECT_EQ(Identity(Certificate({"cn"}, "URI:spiffe://example.org/sa/"), tls), std::nullopt);
}

TEST(CertificateIdentityTest, ListFirstKindPresentWins) {
  const auto tls = Reading({IdentitySource::kDnsSan, IdentitySource::kCn});
  EXPECT_EQ(Identity(Certificate({"cn-name"}, "DNS:svc.example.org"), tls), "svc.example.org");
  EXPECT_EQ(Identity(Certificate({"cn-name"}, "URI:https://x"), tls), "cn-name");
  // Several DNS SANs: no identity, and the CN is not tried.
  EXPECT_EQ(Identity(Certificate({"cn-name"}, "DNS:a.example.org,DNS:b.example.org"), tls),
            std::nullopt);
}

}  // namespace
}  // namespace tlsproxy::proxy
