#!/usr/bin/env bash
# Benchmark: etcd-tlsproxy against nginx and HAProxy (both from Debian) in
# front of the same upstreams, with the same certificate, accounts and ACL.
#
#   tests/bench/run.sh [--rounds 3] [--duration 10] [--binary PATH] [--baseline PATH]
#                      [--scenarios LIST] [--no-resumption] [--keep]
#
#   --rounds N      rounds of every scenario, proxies alternating (A B C A B C); >= 1, default 3
#   --duration S    seconds per wrk measurement, default 10 (plus a 1 s warm-up)
#   --idle-conns N  idle TLS connections held for the memory scenario, default 5000
#   --watchers N    long-poll watchers for the fan-out scenario, default 1000
#   --binary PATH   use this etcd-tlsproxy instead of building build-bench/ in Release
#   --baseline PATH another etcd-tlsproxy binary (an older build, say) measured in the
#                   workers rows right after the current one, round by round, so a
#                   before/after comparison comes from one run
#   --scenarios L   comma-separated subset of keepalive,workers,newconn,put,idle,watch
#                   (the HTTP/1.1 scenarios, the default) and grpc_range,grpc_put,
#                   grpc_put_token,grpc_watch (gRPC; `all` selects every scenario)
#   --grpc-conns N  h2load connections for the gRPC unary scenarios, default 4
#   --grpc-streams N concurrent streams per h2load connection, default 32
#   --watch-conns N connections the gRPC watchers share, default 10
#   --no-resumption turn TLS session resumption off in nginx and HAProxy (tickets and
#                   session cache), so wrk's new connections are full handshakes there;
#                   by default each proxy keeps its own default. wrk resumes whenever the
#                   server offers it; the report says which proxies did.
#   --keep          keep the temporary directory (configs, logs, raw wrk output)
#
# Installs what it needs with apt-get (nginx-light, haproxy, wrk, etcd-server,
# util-linux, curl, openssl, nghttp2-client for h2load, etcd-client,
# python3-grpcio, python3-etcd3), builds etcd-tlsproxy in Release, mints an ECDSA
# P-256 CA and server certificate, and starts on free loopback ports:
#   - a fixed fast upstream (nginx, `return 200 '{"action":"get"}'`, keep-alive)
#   - a real etcd (--enable-v2, temporary data dir)
#   - each proxy afresh for each measurement: etcd-tlsproxy (workers: 1),
#     nginx (1 worker), HAProxy (nbthread 1).
# CPU layout (2 cores): the proxy under test alone on core 0; wrk, the Python
# clients and the fixed upstream on core 1; etcd unpinned (it is the real
# service the sidecar shares a machine with). The workers:1/2 rows run the
# proxy, wrk and the fixed upstream unpinned.
#
# Scenarios: (a) keep-alive GET to the fixed upstream (wrk -t1 -c50, req/s and
# p99); (b) a new TLS connection per request (-c50, Connection: close);
# (c) PUT with basic auth to etcd (-c20, wrk Lua); (d) RSS per idle TLS
# connection (N held, after - before, /proc/PID/status VmRSS of the proxy's
# processes); (e) watch fan-out (N long polls through the proxy, one write
# straight to etcd, time until all have their response).
#
# gRPC scenarios (etcd v3 over HTTP/2; the proxies on core 0, h2load and the
# Python clients on core 1, etcd unpinned; etcd direct is plaintext h2c):
# (f) grpc_range: unary KV/Range of one fixed key, h2load -c4 -m32 (128
# streams in flight over 4 connections); (g) grpc_put: unary KV/Put of one
# key writable anonymously (etcd-tlsproxy's rule "/eventlogging": [], as
# h2load cannot present a client certificate; nginx and HAProxy have no ACL
# for gRPC); (h) grpc_put_token: KV/Put of a key only root may write,
# carrying a `token` from Auth/Authenticate: etcd-tlsproxy's own token
# (etcd behind it without auth) against a second etcd with its own auth on
# (bcrypt user root, simple token) and the bench etcd without auth;
# (i) grpc_watch: N Watch streams over a few connections, one write straight
# to etcd, time until every stream has the event, and the proxy's RSS per
# watcher. For every h2load run: req/s, p50/p99 from h2load's per-request
# log, proxy and etcd CPU per call (/proc utime+stime), and checks that the
# connection negotiated h2, that a sample call of the same bytes gets
# grpc-status 0 (h2load counts only :status) and, for Put, that etcd's
# revision moved by at least the number of calls h2load counted.
#
# Prints a markdown table of medians and ratios and writes it to
# tests/bench/results-latest.md (HTTP/1.1) and results-grpc-latest.md
# (gRPC), each with its .tsv; a file is rewritten only when a scenario of its
# kind ran. Everything started is stopped on exit; every wait is bounded. Not
# part of scripts/test.sh.
set -euo pipefail

ROUNDS=3
DURATION=10
IDLE_CONNS=5000
WATCHERS=1000
BINARY=""
KEEP=0
RESUMPTION=1
BASELINE=""
HTTP1_SCENARIOS="keepalive,workers,newconn,put,idle,watch"
GRPC_SCENARIOS="grpc_range,grpc_put,grpc_put_token,grpc_watch"
SCENARIOS="$HTTP1_SCENARIOS"
GRPC_CONNS=4
GRPC_STREAMS=32
WATCH_CONNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --idle-conns) IDLE_CONNS="$2"; shift 2 ;;
    --watchers) WATCHERS="$2"; shift 2 ;;
    --binary) BINARY="$2"; shift 2 ;;
    --baseline) BASELINE="$2"; shift 2 ;;
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --grpc-conns) GRPC_CONNS="$2"; shift 2 ;;
    --grpc-streams) GRPC_STREAMS="$2"; shift 2 ;;
    --watch-conns) WATCH_CONNS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-resumption) RESUMPTION=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "run.sh: --baseline $BASELINE is not an executable" >&2; exit 2; }
[ "$SCENARIOS" != all ] || SCENARIOS="$HTTP1_SCENARIOS,$GRPC_SCENARIOS"
for s in ${SCENARIOS//,/ }; do
  case "$s" in
    keepalive|workers|newconn|put|idle|watch|grpc_range|grpc_put|grpc_put_token|grpc_watch) ;;
    *) echo "run.sh: unknown scenario '$s'" >&2; exit 2 ;;
  esac
done
wanted() { case ",$SCENARIOS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
wanted_any() { local s; for s in ${1//,/ }; do ! wanted "$s" || return 0; done; return 1; }
for v in ROUNDS DURATION IDLE_CONNS WATCHERS GRPC_CONNS GRPC_STREAMS WATCH_CONNS; do
  case "${!v}" in ''|*[!0-9]*|0) echo "run.sh: --$(echo "$v" | tr 'A-Z_' 'a-z-') needs a positive integer" >&2; exit 2 ;; esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
PROXY_CPU=0
LOAD_CPU=1
PASSWORD="bench-secret"
FIXED_PATH="/v2/keys/fixed"
FIXED_BODY='{"action":"get"}'
# etcd-tlsproxy's ACL; the gRPC scenarios add an open prefix (see start_grpc_proxy).
TLSPROXY_ACLS='{"/": [root], "/bench": [root]}'

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- packages
install_packages() {
  local missing=""
  command -v nginx >/dev/null || missing="$missing nginx-light"
  command -v haproxy >/dev/null || missing="$missing haproxy"
  command -v wrk >/dev/null || missing="$missing wrk"
  command -v etcd >/dev/null || missing="$missing etcd-server"
  command -v taskset >/dev/null || missing="$missing util-linux"
  command -v curl >/dev/null || missing="$missing curl"
  command -v openssl >/dev/null || missing="$missing openssl"
  command -v cmake >/dev/null || missing="$missing cmake"
  command -v h2load >/dev/null || missing="$missing nghttp2-client"
  command -v etcdctl >/dev/null || missing="$missing etcd-client"
  "$PY" -c 'import grpc' 2>/dev/null || missing="$missing python3-grpcio"
  "$PY" -c 'import etcd3.etcdrpc' 2>/dev/null || missing="$missing python3-etcd3"
  [ -n "$missing" ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # Keep the system nginx/haproxy/etcd services from starting on install.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  $sudo apt-get install -y -qq --no-install-recommends $missing >&2 || {
    [ "$made_policy" = 0 ] || $sudo rm -f /usr/sbin/policy-rc.d; die "apt-get install failed"; }
  [ "$made_policy" = 0 ] || $sudo rm -f /usr/sbin/policy-rc.d
  # The Debian build tool chain and libraries for etcd-tlsproxy itself.
  "$ROOT/scripts/install-deps.sh"
}

build_proxy() {
  if [ -n "$BINARY" ]; then
    [ -x "$BINARY" ] || die "--binary $BINARY is not an executable"
    return 0
  fi
  log "building etcd-tlsproxy (Release) in build-bench/"
  cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DTLSPROXY_TESTS=OFF >/dev/null
  cmake --build "$ROOT/build-bench" -j"$(nproc)" --target etcd-tlsproxy >/dev/null ||
    die "build failed (run: cmake --build $ROOT/build-bench --target etcd-tlsproxy)"
  BINARY="$ROOT/build-bench/etcd-tlsproxy"
}

# ---------------------------------------------------------------- processes
PIDS=()
TMP=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true; done
  if [ -n "$TMP" ]; then
    if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_gone PID SECONDS: true once PID has exited, false on timeout.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
  wait "$1" 2>/dev/null || true
}

# start_bg NAME CPUS CMD...: runs CMD in the background (taskset -c CPUS unless
# CPUS is "all"), logs to $TMP/NAME.log, sets BG_PID.
start_bg() {
  local name="$1" cpus="$2"; shift 2
  if [ "$cpus" = all ]; then
    "$@" >"$TMP/$name.log" 2>&1 &
  else
    taskset -c "$cpus" "$@" >"$TMP/$name.log" 2>&1 &
  fi
  BG_PID=$!
  PIDS+=("$BG_PID")
}

stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait_gone "$1" 10 || { kill -KILL "$1" 2>/dev/null || true; wait_gone "$1" 5 || true; }
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The process and its children (nginx: master + worker).
tree_pids() { echo "$1" $(pgrep -P "$1" || true); }

rss_kb() {
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

cpu_ticks() {
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# wait_http SECONDS CURL-ARGS...: until curl gets a 200.
wait_http() {
  local deadline=$((SECONDS + $1)); shift
  until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" 2>/dev/null)" = 200 ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- fixtures
make_certs() {
  local d="$TMP/pki"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
  cat "$d/server.pem" "$d/server.key" >"$d/server-combined.pem"  # HAProxy's crt
  chmod 644 "$d"/*
  CA="$d/ca.pem"; CERT="$d/server.pem"; KEY="$d/server.key"; COMBINED="$d/server-combined.pem"
  HASH=$(openssl passwd -6 "$PASSWORD")
  AUTH=$(printf 'root:%s' "$PASSWORD" | base64)
  printf 'root:%s\n' "$HASH" >"$TMP/htpasswd"
  chmod 644 "$TMP/htpasswd"
}

# nginx_common NAME: directives every nginx here shares (paths in $TMP/NAME).
nginx_common() {
  local d="$TMP/$1"
  mkdir -p "$d/tmp"
  cat <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $d/nginx.pid;
error_log $d/error.log warn;
$( [ "$(id -u)" -ne 0 ] || echo "user root;" )
events { worker_connections 12000; }
EOF
}

nginx_http_common() {
  local d="$TMP/$1"
  cat <<EOF
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  keepalive_timeout 600s;
  keepalive_requests 100000000;
EOF
}

start_fixed_upstream() {
  FIXED_PORT=$(free_port)
  mkdir -p "$TMP/fixed"
  { nginx_common fixed
    echo "http {"
    nginx_http_common fixed
    cat <<EOF
  server {
    listen 127.0.0.1:$FIXED_PORT reuseport backlog=4096;
    location / { default_type application/json; return 200 '$FIXED_BODY'; }
  }
}
EOF
  } >"$TMP/fixed/nginx.conf"
  start_bg fixed-upstream "$LOAD_CPU" nginx -p "$TMP/fixed/" -e "$TMP/fixed/error.log" -c "$TMP/fixed/nginx.conf"
  FIXED_PID=$BG_PID
  wait_http 10 "http://127.0.0.1:$FIXED_PORT/" || die "fixed upstream did not start: $(tail -5 "$TMP/fixed-upstream.log" "$TMP/fixed/error.log")"
}

start_etcd() {
  ETCD_PORT=$(free_port)
  local peer; peer=$(free_port)
  start_bg etcd all etcd --name bench --data-dir "$TMP/etcd-data" --enable-v2 \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench=http://127.0.0.1:$peer" --log-level warn
  ETCD_PID=$BG_PID
  wait_http 30 "http://127.0.0.1:$ETCD_PORT/v2/keys/" || die "etcd did not start: $(tail -5 "$TMP/etcd.log")"
  curl -s -o /dev/null -m 5 -X PUT "http://127.0.0.1:$ETCD_PORT/v2/keys/bench/k" -d value=init
}

# ---------------------------------------------------------------- proxies
WORKERS_SUPPORTED=0
probe_workers() {
  local cfg="$TMP/probe.yaml"
  tlsproxy_config "$cfg" "$(free_port)" "$FIXED_PORT" "workers: 2"
  if "$BINARY" --config "$cfg" --check >"$TMP/probe.log" 2>&1; then WORKERS_SUPPORTED=1; fi
}

# tlsproxy_config FILE PORT UPSTREAM_PORT EXTRA-LINE
tlsproxy_config() {
  cat >"$1" <<EOF
listen: ["127.0.0.1:$2"]
upstream: "http://127.0.0.1:$3"
tls: {cert: "$CERT", key: "$KEY"}
accounts: {root: "$HASH"}
acls: $TLSPROXY_ACLS
public_reads: true
admin_listen: "off"
log: {level: warn, access_log: "off"}
$4
EOF
}

nginx_proxy_config() {
  nginx_common nginx
  echo "http {"
  nginx_http_common nginx
  cat <<EOF
  upstream fixed { server 127.0.0.1:$FIXED_PORT; keepalive 64; }
  upstream etcd { server 127.0.0.1:$ETCD_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$1 ssl backlog=4096;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
$( [ "$RESUMPTION" = 1 ] || echo "    ssl_session_tickets off; ssl_session_cache off;" )
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header X-Real-IP \$remote_addr;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_read_timeout 3600s;
    location /v2/keys/bench {
      limit_except GET HEAD OPTIONS { auth_basic "etcd"; auth_basic_user_file $TMP/htpasswd; }
      proxy_pass http://etcd;
    }
    location / { proxy_pass http://fixed; }
  }
}
EOF
}

# HAProxy reads $6$ through crypt(3); check_equivalence falls back to
# insecure-password (and says so in the table) if that does not work here.
HAPROXY_PASSWORD_LINE=""
haproxy_config() {
  cat <<EOF
global
  nbthread 1
  maxconn 9000
$( [ "$RESUMPTION" = 1 ] || echo "  tune.ssl.cachesize 0" )
  log stderr format raw local0 warning
defaults
  mode http
  log global
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 5s
  timeout client 3600s
  timeout server 3600s
  timeout http-keep-alive 3600s
  timeout http-request 10s
userlist etcdusers
  ${HAPROXY_PASSWORD_LINE:-user root password $HASH}
frontend tls
  bind 127.0.0.1:$1 ssl crt $COMBINED$( [ "$RESUMPTION" = 1 ] || echo " no-tls-tickets" )
  acl bench path_beg /v2/keys/bench
  acl safe method GET HEAD OPTIONS
  acl authed http_auth(etcdusers)
  http-request auth realm etcd if bench !safe !authed
  use_backend etcd if bench
  default_backend fixed
backend fixed
  server fixed 127.0.0.1:$FIXED_PORT
backend etcd
  server etcd 127.0.0.1:$ETCD_PORT
EOF
}

# start_proxy SUBJECT TARGET: SUBJECT is tlsproxy | tlsproxy-w1 | tlsproxy-w2 |
# nginx | haproxy; TARGET (fixed | etcd) picks etcd-tlsproxy's one upstream
# (nginx and HAProxy route by path to both). Sets PROXY_PID and PROXY_PORT.
start_proxy() {
  local subject="$1" target="$2" up cpus="$PROXY_CPU" extra="" binary="$BINARY"
  PROXY_PORT=$(free_port)
  if [ "$target" = etcd ]; then up=$ETCD_PORT; else up=$FIXED_PORT; fi
  case "$subject" in
    tlsproxy|tlsproxy-w1|tlsproxy-w2|baseline-w1|baseline-w2)
      if [ "$WORKERS_SUPPORTED" = 1 ]; then extra="workers: 1"; fi
      case "$subject" in
        *-w1) cpus=all; extra="workers: 1" ;;
        *-w2) cpus=all; extra="workers: 2" ;;
      esac
      case "$subject" in baseline-*) binary="$BASELINE" ;; esac
      tlsproxy_config "$TMP/$subject.yaml" "$PROXY_PORT" "$up" "$extra"
      start_bg "$subject" "$cpus" "$binary" --config "$TMP/$subject.yaml" ;;
    nginx)
      mkdir -p "$TMP/nginx"
      nginx_proxy_config "$PROXY_PORT" >"$TMP/nginx/nginx.conf"
      start_bg nginx "$cpus" nginx -p "$TMP/nginx/" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" ;;
    haproxy)
      haproxy_config "$PROXY_PORT" >"$TMP/haproxy.cfg"
      start_bg haproxy "$cpus" haproxy -db -f "$TMP/haproxy.cfg" ;;
    *) die "unknown subject $subject" ;;
  esac
  PROXY_PID=$BG_PID
  local path=$FIXED_PATH
  [ "$target" = fixed ] || path=/version
  wait_http 15 --cacert "$CA" --resolve "localhost:$PROXY_PORT:127.0.0.1" "https://localhost:$PROXY_PORT$path" ||
    die "$subject did not start: $(tail -5 "$TMP/$subject.log")"
}

# Once per proxy: the same requests get the same answers (public GET, PUT
# without and with credentials), so the three are doing the same work.
check_equivalence() {
  local subject code body fail=""
  for subject in tlsproxy nginx haproxy; do
    for target in fixed etcd; do
      start_proxy "$subject" "$target"
      local c=(curl -s -m 5 --cacert "$CA" --resolve "localhost:$PROXY_PORT:127.0.0.1")
      local base="https://localhost:$PROXY_PORT"
      if [ "$target" = fixed ]; then
        body=$("${c[@]}" "$base$FIXED_PATH")
        [ "$body" = "$FIXED_BODY" ] || fail="$fail $subject:GET-fixed=$body"
        RESUMED[$subject]=$("$PY" "$HERE/tls_clients.py" resume --port "$PROXY_PORT" --cafile "$CA" \
          --path "$FIXED_PATH" | "$PY" -c 'import json,sys; print("yes" if json.load(sys.stdin)["resumed"] else "no")')
      else
        code=$("${c[@]}" -o /dev/null -w '%{http_code}' -X PUT "$base/v2/keys/bench/k" -d value=x)
        [ "$code" = 401 ] || fail="$fail $subject:PUT-no-auth=$code"
        code=$("${c[@]}" -o /dev/null -w '%{http_code}' -u "root:$PASSWORD" -X PUT "$base/v2/keys/bench/k" -d value=x)
        if [ "$subject" = haproxy ] && [ "$code" = 401 ] && [ -z "$HAPROXY_PASSWORD_LINE" ]; then
          log "HAProxy refused the \$6\$ password; falling back to insecure-password"
          HAPROXY_PASSWORD_LINE="user root insecure-password $PASSWORD"
          NOTES+=("HAProxy could not check the \$6\$ hash here, so its userlist uses insecure-password (no crypt per request): its PUT figure is flattered.")
          stop_pid "$PROXY_PID"; start_proxy "$subject" "$target"
          code=$("${c[@]}" -o /dev/null -w '%{http_code}' -u "root:$PASSWORD" -X PUT "$base/v2/keys/bench/k" -d value=x)
        fi
        case "$code" in 200|201) ;; *) fail="$fail $subject:PUT-auth=$code" ;; esac
        code=$("${c[@]}" -o /dev/null -w '%{http_code}' "$base/v2/keys/bench/k")
        [ "$code" = 200 ] || fail="$fail $subject:GET-etcd=$code"
      fi
      stop_pid "$PROXY_PID"
    done
  done
  [ -z "$fail" ] || die "proxies do not behave alike:$fail"
}

# ---------------------------------------------------------------- measuring
RESULTS=""
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# wrk_run OUT CPUS ARGS...: runs wrk (bounded) into OUT.
wrk_run() {
  local out="$1" cpus="$2"; shift 2
  local pin=(taskset -c "$cpus")
  [ "$cpus" != all ] || pin=()
  timeout $((DURATION + 30)) "${pin[@]}" wrk --latency --timeout 10s "$@" >"$out" 2>&1 ||
    die "wrk failed: $(tail -3 "$out")"
}

# parse_wrk FILE: "rps p99_ms errors" from wrk --latency output.
parse_wrk() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                     if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    END { printf "%s %.3f %d\n", rps, p99, err }' "$1"
}

# measure_wrk ROUND SCENARIO SUBJECT PID URL CPUS WRK-ARGS...
measure_wrk() {
  local round="$1" scenario="$2" subject="$3" pid="$4" url="$5" cpus="$6"; shift 6
  local out="$TMP/wrk-$scenario-$subject-$round"
  wrk_run "$out.warmup" "$cpus" -d1s "$@" "$url"
  local t0 t1; t0=$(cpu_ticks "$pid")
  wrk_run "$out" "$cpus" -d"${DURATION}s" "$@" "$url"
  t1=$(cpu_ticks "$pid")
  read -r rps p99 errors < <(parse_wrk "$out")
  record "$round" "$scenario" "$subject" rps "$rps"
  record "$round" "$scenario" "$subject" p99_ms "$p99"
  record "$round" "$scenario" "$subject" errors "$errors"
  if [ "$pid" != 0 ]; then
    local hz; hz=$(getconf CLK_TCK)
    record "$round" "$scenario" "$subject" cpu_pct \
      "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$DURATION" 'BEGIN { printf "%.0f", 100 * d / hz / s }')"
    record "$round" "$scenario" "$subject" cpu_us_per_req \
      "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$rps" -v s="$DURATION" 'BEGIN { printf "%.1f", (n > 0 ? 1e6 * d / hz / (n * s) : 0) }')"
  fi
  log "  $scenario $subject: $rps req/s, p99 ${p99} ms, errors $errors"
}

scenario_keepalive() {  # ROUND SUBJECT
  start_proxy "$2" fixed
  local cpus=$LOAD_CPU
  case "$2" in *-w1|*-w2) cpus=all ;; esac
  measure_wrk "$1" keepalive "$2" "$PROXY_PID" "https://127.0.0.1:$PROXY_PORT$FIXED_PATH" "$cpus" -t1 -c50
  stop_pid "$PROXY_PID"
}

scenario_newconn() {
  start_proxy "$2" fixed
  measure_wrk "$1" newconn "$2" "$PROXY_PID" "https://127.0.0.1:$PROXY_PORT$FIXED_PATH" "$LOAD_CPU" \
    -t1 -c50 -H 'Connection: close'
  stop_pid "$PROXY_PID"
}

scenario_put() {
  if [ "$2" = etcd ]; then
    BENCH_AUTH="" measure_wrk "$1" put etcd 0 "http://127.0.0.1:$ETCD_PORT/v2/keys/bench/k" "$LOAD_CPU" \
      -t1 -c20 -s "$HERE/put.lua"
    return
  fi
  start_proxy "$2" etcd
  BENCH_AUTH="$AUTH" measure_wrk "$1" put "$2" "$PROXY_PID" "https://127.0.0.1:$PROXY_PORT/v2/keys/bench/k" \
    "$LOAD_CPU" -t1 -c20 -s "$HERE/put.lua"
  stop_pid "$PROXY_PID"
}

scenario_idle() {
  start_proxy "$2" fixed
  sleep 0.5
  local before after out="$TMP/idle-$2-$1.out"
  before=$(rss_kb "$PROXY_PID")
  start_bg "idle-$2-$1" "$LOAD_CPU" "$PY" "$HERE/tls_clients.py" idle --port "$PROXY_PORT" --cafile "$CA" \
    --count "$IDLE_CONNS" --path "$FIXED_PATH" --deadline 120 --hold 300
  local client=$BG_PID deadline=$((SECONDS + 150))
  until grep -q '"event": "\(ready\|timeout\)"' "$TMP/idle-$2-$1.log" 2>/dev/null; do
    kill -0 "$client" 2>/dev/null || die "idle client died: $(tail -3 "$TMP/idle-$2-$1.log")"
    [ "$SECONDS" -lt "$deadline" ] || die "idle client never got ready"
    sleep 0.2
  done
  sleep 1
  after=$(rss_kb "$PROXY_PID")
  stop_pid "$client"
  cp "$TMP/idle-$2-$1.log" "$out"
  local held dropped
  held=$("$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["held"])' <"$out")
  dropped=$(sed -n 2p "$out" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline() or "{}").get("dropped", 0))')
  local non200
  non200=$("$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["non_200"])' <"$out")
  [ "$held" = "$IDLE_CONNS" ] && [ "$non200" = 0 ] || die "$2 held only $held of $IDLE_CONNS idle connections: $(head -1 "$out")"
  record "$1" idle "$2" kib_per_conn "$(awk -v a="$after" -v b="$before" -v n="$IDLE_CONNS" 'BEGIN { printf "%.2f", (a - b) / n }')"
  record "$1" idle "$2" rss_before_kib "$before"
  record "$1" idle "$2" rss_after_kib "$after"
  record "$1" idle "$2" errors "$dropped"
  log "  idle $2: RSS $before -> $after KiB for $IDLE_CONNS connections, dropped $dropped"
  stop_pid "$PROXY_PID"
}

scenario_watch() {
  local port cafile=() pid=0
  if [ "$2" = etcd ]; then
    port=$ETCD_PORT
  else
    start_proxy "$2" etcd
    port=$PROXY_PORT; cafile=(--cafile "$CA"); pid=$PROXY_PID
  fi
  local out="$TMP/watch-$2-$1.out"
  timeout 150 taskset -c "$LOAD_CPU" "$PY" "$HERE/tls_clients.py" watch --port "$port" "${cafile[@]}" \
    --count "$WATCHERS" --path /v2/keys/bench/w --etcd "127.0.0.1:$ETCD_PORT" --deadline 120 >"$out" 2>&1 ||
    die "watch client failed for $2: $(tail -3 "$out")"
  local ok all
  read -r ok all < <("$PY" -c 'import json,sys; r=json.loads(sys.stdin.readlines()[-1]); print(r["ok"], r["all_ms"])' <"$out")
  [ "$ok" = True ] || die "watch fan-out through $2 incomplete: $(tail -1 "$out")"
  record "$1" watch "$2" all_ms "$all"
  log "  watch $2: all $WATCHERS watchers answered in $all ms"
  [ "$pid" = 0 ] || stop_pid "$pid"
}

# ---------------------------------------------------------------- gRPC
GRPC_PY="$HERE/grpc_clients.py"
GRPC_RANGE_KEY=/bench/r               # public read
GRPC_OPEN_KEY=/eventlogging/bench     # writable anonymously through etcd-tlsproxy
GRPC_TOKEN_KEY=/bench/token           # root only
GRPC_VALUE=0123456789abcdef
RANGE_PATH=/etcdserverpb.KV/Range
PUT_PATH=/etcdserverpb.KV/Put

# grpc_py CMD ARGS...: the Python gRPC client on the load core, bounded.
grpc_py() { timeout 60 taskset -c "$LOAD_CPU" "$PY" "$GRPC_PY" "$@"; }

# json_field FIELD: one field of the JSON line on stdin.
json_field() { "$PY" -c 'import json,sys; v=json.loads(sys.stdin.readline()).get(sys.argv[1]); print("" if v is None else v)' "$1"; }

grpc_fixtures() {
  mkdir -p "$TMP/grpc"
  grpc_py body range --key "$GRPC_RANGE_KEY" --out "$TMP/grpc/range.bin" >/dev/null
  grpc_py body put --key "$GRPC_OPEN_KEY" --value "$GRPC_VALUE" --out "$TMP/grpc/put.bin" >/dev/null
  grpc_py body put --key "$GRPC_TOKEN_KEY" --value "$GRPC_VALUE" --out "$TMP/grpc/put-token.bin" >/dev/null
  grpc_py body put --key "$GRPC_RANGE_KEY" --value "$GRPC_VALUE" --out "$TMP/grpc/seed.bin" >/dev/null
  local code
  code=$(grpc_py call --target "127.0.0.1:$ETCD_PORT" --method "$PUT_PATH" --body "$TMP/grpc/seed.bin" | json_field code)
  [ "$code" = 0 ] || die "could not seed $GRPC_RANGE_KEY in etcd (grpc-status $code)"
}

# A second etcd with its own auth on: user root (etcd keeps a bcrypt hash),
# simple tokens (3.4's default --auth-token), for the etcd-auth subject.
start_etcd_auth() {
  ETCD_AUTH_PORT=$(free_port)
  local peer; peer=$(free_port)
  start_bg etcd-auth all etcd --name bench-auth --data-dir "$TMP/etcd-auth-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_AUTH_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_AUTH_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench-auth=http://127.0.0.1:$peer" --auth-token simple --log-level warn
  ETCD_AUTH_PID=$BG_PID
  wait_http 30 "http://127.0.0.1:$ETCD_AUTH_PORT/version" || die "second etcd did not start: $(tail -5 "$TMP/etcd-auth.log")"
  local ctl=(timeout 20 etcdctl --endpoints "http://127.0.0.1:$ETCD_AUTH_PORT")
  # (etcdctl auth enable grants root the root role itself, after a logged retry)
  "${ctl[@]}" user add root --new-user-password "$PASSWORD" >>"$TMP/etcdctl.log" 2>&1 ||
    die "etcdctl user add failed: $(tail -3 "$TMP/etcdctl.log")"
  "${ctl[@]}" auth enable >>"$TMP/etcdctl.log" 2>&1 || die "etcdctl auth enable failed: $(tail -3 "$TMP/etcdctl.log")"
}

nginx_grpc_config() {
  nginx_common nginx-grpc
  echo "http {"
  nginx_http_common nginx-grpc
  # nginx speaks HTTP/2 upstream one stream per connection: the keepalive pool
  # (more than the streams in flight) keeps it from connecting per call;
  # keepalive_requests (above and here) replaces 1.22's obsolete
  # http2_max_requests.
  cat <<EOF
  upstream etcd_grpc {
    server 127.0.0.1:$ETCD_PORT;
    keepalive 512;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
  }
  server {
    listen 127.0.0.1:$1 ssl http2 backlog=4096;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    http2_max_concurrent_streams 128;
    location / {
      grpc_pass grpc://etcd_grpc;
      grpc_read_timeout 1h;
      grpc_send_timeout 1h;
    }
  }
}
EOF
}

haproxy_grpc_config() {
  cat <<EOF
global
  nbthread 1
  maxconn 9000
  log stderr format raw local0 warning
defaults
  mode http
  log global
  http-reuse always
  timeout connect 5s
  timeout client 3600s
  timeout server 3600s
  timeout http-keep-alive 3600s
  timeout http-request 10s
frontend grpc
  bind 127.0.0.1:$1 ssl crt $COMBINED alpn h2,http/1.1
  default_backend etcd_h2
backend etcd_h2
  server etcd 127.0.0.1:$ETCD_PORT proto h2
EOF
}

# start_grpc_proxy SUBJECT: tlsproxy (workers: 1) | nginx | haproxy, on core 0,
# in front of the bench etcd; ready once a Range through it answers 0. Sets
# PROXY_PID and PROXY_PORT.
start_grpc_proxy() {
  PROXY_PORT=$(free_port)
  case "$1" in
    tlsproxy)
      local extra=""
      [ "$WORKERS_SUPPORTED" = 0 ] || extra="workers: 1"
      TLSPROXY_ACLS='{"/": [root], "/bench": [root], "/eventlogging": []}' \
        tlsproxy_config "$TMP/grpc-tlsproxy.yaml" "$PROXY_PORT" "$ETCD_PORT" "$extra"
      start_bg grpc-tlsproxy "$PROXY_CPU" "$BINARY" --config "$TMP/grpc-tlsproxy.yaml" ;;
    nginx)
      mkdir -p "$TMP/nginx-grpc"
      nginx_grpc_config "$PROXY_PORT" >"$TMP/nginx-grpc/nginx.conf"
      start_bg grpc-nginx "$PROXY_CPU" nginx -p "$TMP/nginx-grpc/" -e "$TMP/nginx-grpc/error.log" \
        -c "$TMP/nginx-grpc/nginx.conf" ;;
    haproxy)
      haproxy_grpc_config "$PROXY_PORT" >"$TMP/haproxy-grpc.cfg"
      start_bg grpc-haproxy "$PROXY_CPU" haproxy -db -f "$TMP/haproxy-grpc.cfg" ;;
    *) die "unknown gRPC subject $1" ;;
  esac
  PROXY_PID=$BG_PID
  local code
  code=$(grpc_py call --target "127.0.0.1:$PROXY_PORT" --cafile "$CA" --deadline 15 --method "$RANGE_PATH" \
    --body "$TMP/grpc/range.bin" | json_field code) || true
  [ "$code" = 0 ] || die "$1 (gRPC) did not start or answered grpc-status '$code': $(tail -5 "$TMP/grpc-$1.log")"
}

# grpc_target SUBJECT: "--target HOST:PORT [--cafile CA]" for the Python client.
grpc_target() {
  case "$1" in
    etcd) echo "--target 127.0.0.1:$ETCD_PORT" ;;
    etcd-auth) echo "--target 127.0.0.1:$ETCD_AUTH_PORT" ;;
    *) echo "--target 127.0.0.1:$PROXY_PORT --cafile $CA" ;;
  esac
}

# grpc_login SUBJECT: a token from SUBJECT's Auth/Authenticate (root).
grpc_login() {
  local out token
  # shellcheck disable=SC2046
  out=$(grpc_py login $(grpc_target "$1") --user root --password "$PASSWORD") || true
  token=$(echo "$out" | json_field token)
  [ -n "$token" ] || die "login to $1 failed: $out"
  echo "$token"
}

# grpc_status SUBJECT PATH BODY [TOKEN]: grpc-status of one call with h2load's bytes.
grpc_status() {
  local tok=()
  [ -z "${4:-}" ] || tok=(--token "$4")
  # shellcheck disable=SC2046
  grpc_py call $(grpc_target "$1") --method "$2" --body "$3" "${tok[@]}" | json_field code
}

# etcd_revision SUBJECT [TOKEN]: the revision of the etcd behind SUBJECT, asked
# directly (the token only for etcd-auth: etcd 3.4 without auth refuses any token).
etcd_revision() {
  local target="etcd" tok=()
  if [ "$1" = etcd-auth ]; then target=etcd-auth; tok=(--token "$2"); fi
  # shellcheck disable=SC2046
  grpc_py revision $(grpc_target "$target") "${tok[@]}" | json_field revision
}

# etcd_compact SUBJECT: compacts the etcd behind SUBJECT to its current
# revision and defragments it, so every measurement starts from the same small
# store (without it, after a round's million Puts etcd spent twice the CPU per
# Range in the next round, whichever proxy was in front).
etcd_compact() {
  local ctl=(timeout 130 etcdctl --command-timeout 120s --endpoints "http://127.0.0.1:$ETCD_PORT") rev
  [ "$1" != etcd-auth ] || ctl=(timeout 130 etcdctl --command-timeout 120s --endpoints "http://127.0.0.1:$ETCD_AUTH_PORT" --user "root:$PASSWORD")
  rev=$("${ctl[@]}" get / -w json 2>>"$TMP/etcdctl.log" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])') ||
    die "could not read etcd's revision: $(tail -3 "$TMP/etcdctl.log")"
  local out
  # (compacting again at the same revision is refused as already compacted: fine)
  out=$("${ctl[@]}" compact "$rev" --physical 2>&1) || case "$out" in
    *"required revision has been compacted"*) ;;
    *) die "etcdctl compact failed: $out" ;;
  esac
  "${ctl[@]}" defrag >>"$TMP/etcdctl.log" 2>&1 || die "etcdctl defrag failed: $(tail -3 "$TMP/etcdctl.log")"
}

# Once, before measuring: every subject answers the benchmark's calls with
# grpc-status 0, and the token key really needs the token.
check_grpc_equivalence() {
  local subject fail="" code token
  for subject in tlsproxy nginx haproxy etcd; do
    [ "$subject" = etcd ] || start_grpc_proxy "$subject"
    code=$(grpc_status "$subject" "$RANGE_PATH" "$TMP/grpc/range.bin"); [ "$code" = 0 ] || fail="$fail $subject:Range=$code"
    code=$(grpc_status "$subject" "$PUT_PATH" "$TMP/grpc/put.bin"); [ "$code" = 0 ] || fail="$fail $subject:Put=$code"
    if [ "$subject" = tlsproxy ]; then
      code=$(grpc_status tlsproxy "$PUT_PATH" "$TMP/grpc/put-token.bin")
      case "$code" in 3|7) ;; *) fail="$fail tlsproxy:Put-root-key-without-token=$code" ;; esac
      token=$(grpc_login tlsproxy)
      code=$(grpc_status tlsproxy "$PUT_PATH" "$TMP/grpc/put-token.bin" "$token")
      [ "$code" = 0 ] || fail="$fail tlsproxy:Put-with-token=$code"
    fi
    [ "$subject" = etcd ] || stop_pid "$PROXY_PID"
  done
  if wanted grpc_put_token; then
    code=$(grpc_status etcd-auth "$PUT_PATH" "$TMP/grpc/put-token.bin")
    [ "$code" != 0 ] || fail="$fail etcd-auth:Put-without-token=0"
    token=$(grpc_login etcd-auth)
    code=$(grpc_status etcd-auth "$PUT_PATH" "$TMP/grpc/put-token.bin" "$token")
    [ "$code" = 0 ] || fail="$fail etcd-auth:Put-with-token=$code"
  fi
  [ -z "$fail" ] || die "gRPC subjects do not behave alike:$fail"
}

# h2load_run OUT URL BODY TOKEN SECONDS [--log-file F]: bounded, on the load core.
h2load_run() {
  local out="$1" url="$2" body="$3" token="$4" secs="$5"; shift 5
  local hdr=(-H 'content-type: application/grpc' -H 'te: trailers')
  [ -z "$token" ] || hdr+=(-H "token: $token")
  local alpn=()
  case "$url" in https:*) alpn=(--npn-list h2) ;; esac
  timeout $((secs + 30)) taskset -c "$LOAD_CPU" h2load "${alpn[@]}" -t1 -c "$GRPC_CONNS" -m "$GRPC_STREAMS" \
    -D "$secs" -d "$body" "${hdr[@]}" "$@" "$url" >"$out" 2>&1 || die "h2load failed: $(tail -3 "$out")"
  case "$url" in
    https:*) grep -q '^Application protocol: h2$' "$out" || die "h2load did not negotiate h2: $(grep -i protocol "$out")" ;;
  esac
}

# parse_h2load OUT LOG: "rps succeeded errors p50_ms p99_ms".
parse_h2load() {
  local rps ok errors
  read -r rps ok errors < <(awk '
    /^finished in/ { rps = $4 }
    /^requests:/ { ok = $8; err = $10 + $12 + $14 }          # N total, N started, N done, N succeeded, N failed, N errored, N timeout
    /^status codes:/ { err += $5 + $7 + $9 }                 # N 2xx, N 3xx, N 4xx, N 5xx
    END { printf "%s %d %d\n", rps, ok, err }' "$1")
  local p50 p99
  read -r p50 p99 < <(awk '$2 == 200 { print $3 }' "$2" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0"; exit }
           i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999);
           printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }')
  echo "$rps $ok $errors $p50 $p99"
}

# measure_h2load ROUND SCENARIO SUBJECT PROXY-PID BASE-URL PATH BODY TOKEN ETCD-PID
measure_h2load() {
  local round="$1" scenario="$2" subject="$3" pid="$4" path="$6" body="$7" token="$8" epid="$9"
  local url="$5$6" out="$TMP/h2load-$scenario-$subject-$round" is_put=0
  [ "$path" != "$PUT_PATH" ] || is_put=1
  etcd_compact "$subject"
  h2load_run "$out.warmup" "$url" "$body" "$token" 1
  local rev0=0 rev1=0
  [ "$is_put" = 0 ] || rev0=$(etcd_revision "$subject" "$token")
  local t0 t1 e0 e1
  t0=0; t1=0
  [ "$pid" = 0 ] || t0=$(cpu_ticks "$pid")
  e0=$(cpu_ticks "$epid")
  h2load_run "$out" "$url" "$body" "$token" "$DURATION" --log-file "$out.log"
  [ "$pid" = 0 ] || t1=$(cpu_ticks "$pid")
  e1=$(cpu_ticks "$epid")
  local rps ok errors p50 p99
  read -r rps ok errors p50 p99 < <(parse_h2load "$out" "$out.log")
  rm -f "$out.log"
  # h2load saw only :status; the same bytes once more, for grpc-status.
  local code; code=$(grpc_status "$subject" "$path" "$body" "$token")
  [ "$code" = 0 ] || die "$scenario through $subject: a sample call got grpc-status $code"
  if [ "$is_put" = 1 ]; then
    rev1=$(etcd_revision "$subject" "$token")
    [ $((rev1 - rev0)) -ge "$ok" ] ||
      die "$scenario through $subject: etcd's revision moved by $((rev1 - rev0)) for $ok calls h2load counted as done"
  fi
  local hz; hz=$(getconf CLK_TCK)
  record "$round" "$scenario" "$subject" rps "$rps"
  record "$round" "$scenario" "$subject" p50_ms "$p50"
  record "$round" "$scenario" "$subject" p99_ms "$p99"
  record "$round" "$scenario" "$subject" errors "$errors"
  record "$round" "$scenario" "$subject" calls "$ok"
  if [ "$pid" != 0 ]; then
    record "$round" "$scenario" "$subject" cpu_pct \
      "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$DURATION" 'BEGIN { printf "%.0f", 100 * d / hz / s }')"
    record "$round" "$scenario" "$subject" cpu_us_per_call \
      "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.1f", (n > 0 ? 1e6 * d / hz / n : 0) }')"
  fi
  record "$round" "$scenario" "$subject" etcd_cpu_us_per_call \
    "$(awk -v d=$((e1 - e0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.1f", (n > 0 ? 1e6 * d / hz / n : 0) }')"
  log "  $scenario $subject: $rps calls/s, p99 $p99 ms, errors $errors, proxy CPU $((t1 - t0)) ticks for $ok calls"
}

# scenario_grpc_unary ROUND SCENARIO SUBJECT: grpc_range or grpc_put.
scenario_grpc_unary() {
  local path="$RANGE_PATH" body="$TMP/grpc/range.bin"
  [ "$2" = grpc_range ] || { path="$PUT_PATH"; body="$TMP/grpc/put.bin"; }
  if [ "$3" = etcd ]; then
    measure_h2load "$1" "$2" etcd 0 "http://127.0.0.1:$ETCD_PORT" "$path" "$body" "" "$ETCD_PID"
    return
  fi
  start_grpc_proxy "$3"
  measure_h2load "$1" "$2" "$3" "$PROXY_PID" "https://127.0.0.1:$PROXY_PORT" "$path" "$body" "" "$ETCD_PID"
  stop_pid "$PROXY_PID"
}

# scenario_grpc_put_token ROUND SUBJECT: tlsproxy (its token, etcd without
# auth behind it) | etcd-auth (etcd's token) | etcd (no auth, no token).
scenario_grpc_put_token() {
  local body="$TMP/grpc/put-token.bin" token
  case "$2" in
    tlsproxy)
      start_grpc_proxy tlsproxy
      token=$(grpc_login tlsproxy)
      measure_h2load "$1" grpc_put_token tlsproxy "$PROXY_PID" "https://127.0.0.1:$PROXY_PORT" "$PUT_PATH" \
        "$body" "$token" "$ETCD_PID"
      stop_pid "$PROXY_PID" ;;
    etcd-auth)
      token=$(grpc_login etcd-auth)  # afresh: simple tokens expire after 300 s unused
      measure_h2load "$1" grpc_put_token etcd-auth 0 "http://127.0.0.1:$ETCD_AUTH_PORT" "$PUT_PATH" \
        "$body" "$token" "$ETCD_AUTH_PID" ;;
    etcd)
      measure_h2load "$1" grpc_put_token etcd 0 "http://127.0.0.1:$ETCD_PORT" "$PUT_PATH" "$body" "" "$ETCD_PID" ;;
  esac
}

scenario_grpc_watch() {
  local pid=0 rss_pids
  if [ "$2" = etcd ]; then
    rss_pids=$ETCD_PID
  else
    start_grpc_proxy "$2"
    pid=$PROXY_PID
    rss_pids=$(tree_pids "$PROXY_PID" | tr ' ' ,)
  fi
  local out="$TMP/grpc-watch-$2-$1.out"
  # shellcheck disable=SC2046
  timeout 150 taskset -c "$LOAD_CPU" "$PY" "$GRPC_PY" watch $(grpc_target "$2") --count "$WATCHERS" \
    --conns "$WATCH_CONNS" --key /bench/gw --etcd "127.0.0.1:$ETCD_PORT" --rss-pids "$rss_pids" \
    --deadline 100 >"$out" 2>&1 || die "gRPC watch client failed for $2: $(tail -3 "$out")"
  local ok all before after setup
  read -r ok all before after setup < <("$PY" -c 'import json,sys; r=json.loads(sys.stdin.readlines()[-1]); print(r["ok"], r["all_ms"], r["rss_before_kib"], r["rss_after_kib"], r["setup_ms"])' <"$out")
  [ "$ok" = True ] || die "gRPC watch fan-out through $2 incomplete: $(tail -1 "$out")"
  record "$1" grpc_watch "$2" all_ms "$all"
  record "$1" grpc_watch "$2" setup_ms "$setup"
  record "$1" grpc_watch "$2" rss_before_kib "$before"
  record "$1" grpc_watch "$2" rss_after_kib "$after"
  # etcd's own RSS moves with Go's garbage collector: recorded, not divided.
  [ "$2" = etcd ] || record "$1" grpc_watch "$2" kib_per_watcher \
    "$(awk -v a="$after" -v b="$before" -v n="$WATCHERS" 'BEGIN { printf "%.2f", (a - b) / n }')"
  log "  grpc_watch $2: all $WATCHERS watchers had the event in $all ms; RSS $before -> $after KiB"
  [ "$pid" = 0 ] || stop_pid "$pid"
}

# taskset_tree PID CPUS: re-pins every thread of PID and its children.
taskset_tree() {
  local p
  for p in $(tree_pids "$1"); do taskset -a -p -c "$2" "$p" >/dev/null; done
}

# ---------------------------------------------------------------- main
NOTES=()
declare -A RESUMED=()
main() {
  install_packages
  build_proxy
  ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  [ "$(ulimit -n)" -ge $((IDLE_CONNS + 1000)) ] || die "fd limit $(ulimit -n) is too low for $IDLE_CONNS connections"
  [ "$(nproc)" -ge 2 ] || die "needs 2 cores (proxy on core 0, load on core 1); nproc is $(nproc)"
  TMP=$(mktemp -d /tmp/tlsproxy-bench.XXXXXX)
  chmod 755 "$TMP"
  RESULTS="$TMP/results.tsv"
  LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
  : >"$RESULTS"
  make_certs
  start_fixed_upstream
  start_etcd
  probe_workers
  [ "$WORKERS_SUPPORTED" = 1 ] || NOTES+=("workers not supported yet (\`--check\` refused \`workers: 2\`): etcd-tlsproxy ran with its default, the workers rows are skipped.")
  if wanted_any "$HTTP1_SCENARIOS"; then
    check_equivalence
    NOTES+=("TLS session resumption offered to a returning client (so wrk's new connections resume there): etcd-tlsproxy ${RESUMED[tlsproxy]}, nginx ${RESUMED[nginx]}, HAProxy ${RESUMED[haproxy]}$( [ "$RESUMPTION" = 1 ] && echo " (each proxy's default; --no-resumption turns it off in nginx and HAProxy)" || echo " (--no-resumption: off in nginx and HAProxy)").")
  fi
  if wanted_any "$GRPC_SCENARIOS"; then
    grpc_fixtures
    ! wanted grpc_put_token || start_etcd_auth
    check_grpc_equivalence
  fi
  log "fixed upstream :$FIXED_PORT, etcd :$ETCD_PORT, workers supported: $WORKERS_SUPPORTED"

  local round subject
  for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    if wanted keepalive; then
      for subject in tlsproxy nginx haproxy; do scenario_keepalive "$round" "$subject"; done
    fi
    if wanted workers && [ "$WORKERS_SUPPORTED" = 1 ]; then
      local subjects=(tlsproxy-w1 tlsproxy-w2)
      [ -z "$BASELINE" ] || subjects=(tlsproxy-w1 baseline-w1 tlsproxy-w2 baseline-w2)
      taskset_tree "$FIXED_PID" 0,1
      for subject in "${subjects[@]}"; do scenario_keepalive "$round" "$subject"; done
      taskset_tree "$FIXED_PID" "$LOAD_CPU"
    fi
    if wanted newconn; then
      for subject in tlsproxy nginx haproxy; do scenario_newconn "$round" "$subject"; done
    fi
    if wanted put; then
      for subject in tlsproxy nginx haproxy etcd; do scenario_put "$round" "$subject"; done
    fi
    if wanted idle; then
      for subject in tlsproxy nginx haproxy; do scenario_idle "$round" "$subject"; done
    fi
    if wanted watch; then
      for subject in tlsproxy nginx haproxy etcd; do scenario_watch "$round" "$subject"; done
    fi
    if wanted grpc_range; then
      for subject in tlsproxy nginx haproxy etcd; do scenario_grpc_unary "$round" grpc_range "$subject"; done
    fi
    if wanted grpc_put; then
      for subject in tlsproxy nginx haproxy etcd; do scenario_grpc_unary "$round" grpc_put "$subject"; done
    fi
    if wanted grpc_put_token; then
      for subject in tlsproxy etcd-auth etcd; do scenario_grpc_put_token "$round" "$subject"; done
    fi
    if wanted grpc_watch; then
      for subject in tlsproxy nginx haproxy etcd; do scenario_grpc_watch "$round" "$subject"; done
    fi
  done

  local meta="$TMP/meta.tsv"
  {
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'machine\t%s cores (nproc), %s, %s MiB RAM, Linux %s\n' "$(nproc)" \
      "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
      "$(awk '/^MemTotal/ {printf "%d", $2 / 1024}' /proc/meminfo)" "$(uname -r)"
    printf 'versions\tetcd-tlsproxy %s (git %s); %s; %s; wrk %s; etcd %s; %s\n' \
      "$("$BINARY" --version 2>&1 | head -1 | awk '{print $NF}')" \
      "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')" \
      "$(nginx -v 2>&1 | sed 's/^nginx version: //')" \
      "$(haproxy -v 2>&1 | head -1 | awk '{print "HAProxy " $3}')" \
      "$(wrk -v 2>&1 | head -1 | awk '{print $2}')" \
      "$(etcd --version 2>&1 | head -1 | awk '{print $3}')" \
      "$(openssl version | awk '{print "OpenSSL " $2}')"
    printf 'load\tload average %s at the start (other work on the machine skews every figure)\n' \
      "$LOAD_AT_START"
    printf 'settings\trounds: %s; %s s per wrk run (after a 1 s warm-up), %s idle connections, %s watchers\n' \
      "$ROUNDS" "$DURATION" "$IDLE_CONNS" "$WATCHERS"
    printf 'grpc_settings\trounds: %s; %s s per h2load run (after a separate 1 s run as warm-up), h2load -t1 -c%s -m%s (%s streams in flight); %s gRPC watchers (one Watch stream each) over %s connections\n' \
      "$ROUNDS" "$DURATION" "$GRPC_CONNS" "$GRPC_STREAMS" $((GRPC_CONNS * GRPC_STREAMS)) "$WATCHERS" "$WATCH_CONNS"
    printf 'grpc_versions\th2load %s; python3-grpcio %s; etcd %s (auth subject: a second etcd, --auth-token simple, user root)\n' \
      "$(h2load --version 2>&1 | awk '{print $NF}')" "$("$PY" -c 'import grpc; print(grpc.__version__)' 2>/dev/null)" \
      "$(etcd --version 2>&1 | head -1 | awk '{print $3}')"
    printf 'workers_supported\t%s\n' "$WORKERS_SUPPORTED"
    [ -z "$BASELINE" ] || printf 'baseline\t%s (%s)\n' "$BASELINE" \
      "$("$BASELINE" --version 2>&1 | head -1)"
    local n; for n in "${NOTES[@]}"; do printf 'note\t%s\n' "$n"; done
  } >"$meta"
  # HTTP/1.1 and gRPC results go to separate files, so a run of one kind
  # keeps the other's latest results.
  if wanted_any "$HTTP1_SCENARIOS"; then
    awk -F'\t' '$2 !~ /^grpc_/' "$RESULTS" >"$TMP/results-http1.tsv"
    "$PY" "$HERE/report.py" "$TMP/results-http1.tsv" "$meta" | tee "$HERE/results-latest.md"
    cp "$TMP/results-http1.tsv" "$HERE/results-latest.tsv"
    log "wrote tests/bench/results-latest.md"
  fi
  if wanted_any "$GRPC_SCENARIOS"; then
    awk -F'\t' '$2 ~ /^grpc_/' "$RESULTS" >"$TMP/results-grpc.tsv"
    "$PY" "$HERE/report.py" --grpc "$TMP/results-grpc.tsv" "$meta" | tee "$HERE/results-grpc-latest.md"
    cp "$TMP/results-grpc.tsv" "$HERE/results-grpc-latest.tsv"
    log "wrote tests/bench/results-grpc-latest.md"
  fi
}

main
