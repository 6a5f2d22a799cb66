#!/bin/sh
# make-certs.sh DIR: mints throwaway TLS material for the demo and the tests.
#
#   ca.pem                             the trusted CA (ECDSA P-256)
#   server.pem, server.key             serverAuth, SANs localhost, etcd.example.org, 127.0.0.1, ::1
#   client-root.pem/.key               clientAuth, CN=root, signed by ca.pem
#   client-conftool.pem/.key           clientAuth, CN=conftool, signed by ca.pem
#   client-forger.pem/.key             clientAuth, CN=jos\xc3\xa9" status=200 identity="cert:root
#                                      (UTF-8, quotes: for the access-log escaping), signed by ca.pem
#   client-rogue.pem/.key              clientAuth, CN=root, signed by a second CA nobody trusts
#   Certificates for tls.identity: uri_san / dns_san (signed by ca.pem, clientAuth; the SPIFFE
#   prefix is spiffe://example.org/ns/prod/sa/):
#   client-uri-conftool.pem/.key       CN=uri-client, URI spiffe://example.org/ns/prod/sa/conftool
#   client-dns-conftool.pem/.key       CN=dns-client, DNS conftool
#   client-uri-two.pem/.key            CN=uri-client, two URIs: .../sa/conftool and .../sa/root
#   client-uri-outside.pem/.key        CN=uri-client, URI spiffe://other.example.org/ns/prod/sa/root
#   client-root-uri-nobody.pem/.key    CN=root, URI .../sa/nobody (a name no rule lists)
#   client-uri-newline.pem/.key        CN=uri-client, URI .../sa/root<LF>forged (a control byte)
#   client-uri-long.pem/.key           CN=uri-client, URI .../sa/ and 300 'r's (over-long name)
#   client-uri-forger.pem/.key         CN=uri-client, URI .../sa/jos\xe9" status=200 identity="cert:root
#                                      (a raw Latin-1 byte, which OpenSSL reads as U+00E9, and
#                                      quotes: for the access-log escaping)
#   rogue-ca.pem                       that second CA
#   client-revoked.pem/.key            clientAuth, CN=root, signed by ca.pem, revoked in crl.pem
#   client-expired.pem/.key            clientAuth, CN=root, signed by ca.pem, valid 2020-01-01..02
#   client-notyet.pem/.key             clientAuth, CN=root, signed by ca.pem, valid from 2100-01-01
#   client-serverauth.pem/.key         serverAuth only (no clientAuth), CN=root, signed by ca.pem
#   client-nosign.pem/.key             clientAuth, CN=root, signed by ca.pem, keyUsage keyEncipherment only
#   crl.pem                            ca.pem's CRL (valid 7 days), revoking client-revoked.pem
#
# Keys are unencrypted, mode 0600. Nothing here is fit for production.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

# Extension sections, one file for all.
cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:etcd.example.org, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF

newkey() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 0600 "$1"
}

# make_ca NAME CN
make_ca() {
  newkey "$1.key"
  openssl req -new -x509 -key "$1.key" -out "$1.pem" -days 7 -subj "/CN=$2" \
    -config ext.cnf -extensions ca 2>/dev/null
}

# make_leaf NAME CN EXTENSIONS CA
make_leaf() {
  newkey "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -utf8 -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial \
    -out "$1.pem" -days 7 -extfile ext.cnf -extensions "$3" 2>/dev/null
  rm -f "$1.csr"
}

make_ca ca "etcd-tlsproxy test CA"
make_ca rogue-ca "etcd-tlsproxy rogue CA"
make_leaf server etcd.example.org server ca
make_leaf client-root root client ca
make_leaf client-conftool conftool client ca
make_leaf client-forger "$(printf 'jos\303\251" status=200 identity="cert:root')" client ca
make_leaf client-rogue root client rogue-ca

# make_san_leaf NAME CN SAN...: like make_leaf, with these subjectAltName
# entries (OpenSSL config syntax: URI.1 = "...", DNS.1 = ...).
make_san_leaf() {
  name=$1 cn=$2
  shift 2
  {
    printf '[%s]\nbasicConstraints = critical, CA:FALSE\n' "$name"
    printf 'keyUsage = critical, digitalSignature, keyEncipherment\n'
    printf 'extendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid\n'
    printf 'subjectAltName = @%s_san\n[%s_san]\n' "$name" "$name"
    printf '%s\n' "$@"
  } >>ext.cnf
  make_leaf "$name" "$cn" "$name" ca
}
sa=spiffe://example.org/ns/prod/sa
make_san_leaf client-uri-conftool uri-client "URI.1 = $sa/conftool"
make_san_leaf client-dns-conftool dns-client "DNS.1 = conftool"
make_san_leaf client-uri-two uri-client "URI.1 = $sa/conftool" "URI.2 = $sa/root"
make_san_leaf client-uri-outside uri-client "URI.1 = spiffe://other.example.org/ns/prod/sa/root"
make_san_leaf client-root-uri-nobody root "URI.1 = $sa/nobody"
# OpenSSL's config reader turns the two characters \n into a line feed.
make_san_leaf client-uri-newline uri-client "URI.1 = $sa/root\\nforged"
make_san_leaf client-uri-long uri-client "URI.1 = $sa/$(printf '%300s' '' | tr ' ' r)"
# \351 is the byte 0xe9; \" a quote inside OpenSSL's quoted value.
make_san_leaf client-uri-forger uri-client \
  "$(printf 'URI.1 = "%s/jos\351\\" status=200 identity=\\"cert:root"' "$sa")"

# Certificates that must never give an identity (CN=root, signed by ca.pem),
# issued with `openssl ca`: OpenSSL 3.0's `x509 -req` cannot set notBefore or
# notAfter. Then a CRL that revokes client-revoked.
mkdir -p ca-db
: >ca-db/index.txt
openssl rand -hex 16 >ca-db/serial
echo 01 >ca-db/crlnumber
cat >ca.cnf <<'EOF'
[ca]
default_ca = test_ca

[test_ca]
dir = ca-db
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 7
policy = any_cn
unique_subject = no
copy_extensions = none

[any_cn]
commonName = supplied

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid

[serverauth]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid

[nosign]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid

[crl]
authorityKeyIdentifier = keyid
EOF

# ca_leaf NAME EXTENSIONS NOT_BEFORE NOT_AFTER (YYYYMMDDHHMMSSZ)
ca_leaf() {
  newkey "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=root" 2>/dev/null
  openssl ca -batch -notext -config ca.cnf -extensions "$2" -startdate "$3" -enddate "$4" \
    -in "$1.csr" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr"
}

now=$(date -u +%Y%m%d%H%M%SZ)
week=$(date -u -d '+7 days' +%Y%m%d%H%M%SZ)
ca_leaf client-revoked client "$now" "$week"
ca_leaf client-expired client 20200101000000Z 20200102000000Z
ca_leaf client-notyet client 21000101000000Z 21000201000000Z
ca_leaf client-serverauth serverauth "$now" "$week"
ca_leaf client-nosign nosign "$now" "$week"
openssl ca -batch -config ca.cnf -revoke client-revoked.pem 2>/dev/null
openssl ca -batch -config ca.cnf -gencrl -crlexts crl -out crl.pem 2>/dev/null
rm -rf ca-db ca.cnf

rm -f ext.cnf ./*.srl
chmod 0600 ./*.key
chmod 0644 ./*.pem
