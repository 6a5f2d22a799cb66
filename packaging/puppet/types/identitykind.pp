# Where etcd-tlsproxy reads a client certificate's name (`tls.identity`):
# the subject CN, the URI SAN or the DNS SAN.
type Etcd_tlsproxy::IdentityKind = Enum['cn', 'uri_san', 'dns_san']
