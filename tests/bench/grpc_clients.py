#!/usr/bin/python3
"""gRPC clients for the benchmark's gRPC scenarios (Debian python3-grpcio and
the etcdserverpb stubs that python3-etcd3 ships).

Subcommands (each prints one JSON line; --target is HOST:PORT, TLS when
--cafile is given, plaintext h2c otherwise):

  body     Write the framed gRPC message h2load sends as its body (1-byte flag,
           4-byte length, protobuf) for a RangeRequest or PutRequest to --out.

  login    etcdserverpb.Auth/Authenticate with --user/--password; prints
           {"token": ...} (exit 1 and {"error": ...} if refused).

  call     One unary call of --method with the message inside the framed --body
           file (exactly the bytes h2load sends), optional `token` metadata;
           prints {"code": 0, "details": ..., "revision": N} (revision from the
           response header, when it parses as one). Exit status 0 either way:
           the caller decides what code it expects.

  revision The store revision of --target (a Range on a key, no token).

  watch    Open COUNT Watch streams over CONNS channels (each stream one
           create_request for --key), wait until every stream has its `created`
           answer, sample the RSS of --rss-pids, write --key once directly to
           --etcd, and time until every stream has received the event. Prints
           {"ok": ..., "all_ms": ..., "rss_before_kib": ..., "rss_after_kib": ...}.

Every wait is bounded by --deadline (seconds).
"""

import argparse
import asyncio
import json
import os
import struct
import sys
import time

import grpc
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc


def channel_options(index=0):
    # A local subchannel pool: grpcio would otherwise share one connection
    # between every channel to the same target.
    return [("grpc.use_local_subchannel_pool", 1), ("bench.channel", index),
            ("grpc.ssl_target_name_override", "localhost")]


def make_channel(args, aio=False, index=0):
    mod = grpc.aio if aio else grpc
    opts = channel_options(index)
    if args.cafile:
        with open(args.cafile, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        return mod.secure_channel(args.target, creds, options=opts)
    return mod.insecure_channel(args.target, options=opts[:2])


def metadata(args):
    return (("token", args.token),) if getattr(args, "token", None) else None


def cmd_body(args):
    if args.kind == "range":
        msg = rpc_pb2.RangeRequest(key=args.key.encode())
    else:
        msg = rpc_pb2.PutRequest(key=args.key.encode(), value=args.value.encode())
    data = msg.SerializeToString()
    with open(args.out, "wb") as f:
        f.write(struct.pack(">BI", 0, len(data)) + data)
    print(json.dumps({"bytes": len(data) + 5}))


def cmd_login(args):
    with make_channel(args) as ch:
        try:
            resp = rpc_pb2_grpc.AuthStub(ch).Authenticate(
                rpc_pb2.AuthenticateRequest(name=args.user, password=args.password),
                timeout=args.deadline, wait_for_ready=True)
        except grpc.RpcError as e:
            print(json.dumps({"error": f"{e.code()}: {e.details()}"}))
            return 1
    print(json.dumps({"token": resp.token}))
    return 0


def cmd_call(args):
    with open(args.body, "rb") as f:
        framed = f.read()
    flag, length = struct.unpack(">BI", framed[:5])
    assert flag == 0 and length == len(framed) - 5, "body is not one framed message"
    with make_channel(args) as ch:
        fn = ch.unary_unary(args.method)  # bytes in, bytes out
        try:
            raw = fn(framed[5:], metadata=metadata(args), timeout=args.deadline, wait_for_ready=True)
        except grpc.RpcError as e:
            print(json.dumps({"code": e.code().value[0], "details": e.details()}))
            return 0
    revision = None
    try:
        revision = rpc_pb2.PutResponse.FromString(raw).header.revision  # header is field 1 in both
    except Exception:  # noqa: BLE001 - a sample that is not a Put/Range answer
        pass
    print(json.dumps({"code": 0, "details": "", "revision": revision}))
    return 0


def cmd_revision(args):
    with make_channel(args) as ch:
        resp = rpc_pb2_grpc.KVStub(ch).Range(rpc_pb2.RangeRequest(key=b"/"), metadata=metadata(args),
                                             timeout=args.deadline, wait_for_ready=True)
    print(json.dumps({"revision": resp.header.revision}))
    return 0


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


async def watch_main(args):
    pids = [p for p in args.rss_pids.split(",") if p]
    key = args.key.encode()
    result = {"count": args.count, "conns": args.conns, "ok": False}
    channels = [make_channel(args, aio=True, index=i) for i in range(args.conns)]
    writer = grpc.aio.insecure_channel(args.etcd)
    calls = []
    try:
        result["rss_before_kib"] = rss_kib(pids)
        created = asyncio.Event()
        n_created = 0
        event_at = [None] * args.count
        errors = []

        async def watcher(i):
            nonlocal n_created
            call = rpc_pb2_grpc.WatchStub(channels[i % args.conns]).Watch()
            calls.append(call)
            await call.write(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=key)))
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    errors.append(f"stream {i} ended: {await call.code()}")
                    return
                if resp.canceled:
                    errors.append(f"watch {i} canceled: {resp.cancel_reason}")
                    return
                if resp.created:
                    n_created += 1
                    if n_created == args.count:
                        created.set()
                if resp.events:
                    event_at[i] = time.monotonic()
                    return

        t_start = time.monotonic()
        tasks = [asyncio.ensure_future(watcher(i)) for i in range(args.count)]
        deadline = t_start + args.deadline
        while not created.is_set() and not errors and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not created.is_set():
            result["error"] = f"{n_created} of {args.count} watches created; {errors[:3]}"
            return result
        result["setup_ms"] = round(1000 * (time.monotonic() - t_start), 1)
        await asyncio.sleep(0.5)  # let the proxy settle before sampling its RSS
        result["rss_after_kib"] = rss_kib(pids)
        kv = rpc_pb2_grpc.KVStub(writer)
        t0 = time.monotonic()
        await kv.Put(rpc_pb2.PutRequest(key=key, value=b"fired"), timeout=10)
        remaining = max(0.1, deadline - time.monotonic())
        await asyncio.wait(tasks, timeout=remaining)
        got = [t for t in event_at if t is not None]
        result["got_event"] = len(got)
        if errors:
            result["error"] = "; ".join(errors[:3])
        if len(got) == args.count and not errors:
            result["ok"] = True
            result["all_ms"] = round(1000 * (max(got) - t0), 1)
            result["first_ms"] = round(1000 * (min(got) - t0), 1)
        return result
    finally:
        for call in calls:
            call.cancel()
        for ch in channels:
            await ch.close()
        await writer.close()


def cmd_watch(args):
    async def bounded():
        try:
            return await asyncio.wait_for(watch_main(args), args.deadline + 30)
        except asyncio.TimeoutError:
            return {"ok": False, "error": "deadline passed"}

    loop = asyncio.new_event_loop()
    result = loop.run_until_complete(bounded())
    print(json.dumps(result), flush=True)
    # grpcio's asyncio poller thread can hang interpreter shutdown after many
    # cancelled streams: the result is out, leave at once.
    os._exit(0 if result.get("ok") else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("body")
    b.add_argument("kind", choices=("range", "put"))
    b.add_argument("--key", required=True)
    b.add_argument("--value", default="")
    b.add_argument("--out", required=True)
    for name in ("login", "call", "revision", "watch"):
        s = sub.add_parser(name)
        s.add_argument("--target", required=True)
        s.add_argument("--cafile")
        s.add_argument("--deadline", type=float, default=15)
        if name == "login":
            s.add_argument("--user", required=True)
            s.add_argument("--password", required=True)
        if name in ("call", "revision"):
            s.add_argument("--token")
        if name == "call":
            s.add_argument("--method", required=True)
            s.add_argument("--body", required=True)
        if name == "watch":
            s.add_argument("--count", type=int, default=1000)
            s.add_argument("--conns", type=int, default=10)
            s.add_argument("--key", required=True)
            s.add_argument("--etcd", required=True, help="HOST:PORT of etcd's plaintext client port")
            s.add_argument("--rss-pids", default="")
    args = p.parse_args()
    return {"body": cmd_body, "login": cmd_login, "call": cmd_call, "revision": cmd_revision,
            "watch": cmd_watch}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
