#include "proxy/session_tickets.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>

namespace tlsproxy::proxy {
namespace {

using Reference = std::shared_ptr<SessionTickets>;

// OpenSSL calls this when it frees an SSL_CTX: drop that context's reference.
void FreeReference(void* /*parent*/, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Reference*>(pointer);
}

int ExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeReference);
  return index;
}

}  // namespace

void SessionTickets::Install(SSL_CTX* ctx, std::shared_ptr<SessionTickets> tickets) {
  SSL_CTX_set_ex_data(ctx, ExIndex(), new Reference(std::move(tickets)));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &SessionTickets::Callback);
}

int SessionTickets::Callback(SSL* ssl, unsigned char name[16], unsigned char iv[16],
                             EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  auto* reference = static_cast<Reference*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ExIndex()));
  if (reference == nullptr || !*reference) return -1;
  SessionTickets& self = **reference;
  return encrypt ? self.Encrypt(name, iv, cipher, mac) : self.Decrypt(name, iv, cipher, mac);
}

bool SessionTickets::Fresh(Key* key) {
  key->created = std::chrono::steady_clock::now();
  return RAND_bytes(key->name.data(), key->name.size()) == 1 &&
         RAND_bytes(key->aes.data(), key->aes.size()) == 1 &&
         RAND_bytes(key->hmac.data(), key->hmac.size()) == 1;
}

void SessionTickets::RotateIfDue() {
  const auto now = std::chrono::steady_clock::now();
  if (have_current_ && now - current_.created < kRotation) return;
  Key next;
  if (!Fresh(&next)) return;  // keep what we have rather than fail handshakes
  if (have_current_) {
    previous_ = current_;
    have_previous_ = true;
  }
  current_ = next;
  have_current_ = true;
}

bool SessionTickets::SetMac(EVP_MAC_CTX* mac, const Key& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac.data()), key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

int SessionTickets::Encrypt(unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher,
                            EVP_MAC_CTX* mac) {
  std::lock_guard<std::mutex> lock(mutex_);
  RotateIfDue();
  if (!have_current_ || RAND_bytes(iv, 16) != 1) return -1;
  std::memcpy(name, current_.name.data(), 16);
  if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, current_.aes.data(), iv) != 1 ||
      !SetMac(mac, current_)) {
    return -1;
  }
  return 1;
}

int SessionTickets::Decrypt(const unsigned char name[16], const unsigned char iv[16],
                            EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac) {
  std::lock_guard<std::mutex> lock(mutex_);
  RotateIfDue();
  const Key* key = nullptr;
  if (have_current_ && std::memcmp(name, current_.name.data(), 16) == 0) {
    key = &current_;
  } else if (have_previous_ && std::memcmp(name, previous_.name.data(), 16) == 0) {
    key = &previous_;
  }
  if (key == nullptr) return 0;  // unknown or expired: full handshake
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1 ||
      !SetMac(mac, *key)) {
    return -1;
  }
  // 2: valid, and issue a fresh ticket. OpenSSL sends a new ticket after a
  // TLS 1.3 resumption only when asked, and its clients use a TLS 1.3 ticket
  // once: answering 1 made every other reconnect a full handshake.
  return 2;
}

}  // namespace tlsproxy::proxy
