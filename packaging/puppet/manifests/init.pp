# == Class: etcd_tlsproxy
#
# Runs etcd-tlsproxy in front of the local etcd, in place of the nginx
# "etcd tlsproxy" site of profile::etcd::tlsproxy. It reads the same hiera
# keys, so a host's data does not change:
#
#   profile::etcd::tlsproxy::cert_name      certificate name: the proxy serves
#                                           /etc/ssl/localcerts/<name>.chained.crt
#                                           with /etc/ssl/private/<name>.key
#   profile::etcd::tlsproxy::acls           { key prefix => rule } under /v2/keys,
#                                           where a rule is either [users] (the
#                                           writers; [] lets anyone write; reads
#                                           are public) or a hash
#                                           { write => [users] or 'any',
#                                             read  => [users] or 'any' } with
#                                           read optional (omitted: as [users]);
#                                           each list non-empty, e.g.
#                                           { '/registry/secrets' =>
#                                             { write => ['apiserver'],
#                                               read  => ['apiserver'] } }
#   profile::etcd::tlsproxy::accounts       { user => password } (private hiera)
#   profile::etcd::tlsproxy::salt           salt for the password hashes
#   profile::etcd::tlsproxy::read_only      true refuses every write
#   profile::etcd::tlsproxy::enforce        true (default), or 'shadow' while switching
#                                           from nginx: the ACL only logs and counts
#                                           what it would refuse (see the README)
#   profile::etcd::tlsproxy::listen_port    TLS port clients connect to
#   profile::etcd::tlsproxy::upstream_port  local etcd's plaintext client port
#
# and, optionally, the TLS settings nginx took from ssl_protocols,
# ssl_ciphers and ssl_ecdh_curve (unset: the proxy's defaults):
#
#   profile::etcd::tlsproxy::tls_protocols  ['TLSv1.2'], ['TLSv1.3'] or both
#   profile::etcd::tlsproxy::tls_ciphers    OpenSSL cipher string, TLS 1.2 suites
#   profile::etcd::tlsproxy::tls_groups     key-exchange groups, e.g. ['X25519', 'P-256']
#
# and where a client certificate's name is read (unset: the subject CN), for
# a proxy that is given a client CA:
#
#   profile::etcd::tlsproxy::tls_identity         'cn', 'uri_san' or 'dns_san', or an
#                                                 ordered list of them (the first kind
#                                                 the certificate has decides)
#   profile::etcd::tlsproxy::tls_identity_prefix  stripped from a URI SAN, e.g.
#                                                 'spiffe://example.org/ns/prod/sa/'
#
# Passwords are hashed here (SHA-512 crypt, "$6$<salt>$...") and only the
# hashes reach the node's config file. A fixed salt keeps the rendered file
# stable between runs, so puppet reloads the proxy only on a real change.
#
# Config changes are checked with `etcd-tlsproxy --check` before the file is
# replaced, then applied with a reload (SIGHUP), which drops no client. A new
# listen_port or upstream_port needs a restart of the service.
#
# profile::etcd::tlsproxy::tls_upstream has no equivalent: the proxy talks
# plaintext HTTP to the etcd on loopback.
class etcd_tlsproxy (
  String[1] $cert_name = lookup('profile::etcd::tlsproxy::cert_name'),
  Hash[String[1], Etcd_tlsproxy::Rule] $acls = lookup('profile::etcd::tlsproxy::acls'),
  Hash[String[1], String[1]] $accounts = lookup('profile::etcd::tlsproxy::accounts', { 'default_value' => {} }),
  Pattern[/\A[a-zA-Z0-9.\/]{1,16}\z/] $salt = lookup('profile::etcd::tlsproxy::salt'),
  Boolean $read_only = lookup('profile::etcd::tlsproxy::read_only', { 'default_value' => false }),
  Variant[Boolean, Enum['shadow']] $enforce = lookup('profile::etcd::tlsproxy::enforce', { 'default_value' => true }),
  Stdlib::Port $listen_port = lookup('profile::etcd::tlsproxy::listen_port', { 'default_value' => 2379 }),
  Stdlib::Port $upstream_port = lookup('profile::etcd::tlsproxy::upstream_port', { 'default_value' => 2378 }),
  Optional[Array[Enum['TLSv1.2', 'TLSv1.3'], 1]] $tls_protocols = lookup('profile::etcd::tlsproxy::tls_protocols', { 'default_value' => undef }),
  Optional[String[1]] $tls_ciphers = lookup('profile::etcd::tlsproxy::tls_ciphers', { 'default_value' => undef }),
  Optional[Array[String[1], 1]] $tls_groups = lookup('profile::etcd::tlsproxy::tls_groups', { 'default_value' => undef }),
  Optional[Variant[Etcd_tlsproxy::IdentityKind, Array[Etcd_tlsproxy::IdentityKind, 1]]] $tls_identity = lookup('profile::etcd::tlsproxy::tls_identity', { 'default_value' => undef }),
  Optional[String[1]] $tls_identity_prefix = lookup('profile::etcd::tlsproxy::tls_identity_prefix', { 'default_value' => undef }),
) {
  # user => "$6$salt$hash": what config.yaml.erb renders under `accounts`.
  $password_hashes = $accounts.reduce({}) |Hash $memo, Array $entry| {
    $memo + { $entry[0] => pw_hash($entry[1], 'SHA-512', $salt) }
  }

  # The key is installed root:ssl-cert 0440; installing the package after it
  # means the group exists when the package's postinst adds etcd-tlsproxy to it.
  sslcert::certificate { $cert_name:
    skip_private => false,
  }

  package { 'etcd-tlsproxy':
    ensure  => present,
    require => Sslcert::Certificate[$cert_name],
  }

  file { '/etc/etcd-tlsproxy/config.yaml':
    ensure       => file,
    owner        => 'root',
    group        => 'etcd-tlsproxy',
    mode         => '0440',
    show_diff    => false,
    content      => template('etcd_tlsproxy/config.yaml.erb'),
    validate_cmd => '/usr/bin/etcd-tlsproxy --config % --check',
    require      => [Package['etcd-tlsproxy'], Sslcert::Certificate[$cert_name]],
  }

  # A notification reloads (SIGHUP) instead of restarting: a renewed
  # certificate or a new ACL takes effect without closing connections.
  service { 'etcd-tlsproxy':
    ensure    => running,
    enable    => true,
    restart   => '/bin/systemctl reload etcd-tlsproxy.service',
    subscribe => [File['/etc/etcd-tlsproxy/config.yaml'], Sslcert::Certificate[$cert_name]],
  }
}
