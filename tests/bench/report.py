#!/usr/bin/python3
"""Turns run.sh's raw results into the markdown report (stdout).

usage: report.py [--grpc] RESULTS.tsv META.tsv
  --grpc: the gRPC scenarios' report (grpc_range, grpc_put, grpc_put_token, grpc_watch)
  RESULTS.tsv: round, scenario, subject, metric, value (one measurement a line)
  META.tsv:    key, value (date, machine, versions, settings, workers_supported, note...)
Every figure in the main table is the median over rounds; ratios are
etcd-tlsproxy's median divided by the other proxy's.
"""

import collections
import statistics
import sys

PROXIES = ("tlsproxy", "nginx", "haproxy")

# (scenario, metric, label, unit label, higher_is_better, decimals, target)
# target: (ratio against nginx, ratio against haproxy), each None or a bound
# that tlsproxy/other must reach (>= when higher is better, <= otherwise).
ROWS = (
    ("keepalive", "rps", "keep-alive GET via TLS, fixed upstream, wrk -t1 -c50", "req/s", True, 0,
     (1.3, 1.1)),
    ("keepalive", "p99_ms", "", "p99 ms", False, 2, (1.0, None)),
    ("newconn", "rps", "new TLS connection per request, -c50 `Connection: close`", "req/s", True, 0,
     (1.0, None)),
    ("put", "rps", "PUT with basic auth (`$6$`) to a real etcd, -c20", "req/s", True, 0, (10.0, None)),
    ("put", "p99_ms", "", "p99 ms", False, 2, (None, None)),
    ("idle", "kib_per_conn", "idle TLS keep-alive connections held: RSS per connection", "KiB", False, 2,
     (0.75, None)),
    ("watch", "all_ms", "watch fan-out: long polls through the proxy, one write to etcd", "ms until all answered",
     False, 1, (None, None)),
)


def load(path):
    data = collections.defaultdict(dict)  # (scenario, subject, metric) -> {round: value}
    with open(path) as f:
        for line in f:
            rnd, scenario, subject, metric, value = line.rstrip("\n").split("\t")
            data[(scenario, subject, metric)][int(rnd)] = float(value)
    return data


def load_meta(path):
    meta = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key].append(value)
    return meta


def median(data, scenario, subject, metric):
    values = data.get((scenario, subject, metric))
    return statistics.median(values.values()) if values else None


def fmt(value, decimals):
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}".replace(",", " ")


def ratio(a, b):
    return a / b if a is not None and b else None


def target_text(bound, higher, name, r):
    if bound is None:
        return None
    sign = ">=" if higher else "<="
    met = r is not None and (r >= bound if higher else r <= bound)
    return f"{sign} {bound:g}x {name}: {'met' if met else '**not met**'}"


# gRPC rows: (scenario, metric, label, unit, higher_is_better, decimals,
# (bound vs nginx, bound vs HAProxy, bound vs etcd direct) for tlsproxy / other).
GRPC_ROWS = (
    ("grpc_range", "rps", "unary KV/Range, one fixed key", "calls/s", True, 0, (None, None, None)),
    ("grpc_range", "p50_ms", "", "p50 ms", False, 2, (None, None, None)),
    ("grpc_range", "p99_ms", "", "p99 ms", False, 2, (None, None, None)),
    ("grpc_range", "cpu_us_per_call", "", "proxy CPU µs/call", False, 1, (0.7, 0.7, None)),
    ("grpc_range", "cpu_pct", "", "proxy CPU % of a core", False, 0, (None, None, None)),
    ("grpc_range", "etcd_cpu_us_per_call", "", "etcd CPU µs/call", False, 1, (None, None, None)),
    ("grpc_put", "rps", "unary KV/Put, one key (no credentials)", "calls/s", True, 0, (None, None, None)),
    ("grpc_put", "p50_ms", "", "p50 ms", False, 2, (None, None, None)),
    ("grpc_put", "p99_ms", "", "p99 ms", False, 2, (None, None, None)),
    ("grpc_put", "cpu_us_per_call", "", "proxy CPU µs/call", False, 1, (0.7, 0.7, None)),
    ("grpc_put", "cpu_pct", "", "proxy CPU % of a core", False, 0, (None, None, None)),
    ("grpc_put", "etcd_cpu_us_per_call", "", "etcd CPU µs/call", False, 1, (None, None, None)),
    ("grpc_watch", "all_ms", "watch fan-out: Watch streams, one write to etcd", "ms until all had the event",
     False, 1, (None, None, 1.2)),
    ("grpc_watch", "kib_per_watcher", "", "proxy RSS KiB per watcher", False, 2,
     (None, None, None)),
    ("grpc_watch", "setup_ms", "", "ms to create all watches", False, 0, (None, None, None)),
)
TOKEN_SUBJECTS = (("tlsproxy", "etcd-tlsproxy, its token (etcd behind it without auth)"),
                  ("etcd-auth", "etcd direct, its own auth and token"),
                  ("etcd", "etcd direct without auth"))
TOKEN_ROWS = (("rps", "calls/s", True, 0, 0.9), ("p50_ms", "p50 ms", False, 2, None),
              ("p99_ms", "p99 ms", False, 2, None), ("cpu_us_per_call", "proxy CPU µs/call", False, 1, None),
              ("cpu_pct", "proxy CPU % of a core", False, 0, None),
              ("etcd_cpu_us_per_call", "etcd CPU µs/call", False, 1, None))


def write_errors_and_rounds(w, data, rounds, error_kinds, no_errors, whole_metrics):
    """The end of both reports: the errors seen (or `no_errors`), then every
    round's figure in a folded table; metrics starting with one of
    `whole_metrics` are printed without decimals."""
    errors = [(sc, su, r, v) for (sc, su, me), values in sorted(data.items()) if me == "errors"
              for r, v in sorted(values.items()) if v]
    if errors:
        w(f"Errors seen ({error_kinds}):")
        w("")
        for sc, su, r, v in errors:
            w(f"- {sc} / {su} / round {r}: {v:g}")
    else:
        w(f"No errors: {no_errors}")
    w("")
    w("<details><summary>Every round</summary>")
    w("")
    w("| scenario | metric | subject | " + " | ".join(f"round {r}" for r in rounds) + " |")
    w("|---|---|---|" + "---|" * len(rounds))
    for (scenario, subject, metric), values in sorted(data.items()):
        if metric == "errors":
            continue
        w(f"| {scenario} | {metric} | {subject} | "
          + " | ".join(fmt(values.get(r), 0 if metric.startswith(whole_metrics) else 2)
                       for r in rounds) + " |")
    w("")
    w("</details>")


def grpc_main(data, meta):
    rounds = sorted({r for values in data.values() for r in values})
    out = []
    w = out.append
    w("# etcd-tlsproxy benchmark: latest gRPC results")
    w("")
    w("Produced by `tests/bench/run.sh --scenarios grpc_range,grpc_put,grpc_put_token,grpc_watch` "
      "(see its header for the method).")
    w("")
    for key in ("date", "machine", "versions", "grpc_versions", "grpc_settings", "load"):
        for v in meta.get(key, []):
            w(f"- {key.replace('grpc_', '')}: {v}")
    w("- layout: the proxy under test alone on core 0 (`taskset -c 0`), h2load and the Python gRPC clients "
      "on core 1, etcd unpinned. One event loop each: etcd-tlsproxy `workers: 1`, nginx `worker_processes 1` "
      "(`listen ssl http2`, `grpc_pass` to an upstream with a keepalive pool), HAProxy `nbthread 1` "
      "(`alpn h2,http/1.1`, `server ... proto h2`). Same ECDSA P-256 certificate. Clients present no "
      "certificate (h2load cannot): Range is a public read, the Put key is under etcd-tlsproxy's open rule "
      "`\"/eventlogging\": []`; nginx and HAProxy decide nothing for gRPC, so they do less work than "
      "etcd-tlsproxy, which decodes and decides every message. etcd direct is plaintext h2c (no TLS).")
    w("- checks: every h2load run negotiated h2 by ALPN; after each, one call with the same bytes got "
      "grpc-status 0 (h2load counts only `:status`); for Put, etcd's revision moved by at least the number "
      "of calls h2load counted. Latency percentiles come from h2load's `--log-file` (per-call µs, every "
      "call of the measured run).")
    for v in meta.get("note", []):
        w(f"- note: {v}")
    w("")
    w(f"Medians of {len(rounds)} round(s), subjects alternating within each round. "
      "Ratios are etcd-tlsproxy / other.")
    w("")
    w("| scenario | metric | etcd-tlsproxy | nginx | HAProxy | etcd direct (h2c) | tlsproxy/nginx "
      "| tlsproxy/HAProxy | tlsproxy/etcd | target (issue 13) |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    targets = []
    for scenario, metric, label, unit, higher, dec, bounds in GRPC_ROWS:
        m = {s: median(data, scenario, s, metric) for s in PROXIES + ("etcd",)}
        if all(v is None for v in m.values()):
            continue
        rs = [ratio(m["tlsproxy"], m[s]) for s in ("nginx", "haproxy", "etcd")]
        texts = [t for t in (target_text(b, higher, n, r) for b, n, r in
                             zip(bounds, ("nginx", "HAProxy", "etcd direct"), rs)) if t]
        targets += [f"{label or scenario} {unit}: {t}" for t in texts]
        w(f"| {label} | {unit} | " + " | ".join(fmt(m[s], dec) for s in PROXIES + ("etcd",))
          + " | " + " | ".join(f"{fmt(r, 2)}x" for r in rs) + f" | {'; '.join(texts) or '-'} |")
    w("")
    if any(k[0] == "grpc_put_token" for k in data):
        w("Put with a password token (KV/Put of a key only root may write, `token` metadata from "
          "Auth/Authenticate, logged in once per measurement):")
        w("")
        w("| metric | " + " | ".join(label for _, label in TOKEN_SUBJECTS)
          + " | tlsproxy / etcd without auth | target (issue 13) |")
        w("|---|---|---|---|---|---|")
        for metric, unit, higher, dec, bound in TOKEN_ROWS:
            m = {s: median(data, "grpc_put_token", s, metric) for s, _ in TOKEN_SUBJECTS}
            if all(v is None for v in m.values()):
                continue
            r = ratio(m["tlsproxy"], m["etcd"])
            t = target_text(bound, higher, "etcd direct without auth", r)
            if t:
                targets.append(f"authenticated Put {unit}: {t}")
            w(f"| {unit} | " + " | ".join(fmt(m[s], dec) for s, _ in TOKEN_SUBJECTS)
              + f" | {fmt(r, 2)}x | {t or '-'} |")
        w("")
    if targets:
        w("Targets (issue 13):")
        w("")
        for t in targets:
            w(f"- {t}")
        w("")
    write_errors_and_rounds(
        w, data, rounds, "h2load failed, errored, timed-out or non-2xx calls",
        "every h2load call got `:status` 200, every sample grpc-status 0, every watcher the event.",
        ("rss", "cpu_pct", "calls"))
    print("\n".join(out))


def main():
    if sys.argv[1] == "--grpc":
        grpc_main(load(sys.argv[2]), load_meta(sys.argv[3]))
        return
    data = load(sys.argv[1])
    meta = load_meta(sys.argv[2])
    rounds = sorted({r for values in data.values() for r in values})
    out = []
    w = out.append
    w("# etcd-tlsproxy benchmark: latest results")
    w("")
    w("Produced by `tests/bench/run.sh` (see its header for the method).")
    w("")
    for key in ("date", "machine", "versions", "settings", "load"):
        for v in meta.get(key, []):
            w(f"- {key}: {v}")
    w("- layout: the proxy under test alone on core 0 (`taskset -c 0`); wrk, the Python clients and the "
      "fixed upstream (nginx `return 200`) on core 1; etcd unpinned. One event loop each: etcd-tlsproxy "
      "`workers: 1`, nginx `worker_processes 1`, HAProxy `nbthread 1`. Same ECDSA P-256 certificate, the "
      "same `$6$` account and the same ACL (writes under /v2/keys/bench need it); each proxy is started "
      "afresh for every measurement.")
    for v in meta.get("note", []):
        w(f"- note: {v}")
    w("")
    w(f"Medians of {len(rounds)} round(s), proxies alternating within each round. "
      "Ratios are etcd-tlsproxy / other (for req/s higher is better, for the rest lower is better).")
    w("")
    w("| scenario | metric | etcd-tlsproxy | nginx | HAProxy | etcd direct (plaintext) "
      "| tlsproxy/nginx | tlsproxy/HAProxy | target (issue 4) |")
    w("|---|---|---|---|---|---|---|---|---|")
    for scenario, metric, label, unit, higher, dec, (t_nginx, t_haproxy) in ROWS:
        m = {s: median(data, scenario, s, metric) for s in PROXIES + ("etcd",)}
        rn, rh = ratio(m["tlsproxy"], m["nginx"]), ratio(m["tlsproxy"], m["haproxy"])
        targets = [t for t in (target_text(t_nginx, higher, "nginx", rn),
                               target_text(t_haproxy, higher, "HAProxy", rh)) if t]
        w(f"| {label} | {unit} | {fmt(m['tlsproxy'], dec)} | {fmt(m['nginx'], dec)} "
          f"| {fmt(m['haproxy'], dec)} | {fmt(m['etcd'], dec)} | {fmt(rn, 2)}x | {fmt(rh, 2)}x "
          f"| {'; '.join(targets) or '-'} |")
    w("")

    w("Proxy CPU during the wrk runs (medians): % of one core (near 100: the proxy was the bottleneck; "
      "well below: something else was, and the req/s above do not rank the proxies) and CPU time per "
      "request (comparable either way):")
    w("")
    w("| scenario | etcd-tlsproxy | nginx | HAProxy | tlsproxy/nginx | tlsproxy/HAProxy |")
    w("|---|---|---|---|---|---|")
    for scenario, label in (("keepalive", "keep-alive GET"), ("newconn", "new connection per request"),
                            ("put", "authenticated PUT")):
        pct = {s: median(data, scenario, s, "cpu_pct") for s in PROXIES}
        us = {s: median(data, scenario, s, "cpu_us_per_req") for s in PROXIES}
        cells = [f"{fmt(pct[s], 0)} % / {fmt(us[s], 1)} µs" for s in PROXIES]
        w(f"| {label} | {' | '.join(cells)} | {fmt(ratio(us['tlsproxy'], us['nginx']), 2)}x "
          f"| {fmt(ratio(us['tlsproxy'], us['haproxy']), 2)}x |")
    w("")

    w("Keep-alive GET (wrk -t1 -c50, fixed upstream) with etcd-tlsproxy unpinned, as are wrk and the "
      "fixed upstream, so the scaling on this machine shows:")
    w("")
    if meta.get("workers_supported", ["0"])[0] == "1":
        w("| etcd-tlsproxy | req/s | p99 ms | proxy CPU % | CPU µs/request | vs workers: 1 |")
        w("|---|---|---|---|---|---|")
        base = median(data, "keepalive", "tlsproxy-w1", "rps")
        subjects = [("tlsproxy-w1", "`workers: 1`"), ("tlsproxy-w2", "`workers: 2`")]
        if meta.get("baseline"):
            subjects += [("baseline-w1", "baseline, `workers: 1`"), ("baseline-w2", "baseline, `workers: 2`")]
        for s, label in subjects:
            rps = median(data, "keepalive", s, "rps")
            w(f"| {label} | {fmt(rps, 0)} | {fmt(median(data, 'keepalive', s, 'p99_ms'), 2)} "
              f"| {fmt(median(data, 'keepalive', s, 'cpu_pct'), 0)} "
              f"| {fmt(median(data, 'keepalive', s, 'cpu_us_per_req'), 1)} | {fmt(ratio(rps, base), 2)}x |")
        for v in meta.get("baseline", []):
            w("")
            w(f"Baseline: {v}, measured right after the current binary in every round. "
              "Current / baseline, CPU µs per request (medians):")
            w("")
            for n in ("1", "2"):
                cur = median(data, "keepalive", f"tlsproxy-w{n}", "cpu_us_per_req")
                old = median(data, "keepalive", f"baseline-w{n}", "cpu_us_per_req")
                w(f"- `workers: {n}`: {fmt(cur, 1)} µs against {fmt(old, 1)} µs: {fmt(ratio(cur, old), 2)}x")
    else:
        w("workers not supported yet: `etcd-tlsproxy --check` refused `workers: 2`.")
    w("")

    write_errors_and_rounds(
        w, data, rounds, "wrk non-2xx + socket errors; idle: connections dropped while held",
        "every wrk request got a 2xx, every idle connection stayed open, every watcher got the "
        "event.", ("rss", "cpu_pct"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
