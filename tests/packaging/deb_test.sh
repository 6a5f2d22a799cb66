#!/bin/bash
# Builds the Debian package and checks what it ships:
#   tests/packaging/deb_test.sh BINARY REPO_ROOT
# BINARY is the etcd-tlsproxy built by the project (its version must match
# the packaged one). The package is built into a temporary directory; nothing
# is installed on this machine.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY REPO_ROOT" >&2
  exit 2
fi
binary=$1
root=$(cd "$2" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }

for tool in dpkg-buildpackage dpkg-deb dh openssl; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done

# --- build ------------------------------------------------------------------
echo "building the package (a minute or two)..."
deb=$(DEB_BUILD_OPTIONS="parallel=2 nocheck noddebs" "$root/packaging/build-deb.sh" "$tmp/out" | tail -n 1) ||
  die "packaging/build-deb.sh failed"
[ -f "$deb" ] || die "no .deb at '$deb'"
pass "built $(basename "$deb")"

# --- control fields -----------------------------------------------------------
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = etcd-tlsproxy ] && pass "Package: etcd-tlsproxy" || fail "Package is '$(field Package)'"
[ "$(field Version)" = 0.1.0-1 ] && pass "Version: 0.1.0-1" || fail "Version is '$(field Version)'"
case ", $(field Depends)," in
  *", adduser,"*) pass "Depends names adduser" ;;
  *) fail "Depends lacks adduser: $(field Depends)" ;;
esac
case "$(field Depends)" in
  *libssl3*) pass "Depends has the shared libraries (shlibs)" ;;
  *) fail "Depends lacks the shlibs dependencies: $(field Depends)" ;;
esac
for script in postinst prerm postrm; do
  grep -q " $script " <<<"$info" && pass "maintainer script $script present" || fail "no $script in the control archive"
done

# --- contents -----------------------------------------------------------------
contents=$(dpkg-deb -c "$deb" | awk '{print $1, $NF}')
expect_file() {  # MODE PATH
  if grep -qx -- "$1 ./$2" <<<"$contents"; then
    pass "ships /$2 ($1)"
  else
    fail "/$2 with mode $1 not in the package; contents: $(grep -F "$2" <<<"$contents" || echo none)"
  fi
}
expect_file -rwxr-xr-x usr/bin/etcd-tlsproxy
expect_file -rw-r--r-- usr/share/man/man8/etcd-tlsproxy.8.gz
expect_file -rw-r--r-- etc/etcd-tlsproxy/config.yaml
expect_file -rw-r--r-- lib/systemd/system/etcd-tlsproxy.service
expect_file -rw-r--r-- etc/logrotate.d/etcd-tlsproxy
expect_file -rw-r--r-- usr/share/doc/etcd-tlsproxy/copyright

dpkg-deb -e "$deb" "$tmp/control"
for conffile in /etc/etcd-tlsproxy/config.yaml /etc/logrotate.d/etcd-tlsproxy; do
  grep -qx "$conffile" "$tmp/control/conffiles" && pass "conffile $conffile" ||
    fail "$conffile not in conffiles: $(cat "$tmp/control/conffiles")"
done
grep -q 'adduser --system' "$tmp/control/postinst" && pass "postinst creates the system user" ||
  fail "postinst does not create the etcd-tlsproxy user"

x="$tmp/root"
dpkg-deb -x "$deb" "$x"

# --- binary -------------------------------------------------------------------
packaged_version=$("$x/usr/bin/etcd-tlsproxy" --version)
built_version=$("$binary" --version)
[ "$packaged_version" = "$built_version" ] && pass "packaged binary says '$packaged_version'" ||
  fail "packaged binary says '$packaged_version', the build says '$built_version'"

# --- man page -----------------------------------------------------------------
gunzip -c "$x/usr/share/man/man8/etcd-tlsproxy.8.gz" >"$tmp/etcd-tlsproxy.8"
if warnings=$(groff -man -ww -z "$tmp/etcd-tlsproxy.8" 2>&1) && [ -z "$warnings" ]; then
  pass "man page renders without warnings"
else
  fail "groff warnings on the man page: $warnings"
fi
for section in NAME SYNOPSIS OPTIONS CONFIGURATION SIGNALS FILES "EXIT STATUS"; do
  grep -qx "\.SH \"\?$section\"\?" "$tmp/etcd-tlsproxy.8" && pass "man page has $section" ||
    fail "man page lacks section $section"
done

# --- systemd unit -------------------------------------------------------------
unit="$x/lib/systemd/system/etcd-tlsproxy.service"
for line in \
  "User=etcd-tlsproxy" \
  "NoNewPrivileges=yes" \
  "ProtectSystem=strict" \
  "ProtectHome=yes" \
  "PrivateTmp=yes" \
  "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" \
  "AmbientCapabilities=CAP_NET_BIND_SERVICE" \
  "ReadOnlyPaths=-/etc/ssl/private /etc/etcd-tlsproxy" \
  "LogsDirectory=etcd-tlsproxy" \
  "ExecStartPre=/usr/bin/etcd-tlsproxy --config /etc/etcd-tlsproxy/config.yaml --check" \
  "ExecStart=/usr/bin/etcd-tlsproxy --config /etc/etcd-tlsproxy/config.yaml" \
  "Type=notify" \
  "ExecReload=/usr/bin/etcd-tlsproxy --config /etc/etcd-tlsproxy/config.yaml --check" \
  "ExecReload=/bin/kill -HUP \$MAINPID" \
  "Restart=on-failure"; do
  grep -qxF -- "$line" "$unit" && pass "unit: $line" || fail "unit lacks '$line'"
done
# A refused config must fail `systemctl reload`: --check runs before the signal.
reloads=$(grep '^ExecReload=' "$unit" | tr '\n' '|')
[ "$reloads" = "ExecReload=/usr/bin/etcd-tlsproxy --config /etc/etcd-tlsproxy/config.yaml --check|ExecReload=/bin/kill -HUP \$MAINPID|" ] &&
  pass "unit: ExecReload= checks the config, then signals" || fail "unit: ExecReload= lines are '$reloads'"
if command -v systemd-analyze >/dev/null; then
  # verify wants the commands and the man page installed; point the one copy
  # at the extracted package instead, and nothing else changes.
  mkdir "$tmp/unit"
  sed "s#/usr/bin/etcd-tlsproxy#$x/usr/bin/etcd-tlsproxy#g" "$unit" >"$tmp/unit/etcd-tlsproxy.service"
  changed=$(diff "$unit" "$tmp/unit/etcd-tlsproxy.service" | grep -c '^>' || true)
  [ "$changed" = 3 ] || fail "expected 3 rewritten lines (ExecStartPre, ExecStart, ExecReload), got $changed"
  if out=$(MANPATH="$x/usr/share/man" systemd-analyze verify "$tmp/unit/etcd-tlsproxy.service" 2>&1) &&
    [ -z "$out" ]; then
    pass "systemd-analyze verify: no findings"
  else
    fail "systemd-analyze verify: $out"
  fi
else
  echo "SKIP: systemd-analyze not installed (package systemd)"
fi

# --- logrotate ----------------------------------------------------------------
lr="$x/etc/logrotate.d/etcd-tlsproxy"
grep -q '^/var/log/etcd-tlsproxy/\*\.log ' "$lr" && pass "logrotate covers /var/log/etcd-tlsproxy/*.log" ||
  fail "logrotate does not name /var/log/etcd-tlsproxy/*.log"
grep -q 'systemctl reload etcd-tlsproxy.service' "$lr" && pass "logrotate reloads the service (SIGHUP reopens the log)" ||
  fail "logrotate's postrotate does not reload the service"
if command -v logrotate >/dev/null; then
  if out=$(logrotate -d -s "$tmp/logrotate.state" "$lr" 2>&1); then
    pass "logrotate -d accepts the config"
  else
    fail "logrotate -d: $out"
  fi
else
  echo "SKIP: logrotate not installed"
fi

# --- the example config passes --check with real files ------------------------
example="$x/etc/etcd-tlsproxy/config.yaml"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=etcd.example.org -keyout "$tmp/server.key" -out "$tmp/server.crt" 2>/dev/null
substitute() {  # FROM TO: exactly one occurrence, or the example changed under us
  local n
  n=$(grep -cF -- "$1" "$tmp/config.yaml" || true)
  [ "$n" = 1 ] || die "packaged config.yaml names '$1' $n times, expected once"
  sed -i "s#$1#$2#" "$tmp/config.yaml"
}
cp "$example" "$tmp/config.yaml"
substitute /etc/ssl/localcerts/etcd.example.org.chained.crt "$tmp/server.crt"
substitute /etc/ssl/private/etcd.example.org.key "$tmp/server.key"
substitute /var/log/etcd-tlsproxy/access.log "$tmp/access.log"
if out=$("$x/usr/bin/etcd-tlsproxy" --config "$tmp/config.yaml" --check 2>&1); then
  pass "packaged example config passes --check: $out"
else
  fail "packaged example config fails --check: $out"
fi
# As shipped (certificates not there yet) it must fail, naming the key.
if out=$("$x/usr/bin/etcd-tlsproxy" --config "$example" --check 2>&1); then
  fail "the example config as shipped passed --check without its certificate files"
elif grep -q 'tls.cert' <<<"$out"; then
  pass "as shipped, --check names the missing tls.cert"
else
  fail "as shipped, --check failed without naming tls.cert: $out"
fi

if [ "$failures" -ne 0 ]; then
  echo "deb_test: $failures check(s) failed" >&2
  exit 1
fi
echo "deb_test: all checks passed"
