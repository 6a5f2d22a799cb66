// config/ turns the YAML file that puppet renders into one validated,
// immutable Config value. Nothing here opens a socket.
//
// Guarantees: a Config returned by LoadConfigFile()/ParseConfig() with no
// errors has every field validated (types, ranges, unknown keys refused,
// files readable, hashes in a supported format, ACL prefixes well formed,
// every user named in an ACL defined in `accounts`, unless tls.client_ca is
// set, in which case a name may also be a client certificate's CN). Every error names the YAML key
// and its line. TLS material is checked for readability here; that the key matches the certificate
// is checked by proxy/tls_context when it builds the SSL_CTX, which reports errors in the same
// ConfigError form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tlsproxy::config {

// One problem found in a config file. `line` is 1-based; 0 when unknown
// (e.g. the file could not be read at all).
struct ConfigError {
  std::string key;  // dotted path, e.g. "tls.cert", "acls./conftool", "listen[1]"
  int line = 0;
  std::string message;
  // "<key> (line <n>): <message>"
  std::string ToString() const;
};

struct HostPort {
  std::string host;  // without brackets: "0.0.0.0", "::", "127.0.0.1", "::1", "localhost"
  uint16_t port = 0;
  std::string text;  // as written, e.g. "[::]:2379"; for `upstream`, the whole URL as written
  int line = 0;      // 0 for a default value
};

// The TLS versions the proxy may speak, oldest first. SSLv3, TLS 1.0 and
// 1.1 are refused: RFC 7568 and RFC 8996 retire them, and OpenSSL 3 does
// not negotiate them at its default security level.
enum class TlsProtocol { kTls12, kTls13 };

// Where a client certificate's identity is read.
enum class IdentitySource { kCn, kUriSan, kDnsSan };

struct TlsSettings {
  std::string cert_file;  // leaf + intermediates, PEM
  int cert_line = 0;
  std::string key_file;  // PEM private key
  int key_line = 0;
  std::string client_ca_file;  // empty: do not ask for client certificates
  int client_ca_line = 0;
  std::string crl_file;  // empty: no CRL
  int crl_line = 0;
  bool require_client_cert = false;
  // `tls.protocols` (nginx's ssl_protocols): the versions offered, as the
  // range [min_protocol, max_protocol]; default TLS 1.2 and 1.3.
  TlsProtocol min_protocol = TlsProtocol::kTls12;
  TlsProtocol max_protocol = TlsProtocol::kTls13;
  int protocols_line = 0;
  // `tls.ciphers` (ssl_ciphers): an OpenSSL cipher string for the TLS 1.2
  // suites; empty: OpenSSL's default. Its shape only is checked here.
  std::string ciphers;
  int ciphers_line = 0;
  // `tls.groups` (ssl_ecdh_curve): key-exchange group names, preferred
  // first; empty: OpenSSL's default. Well-formed names, each once; whether
  // OpenSSL knows them is checked by proxy/tls_context.
  std::vector<std::string> groups;
  int groups_line = 0;
  // `tls.identity`: where a verified client certificate's name is read, in
  // order; the first kind present in the certificate decides (the next is
  // not tried), and several names of that kind give no identity. Default:
  // the subject CN alone, as before.
  std::vector<IdentitySource> identity = {IdentitySource::kCn};
  int identity_line = 0;
  // `tls.identity_prefix`: stripped from a URI SAN before matching (a URI
  // SAN without it gives no identity); empty: the whole URI.
  std::string identity_prefix;
};

// One entry of `acls`: a key prefix under /v2/keys and who may write there.
struct AclRule {
  std::string prefix;  // canonical: starts with '/', no trailing '/' except for "/" itself
  std::vector<std::string> users;  // writers; empty: anyone may write
  int line = 0;
  // Readers, when the rule has its own read list (the long form's `read:`):
  // names, or empty for `read: any`. Unset (the short form, or a long form
  // without `read`): reads follow public_reads and the write list, as the
  // short form always has.
  std::optional<std::vector<std::string>> readers;
};

struct LogSettings {
  std::string level = "info";         // trace|debug|info|warn|error|critical|off
  std::string access_log = "stderr";  // a file path, "stderr" or "off"
};

// Limits on how long each phase may take, in seconds (issue: slowloris,
// idle connections, a hung etcd). Watches have no upstream read timeout.
struct Timeouts {
  std::size_t handshake = 10;          // TLS handshake
  std::size_t request_headers = 60;    // from a request's first byte to its last (head and body)
  std::size_t idle = 3600;             // a kept-alive connection with no request (nginx used 3600)
  std::size_t upstream_connect = 5;    // connecting to etcd: 504 past it
  std::size_t upstream_response = 60;  // etcd's response head, non-watch requests: 504 past it
};

// Failed basic-auth throttling, per client address: after `max_failures`
// failures within `window` seconds, that address gets 429 (with
// Retry-After) for `backoff` seconds. max_failures 0 turns it off.
struct AuthThrottleSettings {
  std::size_t max_failures = 10;
  std::size_t window = 60;
  std::size_t backoff = 60;
};

struct Config {
  std::vector<HostPort> listen;  // default ["0.0.0.0:2379", "[::]:2379"]
  HostPort upstream;             // default http://127.0.0.1:2378
  TlsSettings tls;
  std::map<std::string, std::string> accounts;  // user -> htpasswd-style hash
  std::vector<AclRule> acls;                    // sorted by prefix; at least one rule
  bool public_reads = true;
  bool read_only = false;
  // `enforce: shadow` (default `enforce: true`): the ACL decides every
  // request as usual, but a refusal is only logged and counted, and the
  // request is forwarded anyway. Credentials, framing, limits and read_only
  // still apply. For switching from nginx: see what would be refused first.
  bool shadow = false;
  int enforce_line = 0;
  std::size_t max_body_bytes = 20971520;
  std::size_t max_header_bytes = 16384;
  LogSettings log;
  // Plain-HTTP admin listener for /metrics, /healthz, /readyz; loopback by
  // default; unset when the config says "off".
  std::optional<HostPort> admin_listen = HostPort{"127.0.0.1", 9142, "127.0.0.1:9142", 0};
  Timeouts timeouts;
  std::size_t max_connections = 10000;  // per process; past it new connections are closed
  AuthThrottleSettings auth_throttle;
  // How the v3 JSON gateway (/v3, /v3beta, /v3alpha) is protected:
  // kAcl checks the keys in each request body against `acls`; kAdminOnly
  // lets only identities on the "/" rule use it; kOff refuses it outright.
  enum class V3Mode { kAcl, kAdminOnly, kOff };
  V3Mode v3 = V3Mode::kAcl;
  // Event loops, each with its own listening sockets (SO_REUSEPORT);
  // 0 means "auto": one per CPU core.
  std::size_t workers = 0;
  // Login tokens for v3 clients (Auth/Authenticate): how long one is valid,
  // and the file holding the key that signs them (at least 32 bytes),
  // shared by the proxies of a cluster so a token works on each; empty: a
  // random key per process (a client failing over logs in again).
  std::size_t token_ttl_seconds = 300;
  std::string token_key_file;
  int token_key_line = 0;
  // On SIGTERM/SIGINT, how long requests in flight may take to finish.
  std::size_t drain_timeout_seconds = 10;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty() && config != nullptr; }
};

// Reads and validates the file at `path`. Relative file names inside the
// config are taken relative to the current directory, as written.
LoadResult LoadConfigFile(const std::string& path);

// Validates YAML text. Same checks as LoadConfigFile (including that files
// named in `tls` are readable).
LoadResult ParseConfig(const std::string& yaml_text);

// True when `hash` is in a format we verify: $apr1$, $2y$/$2b$/$2a$ (bcrypt),
// $5$, $6$ (sha-crypt). Checks shape only, not the password.
bool IsSupportedPasswordHash(const std::string& hash);

}  // namespace tlsproxy::config
