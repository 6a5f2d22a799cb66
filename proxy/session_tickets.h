// TLS session-ticket keys that rotate: a client holding a ticket resumes its
// session without a full handshake (one round trip, no signature), and a
// stolen key only opens tickets from its own short period.
//
// A new key is made every `kRotation`; the previous one still decrypts,
// older ones are forgotten. Every resumption gets a fresh ticket under the
// current key (TLS 1.3 tickets are single-use for OpenSSL clients). Keys live
// only in memory and are shared by every worker through the SSL_CTX they are
// installed on. Thread-safe.
//
// Lifetime: one SessionTickets serves every SSL_CTX the process builds while
// client verification stays the same (see TlsContext::Create), so a reload
// keeps every client's ticket valid. Each SSL_CTX it is installed on holds a
// reference, released only when OpenSSL frees that SSL_CTX (after its last
// connection), so the keys always outlive the contexts that use them.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>

namespace tlsproxy::proxy {

class SessionTickets {
 public:
  static constexpr std::chrono::hours kRotation{1};

  // Installs the ticket callback on `ctx`, which keeps `tickets` alive
  // until OpenSSL frees it.
  static void Install(SSL_CTX* ctx, std::shared_ptr<SessionTickets> tickets);

 private:
  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
    std::chrono::steady_clock::time_point created{};
  };

  static int Callback(SSL* ssl, unsigned char name[16], unsigned char iv[16],
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);
  int Encrypt(unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac);
  int Decrypt(const unsigned char name[16], const unsigned char iv[16], EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac);
  void RotateIfDue();  // caller holds mutex_
  static bool Fresh(Key* key);
  static bool SetMac(EVP_MAC_CTX* mac, const Key& key);

  std::mutex mutex_;
  Key current_;
  Key previous_;
  bool have_current_ = false;
  bool have_previous_ = false;
};

}  // namespace tlsproxy::proxy
