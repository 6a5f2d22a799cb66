#!/usr/bin/python3
"""Many concurrent HTTP/1.1 clients (TLS or plaintext) on one thread, for the benchmark.

Two jobs, one per subcommand:

  idle   Open COUNT keep-alive connections, complete each handshake, send one
         GET each and read its whole response, then hold them all open.
         Prints one JSON line {"event": "ready", ...} once all are held, then
         keeps watching them (a connection the server closes is counted and
         reported as {"event": "dropped", ...}) until SIGTERM or --hold passes.

  resume Two connections in a row, the second offering the first's session
         (read after one GET, so TLS 1.3 tickets have arrived). Prints
         {"resumed": true|false}: whether the server resumed it.

  watch  Open COUNT connections that each send one long-poll GET
         (`?wait=true`), wait until etcd itself reports that many watchers
         (GET --etcd/v2/stats/store), write the key once directly to etcd, and
         time until every watcher has received its whole response. Prints one
         JSON line with the result.

Everything is bounded by --deadline (seconds). Standard library only; uses
selectors and non-blocking ssl sockets, because asyncio's SSL transport keeps
a 256 KiB buffer per connection, which would swamp the client at 5000.
"""

import argparse
import http.client
import json
import resource
import selectors
import signal
import socket
import ssl
import sys
import time

CONNECTING, HANDSHAKING, SENDING, AWAITING, HOLDING, FAILED = range(6)


class Conn:
    """One client connection and what it has received so far."""

    __slots__ = ("sock", "state", "request", "sent", "buf", "done_at", "status")

    def __init__(self, sock, request):
        self.sock = sock
        self.state = CONNECTING
        self.request = request
        self.sent = 0
        self.buf = bytearray()
        self.done_at = None
        self.status = None

    def response_complete(self):
        """True once buf holds one whole response (Content-Length or chunked)."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = bytes(self.buf[:head_end]).decode("latin-1").lower()
        lines = head.split("\r\n")
        try:
            self.status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            self.status = -1
        body = self.buf[head_end + 4:]
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if name == "content-length":
                return len(body) >= int(value)
            if name == "transfer-encoding" and "chunked" in value:
                return body.endswith(b"0\r\n\r\n")
        return False


class Clients:
    """Drives a set of Conns on one selector."""

    def __init__(self, host, port, ctx, request):
        self.addr = (host, port)
        self.ctx = ctx
        self.request = request
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.failed = 0
        self.errors = []

    def start_one(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex(self.addr)
        conn = Conn(sock, self.request)
        if err not in (0, 115):  # 115: EINPROGRESS
            self.fail(conn, f"connect: errno {err}")
            return conn
        self.sel.register(sock, selectors.EVENT_WRITE, conn)
        self.conns.append(conn)
        return conn

    def fail(self, conn, why):
        if conn.state != FAILED:
            conn.state = FAILED
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(why)
            try:
                self.sel.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.sock.close()

    def want(self, conn, events):
        self.sel.modify(conn.sock, events, conn)

    def step(self, conn):
        """Advances conn as far as it can go without blocking."""
        try:
            if conn.state == CONNECTING:
                err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    return self.fail(conn, f"connect: errno {err}")
                if self.ctx is None:
                    conn.state = SENDING
                else:
                    self.sel.unregister(conn.sock)
                    conn.sock = self.ctx.wrap_socket(conn.sock, server_hostname="localhost",
                                                     do_handshake_on_connect=False)
                    self.sel.register(conn.sock, selectors.EVENT_WRITE, conn)
                    conn.state = HANDSHAKING
            if conn.state == HANDSHAKING:
                try:
                    conn.sock.do_handshake()
                except ssl.SSLWantReadError:
                    return self.want(conn, selectors.EVENT_READ)
                except ssl.SSLWantWriteError:
                    return self.want(conn, selectors.EVENT_WRITE)
                conn.state = SENDING
            if conn.state == SENDING:
                while conn.sent < len(conn.request):
                    try:
                        conn.sent += conn.sock.send(conn.request[conn.sent:])
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        return self.want(conn, selectors.EVENT_WRITE)
                    except ssl.SSLWantReadError:
                        return self.want(conn, selectors.EVENT_READ)
                conn.state = AWAITING
                self.want(conn, selectors.EVENT_READ)
            if conn.state in (AWAITING, HOLDING):
                self.read(conn)
        except (OSError, ssl.SSLError) as e:
            self.fail(conn, f"{type(e).__name__}: {e}")

    def read(self, conn):
        while True:
            try:
                data = conn.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                return
            except ssl.SSLWantWriteError:
                return self.want(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
            if not data:
                why = "closed by server" if conn.state == HOLDING else "closed before response"
                if conn.state == AWAITING and conn.response_complete():
                    conn.state = HOLDING
                    conn.done_at = time.monotonic()
                return self.fail(conn, why)
            if conn.state == HOLDING:
                return self.fail(conn, "unexpected data on a held connection")
            conn.buf += data
            if conn.response_complete():
                conn.done_at = time.monotonic()
                conn.state = HOLDING

    def poll(self, timeout):
        for key, _ in self.sel.select(timeout):
            self.step(key.data)


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < need:
        sys.exit(f"tls_clients: fd limit {hard} is below the {need} needed")


def make_context(cafile):
    if cafile is None:
        return None
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


def open_connections(clients, count, max_inflight, deadline, until_state):
    """Starts count connections, at most max_inflight in progress at once,
    until each reached until_state (or failed). Returns False on deadline."""
    started = 0
    while True:
        in_progress = sum(1 for c in clients.conns if c.state < until_state)
        if started == count and in_progress == 0:
            return True
        if time.monotonic() > deadline:
            return False
        while started < count and in_progress < max_inflight:
            clients.start_one()
            started += 1
            in_progress += 1
        clients.poll(0.2)


def emit(obj):
    print(json.dumps(obj), flush=True)


def cmd_idle(args):
    raise_fd_limit(args.count + 100)
    request = (f"GET {args.path} HTTP/1.1\r\nHost: localhost\r\n"
               "User-Agent: tls_clients-idle\r\n\r\n").encode()
    clients = Clients(args.host, args.port, make_context(args.cafile), request)
    deadline = time.monotonic() + args.deadline
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    complete = open_connections(clients, args.count, args.inflight, deadline, HOLDING)
    held = sum(1 for c in clients.conns if c.state == HOLDING)
    bad_status = sum(1 for c in clients.conns if c.state == HOLDING and c.status != 200)
    emit({"event": "ready" if complete else "timeout", "held": held, "failed": clients.failed,
          "non_200": bad_status, "errors": clients.errors})
    hold_until = time.monotonic() + args.hold
    failed_at_ready = clients.failed
    while not stop and time.monotonic() < hold_until:
        clients.poll(0.5)
    dropped = clients.failed - failed_at_ready
    emit({"event": "dropped", "dropped": dropped, "errors": clients.errors})


def etcd_watchers(etcd_host, etcd_port):
    c = http.client.HTTPConnection(etcd_host, etcd_port, timeout=5)
    try:
        c.request("GET", "/v2/stats/store")
        return int(json.loads(c.getresponse().read()).get("watchers", 0))
    finally:
        c.close()


def cmd_watch(args):
    raise_fd_limit(args.count + 100)
    etcd_host, _, etcd_port = args.etcd.rpartition(":")
    request = (f"GET {args.path}?wait=true HTTP/1.1\r\nHost: localhost\r\n"
               "User-Agent: tls_clients-watch\r\n\r\n").encode()
    clients = Clients(args.host, args.port, make_context(args.cafile), request)
    deadline = time.monotonic() + args.deadline
    base = etcd_watchers(etcd_host, int(etcd_port))
    if not open_connections(clients, args.count, args.inflight, deadline, AWAITING):
        emit({"ok": False, "why": "opening watchers timed out", "errors": clients.errors})
        return 1
    if clients.failed:
        emit({"ok": False, "why": f"{clients.failed} watchers failed", "errors": clients.errors})
        return 1
    # The proxy may still be forwarding the last requests: etcd's count says when all are in.
    while etcd_watchers(etcd_host, int(etcd_port)) < base + args.count:
        if time.monotonic() > deadline:
            emit({"ok": False, "why": "etcd never saw all watchers",
                  "etcd_watchers": etcd_watchers(etcd_host, int(etcd_port)) - base})
            return 1
        clients.poll(0.05)
    clients.poll(0)
    early = sum(1 for c in clients.conns if c.state == HOLDING)
    t0 = time.monotonic()
    w = http.client.HTTPConnection(etcd_host, int(etcd_port), timeout=10)
    w.request("PUT", args.path, body=f"value=fanout-{t0}",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    put_status = w.getresponse().status
    w.close()
    while any(c.state == AWAITING for c in clients.conns) and time.monotonic() < deadline:
        clients.poll(0.05)
    done = sorted(c.done_at - t0 for c in clients.conns if c.done_at is not None)
    ok = sum(1 for c in clients.conns if c.done_at is not None and c.status == 200
             and b'"action":"set"' in c.buf)
    emit({"ok": ok == args.count and early == 0 and put_status in (200, 201),
          "watchers": args.count, "got": len(done), "ok_responses": ok, "early": early,
          "put_status": put_status, "failed": clients.failed, "errors": clients.errors,
          "all_ms": round(done[-1] * 1000, 2) if done else None,
          "p50_ms": round(done[len(done) // 2] * 1000, 2) if done else None})
    return 0


def cmd_resume(args):
    ctx = make_context(args.cafile)
    request = f"GET {args.path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    session = None
    for _ in range(2):
        with socket.create_connection((args.host, args.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(request)
                while s.recv(65536):
                    pass
                resumed = s.session_reused
                session = s.session
    emit({"resumed": bool(resumed)})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("idle", "watch", "resume"):
        s = sub.add_parser(name)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--cafile", help="CA bundle; omit for plaintext")
        s.add_argument("--count", type=int, default=1)
        s.add_argument("--path", required=True)
        s.add_argument("--inflight", type=int, default=100, help="connections opening at once")
        s.add_argument("--deadline", type=float, default=60, help="seconds to open (and finish)")
    sub.choices["idle"].add_argument("--hold", type=float, default=300,
                                     help="seconds to hold at most after ready")
    sub.choices["watch"].add_argument("--etcd", required=True, help="host:port of etcd itself")
    args = p.parse_args()
    return {"idle": cmd_idle, "watch": cmd_watch, "resume": cmd_resume}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main() or 0)
