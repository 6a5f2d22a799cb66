// Internal to config/: the Validator behind ParseConfig and LoadConfigFile
// (config.h), and the few helpers its parts share. Nothing outside config/
// includes this header; config.h stays the public interface.
//
// One Validator walks the YAML tree once, filling a Config and collecting
// every error; cross-field checks run after the walk. Each map's keys go to
// member handlers through a key -> handler table (Dispatch). The members are
// defined in one file per section of the config:
//   validator.cc              the walk (Run, Dispatch, the typed readers),
//                             accounts, limits, timeouts, log, cross-field checks
//   endpoints_validator.cc    listen, upstream, admin_listen (host:port)
//   tls_settings_validator.cc tls: files, protocols, ciphers, groups, identity
//   acl_rules_validator.cc    acls: prefixes, the short and long rule forms,
//                             and the names they list checked against accounts
//
// Guarantees: Run() returns either a Config with every field validated (the
// list in config.h) or every error found, sorted by line, each naming the
// dotted key and the line of the key whose value is wrong (or of the list
// element). It touches no socket; of the files the config names it only
// checks that each is a readable regular file. A Validator is used once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace tlsproxy::config::internal {

constexpr std::size_t kMaxBodyBytesLimit = std::size_t{1} << 30;  // 1 GiB
constexpr std::size_t kMinHeaderBytes = 1024;
constexpr std::size_t kMaxHeaderBytesLimit = 1048576;

// A key and its value inside a YAML map (or an element of a list, where
// `name` is empty). `path` is the dotted path used in error messages.
struct Entry {
  std::string path;
  std::string name;
  int line = 0;
  YAML::Node value;
};

// A name an ACL lists that must be checked against accounts at the end.
struct AclUserRef {
  std::string path;
  int line = 0;
  std::string user;
};

// 1-based line of a node, 0 when yaml-cpp has no position for it.
int LineOf(const YAML::Node& node);
// What a node is, for "expected ..., got <this>" messages.
std::string Describe(const YAML::Node& node);
// True when `text` has an ASCII control character (DEL included).
bool HasControlChar(std::string_view text);
// The value of a string of ASCII digits only, nullopt otherwise (or on overflow).
std::optional<uint64_t> ParseDecimal(std::string_view digits);
// Empty when `path` names a readable regular file; otherwise why not.
std::string UnreadableReason(const std::string& path);

// YAML text -> a Config or every error (see the top of this file).
class Validator {
 public:
  // Validates `yaml_text`; call once.
  LoadResult Run(const std::string& yaml_text);

 private:
  using Handler = void (Validator::*)(const Entry&);
  struct KeyTable {
    std::vector<std::pair<std::string, Handler>> handlers;
    std::vector<std::string> required;
  };

  void AddError(std::string key, int line, std::string message) {
    errors_.push_back(ConfigError{std::move(key), line, std::move(message)});
  }

  // Typed readers: report a type error and return nullopt on mismatch.
  std::optional<std::string> ReadString(const Entry& entry);
  std::optional<bool> ReadBool(const Entry& entry);
  std::optional<std::size_t> ReadSize(const Entry& entry, std::size_t min, std::size_t max);
  bool ExpectMap(const Entry& entry);
  bool ExpectList(const Entry& entry);

  // Calls `visit` for each key of a map, refusing non-string and duplicate keys.
  void ForEachKey(const Entry& map, const std::function<void(const Entry&)>& visit);
  // Dispatches a map's keys to a table of handlers; unknown keys and missing
  // required keys are errors.
  void Dispatch(const Entry& map, const KeyTable& table);

  void OnListen(const Entry& entry);
  void OnUpstream(const Entry& entry);
  void OnTls(const Entry& entry);
  void OnTlsCert(const Entry& entry) {
    ReadFile(entry, &config_.tls.cert_file, &config_.tls.cert_line);
  }
  void OnTlsKey(const Entry& entry) {
    ReadFile(entry, &config_.tls.key_file, &config_.tls.key_line);
  }
  void OnTlsClientCa(const Entry& entry) {
    ReadOptionalFile(entry, &config_.tls.client_ca_file, &config_.tls.client_ca_line);
  }
  void OnTlsCrl(const Entry& entry) {
    ReadOptionalFile(entry, &config_.tls.crl_file, &config_.tls.crl_line);
  }
  void OnTlsRequireClientCert(const Entry& entry);
  void OnTlsProtocols(const Entry& entry);
  // One element of `tls.protocols`; reports an unknown or retired name.
  std::optional<TlsProtocol> ReadTlsProtocol(const Entry& element);
  void OnTlsCiphers(const Entry& entry);
  void OnTlsGroups(const Entry& entry);
  // Adds one group name from `tls.groups` at `path`/`line`.
  void AddTlsGroup(const std::string& name, const std::string& path, int line);
  void OnAccounts(const Entry& entry);
  void OnAccount(const Entry& entry);
  void OnTlsIdentity(const Entry& entry);
  void OnTlsIdentityPrefix(const Entry& entry) {
    if (const std::optional<std::string> prefix = ReadString(entry)) {
      config_.tls.identity_prefix = *prefix;
    }
  }
  void OnAcls(const Entry& entry);
  void OnAcl(const Entry& entry);
  void ReadAclUser(const Entry& list, const YAML::Node& item, std::vector<std::string>* out);
  void ReadAclLists(const Entry& entry, AclRule* rule);
  void OnPublicReads(const Entry& entry) { Assign(ReadBool(entry), &config_.public_reads); }
  void OnReadOnly(const Entry& entry) { Assign(ReadBool(entry), &config_.read_only); }
  void OnEnforce(const Entry& entry);
  void OnMaxBodyBytes(const Entry& entry) {
    Assign(ReadSize(entry, 1, kMaxBodyBytesLimit), &config_.max_body_bytes);
  }
  void OnMaxHeaderBytes(const Entry& entry) {
    Assign(ReadSize(entry, kMinHeaderBytes, kMaxHeaderBytesLimit), &config_.max_header_bytes);
  }
  void OnAdminListen(const Entry& entry);
  void OnWorkers(const Entry& entry);
  void OnTimeouts(const Entry& entry);
  void OnAuthThrottle(const Entry& entry);
  void OnMaxConnections(const Entry& entry) {
    Assign(ReadSize(entry, 1, 1000000), &config_.max_connections);
  }
  // A number of seconds in [min, 86400] into `out`.
  void ReadSeconds(const Entry& entry, std::size_t min, std::size_t* out) {
    Assign(ReadSize(entry, min, 86400), out);
  }
  void OnV3(const Entry& entry);
  void OnTokenTtl(const Entry& entry) { ReadSeconds(entry, 1, &config_.token_ttl_seconds); }
  void OnTokenKeyFile(const Entry& entry) {
    ReadOptionalFile(entry, &config_.token_key_file, &config_.token_key_line);
  }
  void OnDrainTimeout(const Entry& entry) {
    Assign(ReadSize(entry, 0, 3600), &config_.drain_timeout_seconds);
  }
  void OnLog(const Entry& entry);
  void OnLogLevel(const Entry& entry);
  void OnLogAccessLog(const Entry& entry);

  void ReadFile(const Entry& entry, std::string* file, int* line);
  void ReadOptionalFile(const Entry& entry, std::string* file, int* line);
  template <typename T>
  static void Assign(const std::optional<T>& value, T* out) {
    if (value) *out = *value;
  }

  void CheckCrossFields();
  void CheckTlsNeedsClientCa();
  void CheckListenIsNotUpstream();
  void CheckAclUsers();

  Config config_;
  std::vector<ConfigError> errors_;
  std::vector<AclUserRef> acl_users_;
  std::set<std::string> declared_users_;         // every key under accounts, valid or not
  std::map<std::string, int> acl_prefix_lines_;  // canonical prefix -> line
  int require_client_cert_line_ = 0;
};

}  // namespace tlsproxy::config::internal
