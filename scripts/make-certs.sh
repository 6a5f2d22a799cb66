#!/bin/sh
# make-certs.sh DIR: mints throwaway TLS material for the demo and the tests.
#
#   ca.pem                             the trusted CA (ECDSA P-256)
#   server.pem, server.key             serverAuth, SANs localhost, etcd.example.org, 127.0.0.1, ::1
#   client-root.pem/.key               clientAuth, CN=root, signed by ca.pem
#   client-conftool.pem/.key           clientAuth, CN=conftool, signed by ca.pem
#   client-rogue.pem/.key              clientAuth, CN=root, signed by a second CA nobody trusts
#   rogue-ca.pem                       that second CA
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
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial \
    -out "$1.pem" -days 7 -extfile ext.cnf -extensions "$3" 2>/dev/null
  rm -f "$1.csr"
}

make_ca ca "etcd-tlsproxy test CA"
make_ca rogue-ca "etcd-tlsproxy rogue CA"
make_leaf server etcd.example.org server ca
make_leaf client-root root client ca
make_leaf client-conftool conftool client ca
make_leaf client-rogue root client rogue-ca

rm -f ext.cnf ./*.srl
chmod 0600 ./*.key
chmod 0644 ./*.pem
