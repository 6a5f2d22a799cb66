#!/bin/bash
# The demo: builds etcd-tlsproxy, mints a throwaway CA, server and client
# certificates in a temporary folder, starts a real etcd (v2 API on) on
# loopback and the proxy in front of it, prints commands to try, and runs
# until Ctrl-C. Everything it made is removed on the way out.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

./scripts/install-deps.sh

echo "building build/etcd-tlsproxy ..." >&2
cmake -S . -B build >/dev/null
cmake --build build -j2 --target etcd-tlsproxy >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-tlsproxy-demo.XXXXXX")
etcd_pid=""
proxy_pid=""

cleanup() {
  trap - EXIT INT TERM
  echo >&2
  if [ -n "$proxy_pid" ] && kill -0 "$proxy_pid" 2>/dev/null; then
    kill -TERM "$proxy_pid" 2>/dev/null || true
    status=0
    wait "$proxy_pid" || status=$?
    echo "etcd-tlsproxy stopped (exit status $status)" >&2
  fi
  if [ -n "$etcd_pid" ] && kill -0 "$etcd_pid" 2>/dev/null; then
    kill -TERM "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
    echo "etcd stopped" >&2
  fi
  rm -rf "$work"
  echo "removed $work" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port on 127.0.0.1: a random one that nothing answers on.
taken=" "
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    case "$taken" in *" $port "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      taken="$taken$port "
      echo "$port"
      return
    fi
  done
}

certs="$work/certs"
./scripts/make-certs.sh "$certs"

root_password=$(openssl rand -hex 8)
conftool_password=$(openssl rand -hex 8)
root_hash=$(openssl passwd -apr1 "$root_password")
conftool_hash=$(openssl passwd -apr1 "$conftool_password")

etcd_port=$(free_port)
peer_port=$(free_port)
proxy_port=$(free_port)
admin_port=$(free_port)

/usr/bin/etcd --name default --data-dir "$work/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" \
  --enable-v2 --logger zap --log-level error >"$work/etcd.log" 2>&1 &
etcd_pid=$!

healthy=""
for ((i = 0; i < 400; i++)); do
  if curl -fsS "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"'; then
    healthy=1
    break
  fi
  if ! kill -0 "$etcd_pid" 2>/dev/null; then break; fi
  sleep 0.05
done
if [ -z "$healthy" ]; then
  echo "etcd did not become healthy; its log:" >&2
  cat "$work/etcd.log" >&2
  exit 1
fi

cat >"$work/config.yaml" <<YAML
listen: ["127.0.0.1:$proxy_port"]
upstream: "http://127.0.0.1:$etcd_port"
tls:
  cert: "$certs/server.pem"
  key: "$certs/server.key"
  client_ca: "$certs/ca.pem"
  require_client_cert: false
accounts:
  root: "$root_hash"
  conftool: "$conftool_hash"
acls:
  "/": [root]
  "/conftool": [root, conftool]
  "/conftool/secret": [root]
  "/eventlogging": []
public_reads: true
read_only: false
max_body_bytes: 20971520
max_header_bytes: 16384
log: {level: info, access_log: stderr}
admin_listen: "127.0.0.1:$admin_port"
YAML

"$repo/build/etcd-tlsproxy" --config "$work/config.yaml" --check
"$repo/build/etcd-tlsproxy" --config "$work/config.yaml" &
proxy_pid=$!
ready=""
for ((i = 0; i < 300; i++)); do
  if curl -fsS --cacert "$certs/ca.pem" "https://localhost:$proxy_port/version" >/dev/null 2>&1; then
    ready=1
    break
  fi
  if ! kill -0 "$proxy_pid" 2>/dev/null; then break; fi
  sleep 0.05
done
if [ -z "$ready" ]; then
  echo "etcd-tlsproxy did not answer on https://localhost:$proxy_port" >&2
  exit 1
fi

url="https://localhost:$proxy_port"
ctl="ETCDCTL_API=2 etcdctl --no-sync --endpoints https://127.0.0.1:$proxy_port --ca-file $certs/ca.pem"
ctl3="ETCDCTL_API=3 etcdctl --endpoints https://localhost:$proxy_port --cacert $certs/ca.pem"
as_conftool="--cert $certs/client-conftool.pem --key $certs/client-conftool.key"
cat <<TEXT

etcd-tlsproxy is listening on $url, in front of etcd on http://127.0.0.1:$etcd_port
  files:     $work (certificates in certs/, config.yaml)
  accounts:  root / $root_password    conftool / $conftool_password
  ACL:       / root;  /conftool root, conftool;  /conftool/secret root;  /eventlogging anyone

Try (in another terminal; the proxy's access log appears here):

  # public read
  curl --cacert $certs/ca.pem '$url/v2/keys/?recursive=true'
  # conftool writes under /conftool ...
  curl --cacert $certs/ca.pem -u conftool:$conftool_password -X PUT $url/v2/keys/conftool/pool/node1 -d value=pooled
  # ... but not elsewhere (403) nor /conftool/secret (403); no credentials: 401
  curl --cacert $certs/ca.pem -u conftool:$conftool_password -X PUT $url/v2/keys/elsewhere -d value=x
  curl --cacert $certs/ca.pem -u conftool:$conftool_password -X PUT $url/v2/keys/conftool/secret/x -d value=x
  curl --cacert $certs/ca.pem -X PUT $url/v2/keys/conftool/x -d value=x
  # anyone may write /eventlogging
  curl --cacert $certs/ca.pem -X PUT $url/v2/keys/eventlogging/schema -d value=1
  # identity from a client certificate (CN=conftool)
  curl --cacert $certs/ca.pem --cert $certs/client-conftool.pem --key $certs/client-conftool.key -X PUT $url/v2/keys/conftool/bycert -d value=1
  # v3 gateway writes need root (401 without credentials)
  curl --cacert $certs/ca.pem -X POST $url/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'
  # a watch: run it, then write the key from another terminal
  curl --cacert $certs/ca.pem '$url/v2/keys/conftool/pool/node1?wait=true'

  # etcdctl, v2 API (--no-sync keeps it on the proxy instead of etcd's advertised URL)
  $ctl --username root:$root_password set /demo hello
  $ctl get /demo
  $ctl --username root:$root_password member list
  $ctl --username root:$root_password cluster-health

  # etcdctl v3: gRPC over HTTP/2 on the same port, identity from the client certificate
  $ctl3 $as_conftool put /conftool/v3 hello
  $ctl3 $as_conftool put /elsewhere x          # Error: etcdserver: permission denied
  $ctl3 put /conftool/v3 x                      # Error: etcdserver: user name is empty
  $ctl3 get --prefix /conftool/
  $ctl3 $as_conftool watch --prefix /conftool/  # then write under /conftool from another terminal

  # the proxy's metrics
  curl http://127.0.0.1:$admin_port/metrics

Press Ctrl-C to stop etcd and the proxy and remove $work.
TEXT

status=0
wait "$proxy_pid" || status=$?
proxy_pid=""
echo "etcd-tlsproxy exited (status $status)" >&2
exit "$status"
