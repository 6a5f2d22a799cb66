#!/bin/sh
# Installs every Debian package the build, the demo and the tests need.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -eu

PACKAGES="
  build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
  libevent-dev libssl-dev libyaml-cpp-dev libre2-dev libspdlog-dev libfmt-dev
  protobuf-compiler libprotobuf-dev golang-etcd-server-dev golang-github-gogo-protobuf-dev
  golang-github-gogo-googleapis-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev libaprutil1-dev libapr1-dev
  libhttp-parser-dev libcrypt-dev nlohmann-json3-dev libsystemd-dev libnghttp2-dev
  python3-etcd3 nghttp2-client
  etcd-server etcd-client openssl curl ca-certificates
  debhelper dpkg-dev fakeroot ruby systemd logrotate
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# etcd-server's postinst would start a system etcd on the default ports; tests
# pick their own ports, but keep the machine quiet: policy-rc.d refuses starts.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
