#!/usr/bin/env python3
"""flaskpaste benchmark: drives the release daemon with wrk and compares every figure with
a reference measured in the same run (a bare hyper server, raw rusqlite inserts).

Usage: python3 bench/run.py [--seconds N] [--warmup N] [--rounds N]

A database of a million pastes, built without the HTTP API by the daemon's own schema
(about 10 s, 1.4 GB; kept outside the repository):

    cargo build --release --example bench_fill
    target/release/examples/bench_fill ~/.cache/flaskpaste-bench/million.db

Needs wrk and taskset (Debian: wrk, util-linux). The server is pinned to CPU 0 and wrk to
CPU 1. Not part of CI: figures depend on the machine.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RELEASE = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
TICK = os.sysconf("SC_CLK_TCK")
FP = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"
SERVER_CPU, LOAD_CPU = "0", "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def wait_http(port, deadline=10.0):
    """Seconds until GET /health answers (connect-and-ask loop)."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return time.monotonic() - start
        except OSError:
            time.sleep(0.0005)
    raise RuntimeError("server did not answer")


class Server:
    """A server process pinned to the server CPU."""

    def __init__(self, argv, port, env=None):
        self.port = port
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU] + argv,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        self.startup = None

    def wait(self):
        self.startup = wait_http(self.port)
        return self

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=40)


def daemon(tmp, extra_env=None, data_dir=None):
    port = free_port()
    d = data_dir or tempfile.mkdtemp(dir=tmp)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FLASKPASTE_LISTEN": f"127.0.0.1:{port}",
        "FLASKPASTE_DB": os.path.join(d, "pastes.db"),
        "FLASKPASTE_RATE_LIMIT": "0",
        "FLASKPASTE_DEDUP_MAX": "0",
        # Proof-of-work is on by default; the load generator does not solve challenges.
        "FLASKPASTE_POW_DIFFICULTY": "0",
        "FLASKPASTE_MAX_AUTH": str(64 * 1024 * 1024),
    }
    env.update(extra_env or {})
    return Server([os.path.join(RELEASE, "flaskpaste"), "--config", "/dev/null"], port, env)


def bare(body_bytes):
    port = free_port()
    return Server([os.path.join(RELEASE, "examples", "bench_bare_hyper"), f"127.0.0.1:{port}", str(body_bytes)], port)


def wrk(url, seconds, conns=32, script=None, env=None):
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if script:
        argv += ["-s", os.path.join(BENCH, script)]
    out = subprocess.run(argv + [url], capture_output=True, text=True, env=env, check=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1000.0}

    def ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def measure(server, url, args, **kw):
    """Warm up, then a timed run; adds server CPU microseconds per request."""
    wrk(url, args.warmup, **kw)
    before = cpu_seconds(server.proc.pid)
    r = wrk(url, args.seconds, **kw)
    r["cpu_us"] = (cpu_seconds(server.proc.pid) - before) * 1e6 / max(r["requests"], 1)
    r["peak_rss_mib"] = status_kib(server.proc.pid, "VmHWM") / 1024
    return r


def median_run(runs):
    """Each figure's median over runs of one scenario; the highest peak RSS; failures summed."""
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    for k in ("requests", "non2xx", "socket_errors"):
        out[k] = sum(r[k] for r in runs)
    out["rounds"] = len(runs)
    return out


def post(port, body, headers=None, path="/"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if r.status != 201:
        raise RuntimeError(f"create failed: {r.status} {data[:200]!r}")
    return json.loads(data)["id"]


def download(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", path)
    r = c.getresponse()
    n = 0
    while chunk := r.read(1 << 20):
        n += len(chunk)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the read scenarios")
    args = ap.parse_args()
    for tool in ("wrk", "taskset", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required (Debian: apt-get install wrk)")
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "flaskpaste", "--examples"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="fp-bench-")
    res = {}
    try:
        # Startup and idle memory (median of 5 starts).
        starts, idle = [], []
        for _ in range(5):
            s = daemon(tmp).wait()
            starts.append(s.startup * 1000)
            time.sleep(0.2)
            idle.append(status_kib(s.proc.pid, "VmRSS") / 1024)
            s.stop()
        res["startup_ms"], res["idle_rss_mib"] = statistics.median(starts), statistics.median(idle)
        starts, idle = [], []
        for _ in range(5):
            b = bare(1024).wait()
            starts.append(b.startup * 1000)
            time.sleep(0.2)
            idle.append(status_kib(b.proc.pid, "VmRSS") / 1024)
            b.stop()
        res["bare_startup_ms"], res["bare_idle_rss_mib"] = statistics.median(starts), statistics.median(idle)

        # Reads and their bare references, interleaved over several rounds (medians are
        # reported): on a noisy machine one pair of runs can land in different moods.
        rounds = {"bare_1k": [], "read_1k": [], "read_1k_metrics": [], "redirect": [], "bare_1m": [],
                  "read_1m": [], "read_1m_64": []}
        for _ in range(args.rounds):
            b = bare(1024).wait()
            rounds["bare_1k"].append(measure(b, f"http://127.0.0.1:{b.port}/", args))
            b.stop()
            s = daemon(tmp).wait()
            pid = post(s.port, b"r" * 1024)
            rounds["read_1k"].append(measure(s, f"http://127.0.0.1:{s.port}/{pid}/raw", args))
            sid = post(s.port, b"https://example.com/some/long/path?query=value", path="/s")
            rounds["redirect"].append(measure(s, f"http://127.0.0.1:{s.port}/s/{sid}", args))
            s.stop()
            # The same read with metrics recorded (metrics_listen set): the cost of recording.
            s = daemon(tmp, {"FLASKPASTE_METRICS_LISTEN": f"127.0.0.1:{free_port()}"}).wait()
            pid = post(s.port, b"r" * 1024)
            rounds["read_1k_metrics"].append(measure(s, f"http://127.0.0.1:{s.port}/{pid}/raw", args))
            s.stop()
            b = bare(1 << 20).wait()
            rounds["bare_1m"].append(measure(b, f"http://127.0.0.1:{b.port}/", args))
            b.stop()
            s = daemon(tmp).wait()
            pid = post(s.port, os.urandom(1 << 20), {"X-SSL-Client-SHA1": FP})
            rounds["read_1m"].append(measure(s, f"http://127.0.0.1:{s.port}/{pid}/raw", args))
            rounds["read_1m_64"].append(measure(s, f"http://127.0.0.1:{s.port}/{pid}/raw", args, conns=64))
            s.stop()
        res.update({k: median_run(v) for k, v in rounds.items()})

        # Writes.
        sq = subprocess.run([os.path.join(RELEASE, "examples", "bench_sqlite_insert"), tmp, str(args.seconds)],
                            capture_output=True, text=True, check=True).stderr
        res["sqlite_single"] = float(re.search(r"single (\S+)", sq).group(1))
        res["sqlite_batch64"] = float(re.search(r"batch64 (\S+)", sq).group(1))
        s = daemon(tmp).wait()
        res["create_1k"] = measure(s, f"http://127.0.0.1:{s.port}/", args, script="create.lua")
        s.stop()
        s = daemon(tmp).wait()
        pid = post(s.port, b"m" * 1024)
        env = dict(os.environ, PASTE_ID=pid)
        res["mixed"] = measure(s, f"http://127.0.0.1:{s.port}/", args, script="mixed.lua", env=env)
        s.stop()

        # A 50 MiB authenticated paste: peak RSS growth on upload, then on download by a
        # fresh daemon over the same database (so the upload's peak cannot hide it).
        data = tempfile.mkdtemp(dir=tmp)
        s = daemon(tmp, data_dir=data).wait()
        size = 50 << 20
        base = status_kib(s.proc.pid, "VmHWM")
        pid = post(s.port, os.urandom(size), {"X-SSL-Client-SHA1": FP})
        res["big_upload_growth_mib"] = (status_kib(s.proc.pid, "VmHWM") - base) / 1024
        s.stop()
        s = daemon(tmp, data_dir=data).wait()
        base = status_kib(s.proc.pid, "VmHWM")
        got = download(s.port, f"/{pid}/raw")
        res["big_download_growth_mib"] = (status_kib(s.proc.pid, "VmHWM") - base) / 1024
        s.stop()
        if got != size:
            raise RuntimeError(f"downloaded {got} of {size} bytes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(res)


def report(r):
    b1, bm = r["bare_1k"], r["bare_1m"]
    rows = [
        ("read-1k CPU µs/request", r["read_1k"]["cpu_us"], b1["cpu_us"], "≤ 1.5×", r["read_1k"]["cpu_us"] <= 1.5 * b1["cpu_us"]),
        ("read-1k p99 ms", r["read_1k"]["p99_ms"], b1["p99_ms"], "≤ 2×", r["read_1k"]["p99_ms"] <= 2 * b1["p99_ms"]),
        ("read-1k requests/s", r["read_1k"]["rps"], b1["rps"], "", None),
        ("read-1k CPU µs/request, metrics on (vs off)", r["read_1k_metrics"]["cpu_us"], r["read_1k"]["cpu_us"], "≤ 1.03×",
         r["read_1k_metrics"]["cpu_us"] <= 1.03 * r["read_1k"]["cpu_us"]),
        ("redirect CPU µs/request (vs read-1k)", r["redirect"]["cpu_us"], r["read_1k"]["cpu_us"], "≤ 1×", r["redirect"]["cpu_us"] <= r["read_1k"]["cpu_us"]),
        ("create-1k creates/s (durable)", r["create_1k"]["rps"], r["sqlite_batch64"], "≥ 0.4× of 64/commit", r["create_1k"]["rps"] >= 0.4 * r["sqlite_batch64"]),
        ("create-1k vs 1 row/commit", r["create_1k"]["rps"], r["sqlite_single"], "", None),
        ("read-1m requests/s", r["read_1m"]["rps"], bm["rps"], "≥ 0.8×", r["read_1m"]["rps"] >= 0.8 * bm["rps"]),
        ("read-1m CPU µs/request", r["read_1m"]["cpu_us"], bm["cpu_us"], "", None),
    ]
    lines = [
        f"flaskpaste benchmark, {datetime.date.today()} (server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}, 32 connections;"
        f" reads and their references: medians of {r['read_1k']['rounds']} interleaved rounds)",
        "",
        "| figure | flaskpaste | reference | ratio | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for name, ours, ref, target, ok in rows:
        ratio = ours / ref if ref else float("nan")
        lines.append(f"| {name} | {ours:,.1f} | {ref:,.1f} | {ratio:.3f}× | {target} | {'' if ok is None else ('yes' if ok else 'NO')} |")
    # Absolute targets; startup and idle RSS are also compared with the bare server's.
    absolute = [
        ("read-1m peak RSS, 64 readers (MiB)", r["read_1m_64"]["peak_rss_mib"], None, "≤ 64", r["read_1m_64"]["peak_rss_mib"] <= 64),
        ("50 MiB upload: peak RSS growth (MiB)", r["big_upload_growth_mib"], None, "≤ 66", r["big_upload_growth_mib"] <= 66),
        ("50 MiB download: peak RSS growth (MiB)", r["big_download_growth_mib"], None, "≤ 66", r["big_download_growth_mib"] <= 66),
        ("startup, exec to first answer (ms)", r["startup_ms"], r["bare_startup_ms"], "≤ 15", r["startup_ms"] <= 15),
        ("idle RSS (MiB)", r["idle_rss_mib"], r["bare_idle_rss_mib"], "≤ 8", r["idle_rss_mib"] <= 8),
    ]
    lines += ["", "| figure | value | bare hyper | ratio | target | met |", "| --- | ---: | ---: | ---: | --- | --- |"]
    for name, value, ref, target, ok in absolute:
        ref_cells = f"{ref:,.2f} | {value / ref:.2f}×" if ref else " | "
        lines.append(f"| {name} | {value:,.2f} | {ref_cells} | {target} | {'yes' if ok else 'NO'} |")
    lines += ["", "Every figure of every scenario, with its ratio to the reference in brackets:", ""]
    lines += all_figures(r)
    failed = {k: (v["non2xx"], v["socket_errors"]) for k, v in r.items()
              if isinstance(v, dict) and (v.get("non2xx") or v.get("socket_errors"))}
    lines += ["", "non-2xx responses and socket errors: " + (
        ", ".join(f"{k} {n} non-2xx, {e} socket errors" for k, (n, e) in failed.items()) or "none")]
    print("\n".join(lines))
    print("\nraw: " + json.dumps(r))


def all_figures(r):
    """One row per scenario: each figure, and its ratio to the scenario's reference."""
    cols = [("rps", "requests/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
            ("cpu_us", "CPU µs/request"), ("peak_rss_mib", "peak RSS MiB")]
    batch = {"rps": r["sqlite_batch64"]}
    scenarios = [
        ("bare hyper, 1 KiB body", r["bare_1k"], {}, "reference"),
        ("bare hyper, 1 MiB body", r["bare_1m"], {}, "reference"),
        ("read-1k", r["read_1k"], r["bare_1k"], "bare hyper, 1 KiB"),
        ("read-1k, metrics on", r["read_1k_metrics"], r["read_1k"], "read-1k (metrics off)"),
        ("redirect", r["redirect"], r["read_1k"], "read-1k"),
        ("read-1m", r["read_1m"], r["bare_1m"], "bare hyper, 1 MiB"),
        ("read-1m, 64 connections", r["read_1m_64"], r["bare_1m"], "bare hyper, 1 MiB (32 connections)"),
        ("create-1k", r["create_1k"], {**r["bare_1k"], **batch},
         "rate: raw inserts, 64 rows/commit; the rest: bare hyper, 1 KiB"),
        ("mixed 90/10", r["mixed"], r["bare_1k"], "bare hyper, 1 KiB"),
    ]
    out = ["| scenario | " + " | ".join(c[1] for c in cols) + " | non-2xx | reference |",
           "| --- | " + " | ".join("---:" for _ in cols) + " | ---: | --- |"]
    for name, ours, ref, ref_name in scenarios:
        cells = []
        for key, _ in cols:
            cell = f"{ours[key]:,.1f}"
            if ref.get(key):
                cell += f" ({ours[key] / ref[key]:.2f}×)"
            cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + f" | {ours['non2xx']} | {ref_name} |")
    out.append(f"| raw inserts, 1 row/commit | {r['sqlite_single']:,.1f} | | | | | | reference |")
    out.append(f"| raw inserts, 64 rows/commit | {r['sqlite_batch64']:,.1f} | | | | | | reference |")
    return out


if __name__ == "__main__":
    main()
