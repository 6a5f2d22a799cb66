#!/bin/bash
# Renders packaging/puppet/templates/config.yaml.erb with Debian's ruby ERB
# for a sample hiera set, as class etcd_tlsproxy would, and checks the result:
#   tests/packaging/puppet_template_test.sh BINARY REPO_ROOT
# - the YAML parses back to exactly the sample data (quoting is safe for
#   prefixes and user names with YAML-special characters);
# - `BINARY --config RENDERED --check` passes, with the certificate paths
#   pointed at a throwaway certificate;
# - the long ACL form ({write, read}, 'any') and tls_identity (a kind or a
#   list) with tls_identity_prefix render, parse back and pass --check;
# - a hiera set with an ACL user missing from accounts, or an empty read
#   list, fails --check.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY REPO_ROOT" >&2
  exit 2
fi
binary=$1
root=$(cd "$2" && pwd)
template="$root/packaging/puppet/templates/config.yaml.erb"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/puppet_template_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }

for tool in ruby openssl; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
[ -f "$template" ] || die "no template at $template"

# Hashes as the class makes them: pw_hash(password, 'SHA-512', salt), which
# is crypt(3) with "$6$<salt>$". openssl passwd -6 must agree with Ruby's
# String#crypt (what pw_hash calls), or the sample would not be faithful.
salt=tEsTsAlT.42
hash() { openssl passwd -6 -salt "$salt" "$1"; }
root_hash=$(hash 'r00t pass')
conftool_hash=$(hash 'conf:tool#1')
yes_hash=$(hash 'yes')
hashuser_hash=$(hash 'hash user')
space_hash=$(hash 'spaces & stars')
ruby_hash=$(ruby -e 'print ARGV[0].crypt("$6$" + ARGV[1] + "$")' 'r00t pass' "$salt")
[ "$root_hash" = "$ruby_hash" ] && pass "openssl passwd -6 matches Ruby crypt (pw_hash) for salt $salt" ||
  fail "openssl passwd -6 gave $root_hash, Ruby crypt gave $ruby_hash"

# The sample hiera set, after the class has hashed the passwords. User names
# and prefixes that YAML would misread if written bare: a boolean word, a
# comment sign, ": ", flow and anchor characters, quotes, non-ASCII.
cat >"$tmp/hiera.json" <<EOF
{
  "cert_name": "etcd.example.org",
  "listen_port": 2379,
  "upstream_port": 2378,
  "read_only": false,
  "password_hashes": {
    "root": "$root_hash",
    "conftool": "$conftool_hash",
    "yes": "$yes_hash",
    "#hash user": "$hashuser_hash",
    "*star [x] {y} 'q' \"dq\" & ü": "$space_hash"
  },
  "acls": {
    "/": ["root"],
    "/conftool": ["root", "conftool"],
    "/eventlogging": [],
    "/pools/yes: no #not-a-comment": ["yes", "#hash user"],
    "/&anchor/*alias/!tag/[seq]/{map}/'q'/\"dq\"/ünï": ["*star [x] {y} 'q' \"dq\" & ü"]
  }
}
EOF

# ruby -e wrapper: the hiera values become the instance variables the
# template reads, as puppet's template() does with the class's variables.
render() {  # HIERA_JSON OUT
  ruby -rerb -rjson -e '
    template, hiera = ARGV
    h = JSON.parse(File.read(hiera))
    @cert_name = h.fetch("cert_name")
    @acls = h.fetch("acls")
    @password_hashes = h.fetch("password_hashes")
    @read_only = h.fetch("read_only")
    @listen_port = h.fetch("listen_port")
    @upstream_port = h.fetch("upstream_port")
    @tls_protocols = h["tls_protocols"]
    @tls_ciphers = h["tls_ciphers"]
    @tls_groups = h["tls_groups"]
    @tls_identity = h["tls_identity"]
    @tls_identity_prefix = h["tls_identity_prefix"]
    @enforce = h.fetch("enforce", true)
    print ERB.new(File.read(template), trim_mode: "-").result(binding)
  ' "$template" "$1" >"$2"
}
render "$tmp/hiera.json" "$tmp/rendered.yaml" || die "ERB rendering failed"
pass "template renders"
echo "--- rendered ---"
cat "$tmp/rendered.yaml"
echo "----------------"

# The YAML must mean exactly the hiera data it was rendered from.
parses_back() {  # RENDERED HIERA_JSON
  ruby -rjson -ryaml -e '
    rendered = YAML.safe_load(File.read(ARGV[0]))
    h = JSON.parse(File.read(ARGV[1]))
    p = h["listen_port"]
    expected = {
      "listen" => ["0.0.0.0:#{p}", "[::]:#{p}"],
      "upstream" => "http://127.0.0.1:#{h["upstream_port"]}",
      "tls" => {
        "cert" => "/etc/ssl/localcerts/#{h["cert_name"]}.chained.crt",
        "key" => "/etc/ssl/private/#{h["cert_name"]}.key",
        "protocols" => h["tls_protocols"],
        "ciphers" => h["tls_ciphers"],
        "groups" => h["tls_groups"],
        "identity" => h["tls_identity"],
        "identity_prefix" => h["tls_identity_prefix"],
      }.compact,
      "accounts" => h["password_hashes"],
      "acls" => h["acls"],
      "public_reads" => true,
      "read_only" => h["read_only"],
      "enforce" => (h["enforce"] unless h.fetch("enforce", true) == true),
      "log" => { "level" => "info", "access_log" => "/var/log/etcd-tlsproxy/access.log" },
    }
    expected.compact!
    exit 0 if rendered == expected
    expected.each_key do |k|
      next if rendered[k] == expected[k]
      puts "#{k}: rendered #{rendered[k].inspect}, expected #{expected[k].inspect}"
    end
    (rendered.keys - expected.keys).each { |k| puts "unexpected key #{k}" }
    exit 1
  ' "$1" "$2" 2>&1
}
if out=$(parses_back "$tmp/rendered.yaml" "$tmp/hiera.json"); then
  pass "rendered YAML parses back to the sample hiera data"
else
  fail "rendered YAML differs from the sample: $out"
fi

# --check, with the certificate paths pointed at a throwaway certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=etcd.example.org -keyout "$tmp/server.key" -out "$tmp/server.crt" 2>/dev/null
localize() {  # RENDERED OUT
  local n
  cp "$1" "$2"
  for pair in \
    "\"/etc/ssl/localcerts/etcd.example.org.chained.crt\"|\"$tmp/server.crt\"" \
    "\"/etc/ssl/private/etcd.example.org.key\"|\"$tmp/server.key\"" \
    "\"/var/log/etcd-tlsproxy/access.log\"|\"$tmp/access.log\""; do
    n=$(grep -cF -- "${pair%%|*}" "$2" || true)
    [ "$n" = 1 ] || die "rendered config names ${pair%%|*} $n times, expected once"
    sed -i "s#${pair%%|*}#${pair#*|}#" "$2"
  done
}
localize "$tmp/rendered.yaml" "$tmp/check.yaml"
if out=$("$binary" --config "$tmp/check.yaml" --check 2>&1); then
  pass "rendered config passes --check: $out"
else
  fail "rendered config fails --check: $out"
fi

# variant NAME RUBY: the sample hiera set changed by the Ruby statements RUBY
# (on the parsed hash `h`), rendered to rendered-NAME.yaml and localized to
# check-NAME.yaml.
variant() {
  ruby -rjson -e 'h = JSON.parse(File.read(ARGV[0])); eval(ARGV[1]); print JSON.generate(h)' \
    "$tmp/hiera.json" "$2" >"$tmp/hiera-$1.json"
  render "$tmp/hiera-$1.json" "$tmp/rendered-$1.yaml"
  localize "$tmp/rendered-$1.yaml" "$tmp/check-$1.yaml"
}
# refused NAME WORD WHAT: --check must fail on check-NAME.yaml, naming WORD
# (puppet's validate_cmd then keeps the old file).
refused() {
  if out=$("$binary" --config "$tmp/check-$1.yaml" --check 2>&1); then
    fail "$3 passed --check"
  elif grep -qF -- "$2" <<<"$out"; then
    pass "$3 fails --check: $out"
  else
    fail "--check failed on $3 without naming $2: $out"
  fi
}

# read_only: true renders as a YAML boolean and still passes.
variant ro 'h["read_only"] = true'
if grep -qx 'read_only: true' "$tmp/check-ro.yaml" && out=$("$binary" --config "$tmp/check-ro.yaml" --check 2>&1); then
  pass "read_only: true renders and passes --check"
else
  fail "read_only: true: $(grep read_only "$tmp/check-ro.yaml") ${out:-}"
fi

# The optional TLS settings render (and parse back, and pass --check) when set.
variant tls 'h["tls_protocols"] = ["TLSv1.2"]; h["tls_ciphers"] = "ECDHE+AESGCM:ECDHE+CHACHA20"
  h["tls_groups"] = ["X25519", "P-256"]'
if ruby -ryaml -e 'tls = YAML.safe_load(File.read(ARGV[0]))["tls"]
    exit(tls["protocols"] == ["TLSv1.2"] && tls["ciphers"] == "ECDHE+AESGCM:ECDHE+CHACHA20" &&
         tls["groups"] == ["X25519", "P-256"] ? 0 : 1)' "$tmp/rendered-tls.yaml" &&
  out=$("$binary" --config "$tmp/check-tls.yaml" --check 2>&1); then
  pass "tls_protocols, tls_ciphers and tls_groups render and pass --check"
else
  fail "TLS settings: $(grep -A6 '^tls:' "$tmp/rendered-tls.yaml") ${out:-}"
fi

# The long ACL form and tls.identity, as a kind and as a list: rendered,
# parsed back to the hiera data, and passing --check. Read lists name
# accounts (no client CA here: every name must be an account).
for identity in '"uri_san"' '["uri_san", "dns_san", "cn"]'; do
  IDENTITY=$identity variant long 'h["password_hashes"]["monitoring"] = h["password_hashes"]["root"]
    h["acls"]["/registry/secrets"] = { "write" => ["root"], "read" => ["root"] }
    h["acls"]["/conftool"] = { "write" => ["conftool", "root"], "read" => ["monitoring", "conftool", "root"] }
    h["acls"]["/pools/yes: no #x"] = { "write" => "any", "read" => ["yes", "#hash user"] }
    h["acls"]["/open"] = { "write" => "any", "read" => "any" }
    h["acls"]["/writers-only"] = { "write" => ["monitoring"] }
    h["tls_identity"] = JSON.parse(ENV["IDENTITY"])
    h["tls_identity_prefix"] = "spiffe://example.org/ns/prod/sa/"'
  if ! out=$(parses_back "$tmp/rendered-long.yaml" "$tmp/hiera-long.json"); then
    fail "long ACL form, tls_identity $identity: rendered YAML differs: $out"
  elif out=$("$binary" --config "$tmp/check-long.yaml" --check 2>&1); then
    pass "long ACL form and tls_identity $identity render, parse back and pass --check"
  else
    fail "long ACL form, tls_identity $identity: --check fails: $out"
  fi
done
echo "--- rendered (long ACL form, identity list) ---"
grep -A3 'identity' "$tmp/rendered-long.yaml"
grep -E '"/(registry|conftool|pools|open|writers)' "$tmp/rendered-long.yaml"
echo "----------------"

# enforce: shadow renders, parses back and passes --check, which warns
# loudly; a false fails it (puppet's validate_cmd keeps the old file).
variant shadow 'h["enforce"] = "shadow"'
if ! out=$(parses_back "$tmp/rendered-shadow.yaml" "$tmp/hiera-shadow.json"); then
  fail "enforce: shadow: rendered YAML differs: $out"
elif out=$("$binary" --config "$tmp/check-shadow.yaml" --check 2>&1) &&
  grep -q 'WARNING: SHADOW MODE' <<<"$out"; then
  pass "enforce: shadow renders, parses back and passes --check with a warning"
else
  fail "enforce: shadow: --check: $out"
fi
variant enforce-false 'h["enforce"] = false'
refused enforce-false 'enforce' "enforce: false"

# An empty read list (which the class's types refuse too), or an ACL naming
# a user without an account, must fail the check.
variant empty-read 'h["acls"]["/conftool"] = { "write" => ["root"], "read" => [] }'
refused empty-read 'acls./conftool.read' "an empty read list"
variant bad 'h["acls"]["/typo"] = ["rooot"]'
refused bad 'rooot' "an ACL user without an account"

if [ "$failures" -ne 0 ]; then
  echo "puppet_template_test: $failures check(s) failed" >&2
  exit 1
fi
echo "puppet_template_test: all checks passed"
