#!/usr/bin/env python3
"""flaskpaste benchmark: drives the release daemon with wrk and compares every figure with
a reference measured in the same run (a bare hyper server, raw rusqlite inserts).

Usage: python3 bench/run.py [--seconds N] [--warmup N] [--rounds N] [--million PATH]

The scenarios run as an operator runs the daemon ("production": metrics served, audit
events sent to a syslog socket, the PKI on and a client-certificate header it issued on
every request, rate limiting on, creations paying proof-of-work) on a nearly empty database
and on one holding a million pastes; today's scenarios with every feature out of the way
("plain") run too. The million-paste database is built without the HTTP API, by the
daemon's own schema (about 20 s, 1.4 GB), and cached outside the repository; run.py builds
it when it is missing, or by hand:

    cargo build --release --example bench_fill
    target/release/examples/bench_fill ~/.cache/flaskpaste-bench/million.db

Every run works on copies of it. Needs wrk and taskset (Debian: wrk, util-linux) and
about 5 GB free in the temporary directory. The server is pinned to CPU 0 and wrk to
CPU 1. Not part of CI: figures depend on the machine.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RELEASE = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
TICK = os.sysconf("SC_CLK_TCK")
# The fingerprint owning the first 10,000 pastes of the million (bench_fill's).
FP = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"
MILLION = 1_000_000
SERVER_CPU, LOAD_CPU = "0", "1"
POW_SECRET = "bench proof-of-work secret"
POW_BITS = 4
# Creations per second no run reaches: how many pre-solved tokens a create phase gets.
MAX_CREATE_RATE = 25_000


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
    """The daemon with every feature out of the way ("plain"), unless extra_env turns some on."""
    port = free_port()
    d = data_dir or tempfile.mkdtemp(dir=tmp)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FLASKPASTE_LISTEN": f"127.0.0.1:{port}",
        "FLASKPASTE_DB": os.path.join(d, "pastes.db"),
        "FLASKPASTE_RATE_LIMIT": "false",
        "FLASKPASTE_DEDUP_MAX": "0",
        "FLASKPASTE_POW_DIFFICULTY": "0",
        "FLASKPASTE_AUDIT": "off",
        "FLASKPASTE_MAX_AUTH": str(64 * 1024 * 1024),
    }
    env.update(extra_env or {})
    return Server([os.path.join(RELEASE, "flaskpaste"), "--config", "/dev/null"], port, env)


class AuditSink:
    """The datagram socket the daemon sends audit events to, read by a thread."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "audit.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.events = 0
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while True:
            try:
                self.sock.recv(1 << 16)
            except OSError:
                return
            self.events += 1


def production(audit):
    """The settings of an operator's daemon: metrics served, audit events to syslog, the
    PKI on, rate limiting on (with a limit no load here reaches), deduplication at its
    default, and proof-of-work on creations at a low difficulty."""
    return {
        "FLASKPASTE_METRICS_LISTEN": f"127.0.0.1:{free_port()}",
        "FLASKPASTE_AUDIT": "syslog",
        "FLASKPASTE_SYSLOG_SOCKET": audit.path,
        "FLASKPASTE_PKI_ENABLED": "true",
        "FLASKPASTE_PKI_CA_PASSWORD": "bench CA password",
        "FLASKPASTE_REGISTER_POW": "0",
        "FLASKPASTE_RATE_LIMIT": "true",
        "FLASKPASTE_RATE_MAX": str(10**9),
        "FLASKPASTE_DEDUP_MAX": "3",
        "FLASKPASTE_POW_DIFFICULTY": str(POW_BITS),
        "FLASKPASTE_POW_SECRET": POW_SECRET,
    }


def pow_tokens(count, expires):
    """Tokens a daemon with POW_SECRET accepts, each with its solution: what a client
    fetches from GET /challenge and solves, made here so that the load generator spends
    its time on requests. As from a daemon issuing a thousand challenges a second, each
    thousand in turn expires a second later than the one before (spent nonces are kept
    in the order of their expiry)."""
    key = POW_SECRET.encode()
    out = []
    for i in range(count):
        expires += i > 0 and i % 1000 == 0
        nonce = os.urandom(16).hex()
        signed = f"{nonce}:{expires}:{POW_BITS}"
        token = signed + ":" + hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()
        n = 0
        while hashlib.sha256(f"{nonce}:{n}".encode()).digest()[0] >> (8 - POW_BITS):
            n += 1
        out.append(f"{token} {n}")
    return out


class Tokens:
    """Pre-solved tokens for the creations the harness makes itself, and files of them for
    wrk's create phases (warm-up and timed run; each daemon spends a nonce only once)."""

    def __init__(self, tmp, args):
        expires = int(time.time()) + 3 * 3600
        self.spare = pow_tokens(200, expires)
        self.files = []
        for phase, seconds in (("warmup", args.warmup), ("run", args.seconds)):
            path = os.path.join(tmp, f"tokens-{phase}.txt")
            with open(path, "w") as f:
                f.write("\n".join(pow_tokens(MAX_CREATE_RATE * seconds, expires)) + "\n")
            self.files.append(path)
            expires += MAX_CREATE_RATE * seconds // 1000  # the run's after the warm-up's

    def headers(self):
        token, solution = self.spare.pop().split()
        return {"X-PoW-Token": token, "X-PoW-Solution": solution}


def bare(body_bytes):
    port = free_port()
    return Server([os.path.join(RELEASE, "examples", "bench_bare_hyper"), f"127.0.0.1:{port}", str(body_bytes)], port)


def wrk_argv(url, seconds, conns=32, script=None, headers=None):
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency"]
    for h in headers or ():
        argv += ["-H", h]
    if script:
        argv += ["-s", os.path.join(BENCH, script)]
    return argv + [url]


def parse_wrk(out):
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


def wrk(url, seconds, conns=32, script=None, env=None, headers=None):
    argv = wrk_argv(url, seconds, conns, script, headers)
    return parse_wrk(subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout)


def measure(server, url, args, env=None, phases=None, **kw):
    """Warm up, then a timed run; adds server CPU microseconds per request. `phases` gives
    the warm-up and the timed run an environment each (their own proof-of-work tokens)."""
    warm_env, run_env = phases or (env, env)
    wrk(url, args.warmup, env=warm_env, **kw)
    before = cpu_seconds(server.proc.pid)
    r = wrk(url, args.seconds, env=run_env, **kw)
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


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, r.getheader("X-Fingerprint-SHA1"), r.read()


def post(port, body, headers=None, path="/"):
    status, _, data = request(port, "POST", path, body, headers)
    if status != 201:
        raise RuntimeError(f"create failed: {status} {data[:200]!r}")
    return json.loads(data)["id"]


def register(port):
    """A certificate from the daemon's PKI: its fingerprint, trusted from now on."""
    status, fp, data = request(port, "POST", "/register", b"{}", {"Content-Type": "application/json"})
    if status != 200 or not fp:
        raise RuntimeError(f"registration failed: {status} {data[:200]!r}")
    return fp


def download(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", path)
    r = c.getresponse()
    n = 0
    while chunk := r.read(1 << 20):
        n += len(chunk)
    return n


def paste_id(i):
    """bench_fill's id of its i-th paste."""
    return f"{((i + 1) * 0x9E3779B97F4B) & 0xFFFFFFFFFFFF:012x}"


def million_db(path):
    """The cached million-paste database, built when missing, and brought to this build's
    schema (opening it migrates it), so that no copy of it migrates at startup."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([os.path.join(RELEASE, "examples", "bench_fill"), path], check=True)
    subprocess.run([os.path.join(RELEASE, "flaskpaste"), "--config", "/dev/null", "admin", "stats"],
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FLASKPASTE_DB": path},
                   stdout=subprocess.DEVNULL, check=True)
    c = sqlite3.connect(path)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # copies take the file alone
    c.close()
    return path


def copy_of(src, tmp):
    """A data directory holding a copy of the database at src."""
    d = tempfile.mkdtemp(dir=tmp)
    shutil.copyfile(src, os.path.join(d, "pastes.db"))
    return d


def starts(make, n=5):
    """Median startup (exec to first answer, ms) and idle RSS (MiB, 1 s after) of n starts."""
    times, idle = [], []
    for _ in range(n):
        s = make().wait()
        times.append(s.startup * 1000)
        time.sleep(1.0)
        idle.append(status_kib(s.proc.pid, "VmRSS") / 1024)
        s.stop()
    return statistics.median(times), statistics.median(idle)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the read scenarios")
    ap.add_argument("--million", default=os.path.expanduser("~/.cache/flaskpaste-bench/million.db"),
                    help="the cached million-paste database (built when missing)")
    args = ap.parse_args()
    for tool in ("wrk", "taskset", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required (Debian: apt-get install wrk)")
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "flaskpaste", "--examples"], cwd=ROOT, check=True)
    cached = million_db(args.million)
    tmp = tempfile.mkdtemp(prefix="fp-bench-")
    c = sqlite3.connect(cached)
    used = c.execute("SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM"
                     " pragma_freelist_count)").fetchone()[0] * c.execute("PRAGMA page_size").fetchone()[0]
    c.close()
    res = {"bytes_per_paste": used / MILLION}
    audit = AuditSink(tmp)
    try:
        tokens = Tokens(tmp, args)
        prod = production(audit)
        million = copy_of(cached, tmp)

        # Startup and idle memory.
        res["startup_ms"], res["idle_rss_mib"] = starts(lambda: daemon(tmp, prod))
        res["million_startup_ms"], res["million_idle_rss_mib"] = starts(lambda: daemon(tmp, prod, million))
        res["bare_startup_ms"], res["bare_idle_rss_mib"] = starts(lambda: bare(1024))

        # Reads and their bare references, interleaved over several rounds (medians are
        # reported): on a noisy machine one pair of runs can land in different moods.
        spread = os.path.join(tmp, "ids.txt")
        with open(spread, "w") as f:
            f.write("\n".join(paste_id(i) for i in random.sample(range(MILLION), 100_000)) + "\n")
        rounds = {}

        def keep(name, r):
            rounds.setdefault(name, []).append(r)

        for _ in range(args.rounds):
            b = bare(1024).wait()
            keep("bare_1k", measure(b, f"http://127.0.0.1:{b.port}/", args))
            b.stop()
            b = bare(1 << 20).wait()
            keep("bare_1m", measure(b, f"http://127.0.0.1:{b.port}/", args))
            b.stop()
            s = daemon(tmp).wait()
            pid = post(s.port, b"r" * 1024)
            keep("plain_read_1k", measure(s, f"http://127.0.0.1:{s.port}/{pid}/raw", args))
            s.stop()
            for profile, data in (("empty", None), ("million", million)):
                s = daemon(tmp, prod, data).wait()
                cert = [f"X-SSL-Client-SHA1: {register(s.port)}"]
                auth = {"X-SSL-Client-SHA1": cert[0].split(": ")[1]}
                url = f"http://127.0.0.1:{s.port}"
                pid = post(s.port, b"r" * 1024, {**auth, **tokens.headers()})
                sid = post(s.port, b"https://example.com/some/long/path?query=value", {**auth, **tokens.headers()}, "/s")
                big = post(s.port, os.urandom(1 << 20), {**auth, **tokens.headers()})
                keep(f"{profile}_read_1k", measure(s, f"{url}/{pid}/raw", args, headers=cert))
                keep(f"{profile}_redirect", measure(s, f"{url}/s/{sid}", args, headers=cert))
                keep(f"{profile}_read_1m", measure(s, f"{url}/{big}/raw", args, headers=cert))
                keep(f"{profile}_read_1m_64", measure(s, f"{url}/{big}/raw", args, headers=cert, conns=64))
                if profile == "million":
                    keep("million_spread", measure(s, url, args, headers=cert, script="spread.lua",
                                                   env=dict(os.environ, IDS=spread)))
                scraped = download(int(prod["FLASKPASTE_METRICS_LISTEN"].rsplit(":", 1)[1]), "/metrics")
                s.stop()
                if scraped == 0:
                    raise RuntimeError("the metrics listener served nothing")
        res.update({k: median_run(v) for k, v in rounds.items()})

        # GET /pastes of the identity owning 10,000 of the million: first and deep page.
        s = daemon(tmp, prod, million).wait()
        for name, offset in (("list_first", 0), ("list_deep", 9_900)):
            res[name] = measure(s, f"http://127.0.0.1:{s.port}/pastes?offset={offset}", args,
                                headers=[f"X-SSL-Client-SHA1: {FP}"])
        s.stop()

        # Writes.
        sq = subprocess.run([os.path.join(RELEASE, "examples", "bench_sqlite_insert"), tmp, str(args.seconds)],
                            capture_output=True, text=True, check=True).stderr
        res["sqlite_single"] = float(re.search(r"single (\S+)", sq).group(1))
        res["sqlite_batch64"] = float(re.search(r"batch64 (\S+)", sq).group(1))
        b = bare(1024).wait()
        res["bare_post"] = measure(b, f"http://127.0.0.1:{b.port}/", args, script="create.lua")
        b.stop()
        s = daemon(tmp).wait()
        res["plain_create_1k"] = measure(s, f"http://127.0.0.1:{s.port}/", args, script="create.lua")
        s.stop()
        for profile, data in (("empty", None), ("million", copy_of(cached, tmp))):
            s = daemon(tmp, prod, data).wait()
            fp = register(s.port)
            phases = [dict(os.environ, POW_TOKENS=f, CERT=fp) for f in tokens.files]
            res[f"{profile}_create_1k"] = measure(s, f"http://127.0.0.1:{s.port}/", args, script="create.lua",
                                                  phases=phases)
            s.stop()
            if data:
                shutil.rmtree(data)
        s = daemon(tmp).wait()
        pid = post(s.port, b"m" * 1024)
        env = dict(os.environ, PASTE_ID=pid)
        res["plain_mixed"] = measure(s, f"http://127.0.0.1:{s.port}/", args, script="mixed.lua", env=env)
        s.stop()

        res.update(sweep(tmp, cached, prod, tokens))

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
        res["audit_events"] = audit.events
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(res)


def sweep(tmp, cached, prod, tokens):
    """One sweep deleting 100,000 expired pastes of the million (every tenth) while 32
    connections read: its duration, and the reads' latency from just before it starts to
    its end."""
    data = copy_of(cached, tmp)
    db = os.path.join(data, "pastes.db")
    expire = int(time.time()) + 8
    c = sqlite3.connect(db)
    with c:
        c.execute("UPDATE pastes SET expires_at = ? WHERE rowid % 10 = 1", (expire,))
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    s = daemon(tmp, prod, data).wait()
    try:
        admin = register(s.port)  # the first certificate of this copy: the admin's
        pid = post(s.port, b"s" * 1024, {"X-SSL-Client-SHA1": admin, **tokens.headers()})
        time.sleep(max(0.0, expire + 1 - time.time()))
        # wrk reports when interrupted; it runs until the sweep is over.
        load = subprocess.Popen(wrk_argv(f"http://127.0.0.1:{s.port}/{pid}/raw", 600,
                                         headers=[f"X-SSL-Client-SHA1: {admin}"]),
                                stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        started = time.monotonic()
        status, _, body = request(s.port, "POST", "/admin/cleanup", headers={"X-SSL-Client-SHA1": admin})
        took = time.monotonic() - started
        load.send_signal(signal.SIGINT)
        reads = parse_wrk(load.communicate(timeout=60)[0])
    finally:
        s.stop()
        shutil.rmtree(data)
    if status != 200:
        raise RuntimeError(f"cleanup failed: {status} {body[:200]!r}")
    return {"sweep_ms": took * 1000, "sweep_deleted": json.loads(body)["pastes"], "sweep_reads": reads}


def report(r):
    m, e, b1, bm = "million_", "empty_", r["bare_1k"], r["bare_1m"]
    head = "| figure | flaskpaste | reference | ratio | target | met |"
    rule = "| --- | ---: | ---: | ---: | --- | --- |"

    def row(name, ours, ref, target=None, ok=None, fmt=",.1f"):
        ratio = f"{ours / ref:.3f}×" if ref else ""
        met = "" if ok is None else ("yes" if ok else "NO")
        ref_cell = f"{ref:{fmt}}" if ref is not None else ""
        return f"| {name} | {ours:{fmt}} | {ref_cell} | {ratio} | {target or ''} | {met} |"

    def at(key, fig):
        return r[m + key][fig]

    targets = [
        row("read-1k CPU µs/request (vs bare hyper)", at("read_1k", "cpu_us"), b1["cpu_us"], "≤ 1.5×",
            at("read_1k", "cpu_us") <= 1.5 * b1["cpu_us"]),
        row("read-1k p99 ms (vs bare hyper)", at("read_1k", "p99_ms"), b1["p99_ms"], "≤ 2×",
            at("read_1k", "p99_ms") <= 2 * b1["p99_ms"], ",.3f"),
        row("read-1m requests/s (vs bare hyper)", at("read_1m", "rps"), bm["rps"], "≥ 0.8×",
            at("read_1m", "rps") >= 0.8 * bm["rps"]),
        row("read-1m peak RSS MiB, 64 readers", at("read_1m_64", "peak_rss_mib"), None, "≤ 64",
            at("read_1m_64", "peak_rss_mib") <= 64),
        row("create-1k creates/s, durable (vs raw inserts, 64 rows/commit)", at("create_1k", "rps"),
            r["sqlite_batch64"], "≥ 0.4×", at("create_1k", "rps") >= 0.4 * r["sqlite_batch64"]),
        row("create-1k CPU µs/create (vs bare hyper's per POST)", at("create_1k", "cpu_us"),
            r["bare_post"]["cpu_us"], "≤ 4×", at("create_1k", "cpu_us") <= 4 * r["bare_post"]["cpu_us"]),
        row("redirect CPU µs/request (vs read-1k)", at("redirect", "cpu_us"), at("read_1k", "cpu_us"), "≤ 1×",
            at("redirect", "cpu_us") <= at("read_1k", "cpu_us")),
        row("read p99 ms during the sweep of 100,000", r["sweep_reads"]["p99_ms"], None, "≤ 10",
            r["sweep_reads"]["p99_ms"] <= 10, ",.2f"),
        row("GET /pastes CPU µs, offset 9,900 (vs offset 0)", r["list_deep"]["cpu_us"], r["list_first"]["cpu_us"],
            "≤ 2×", r["list_deep"]["cpu_us"] <= 2 * r["list_first"]["cpu_us"]),
        row("startup ms, nearly empty (vs bare hyper)", r["startup_ms"], r["bare_startup_ms"], "≤ 15",
            r["startup_ms"] <= 15, ",.2f"),
        row("startup ms, a million (vs bare hyper)", r["million_startup_ms"], r["bare_startup_ms"], "≤ 50",
            r["million_startup_ms"] <= 50, ",.2f"),
        row("idle RSS MiB, nearly empty (vs bare hyper)", r["idle_rss_mib"], r["bare_idle_rss_mib"], "≤ 8",
            r["idle_rss_mib"] <= 8, ",.2f"),
        row("idle RSS MiB, a million (vs bare hyper)", r["million_idle_rss_mib"], r["bare_idle_rss_mib"], "≤ 8",
            r["million_idle_rss_mib"] <= 8, ",.2f"),
    ]
    scale = []
    for key, name in (("read_1k", "read-1k"), ("redirect", "redirect"), ("read_1m", "read-1m"),
                      ("read_1m_64", "read-1m, 64 connections"), ("create_1k", "create-1k")):
        big, small = r[m + key], r[e + key]
        scale.append(row(f"{name} requests/s", big["rps"], small["rps"], "≥ 0.8×", big["rps"] >= 0.8 * small["rps"]))
        scale.append(row(f"{name} CPU µs/request", big["cpu_us"], small["cpu_us"], "≤ 1.2×",
                         big["cpu_us"] <= 1.2 * small["cpu_us"]))
        scale.append(row(f"{name} p99 ms", big["p99_ms"], small["p99_ms"], "≤ 1.2×",
                         big["p99_ms"] <= 1.2 * small["p99_ms"], ",.3f"))
    lines = [
        f"flaskpaste benchmark, {datetime.date.today()}, commit {commit()} (server on CPU {SERVER_CPU},"
        f" wrk on CPU {LOAD_CPU}, 32 connections; reads and their references: medians of"
        f" {r['bare_1k']['rounds']} interleaved rounds)",
        "",
        "Targets: every feature on (metrics, audit, PKI with a trusted certificate header,"
        " rate limits, proof-of-work on creations), on a database of a million pastes:",
        "", head, rule, *targets,
        "", "A million pastes against a nearly empty database (every feature on):", "", head, rule, *scale,
        "", "Other figures:", "", head, rule,
        row("read-1k CPU µs/request: every feature on (vs off), nearly empty", r[e + "read_1k"]["cpu_us"],
            r["plain_read_1k"]["cpu_us"]),
        row("read-1k CPU µs/request, every feature off (vs bare hyper)", r["plain_read_1k"]["cpu_us"], b1["cpu_us"]),
        row("create-1k CPU µs/create: every feature on (vs off), nearly empty", r[e + "create_1k"]["cpu_us"],
            r["plain_create_1k"]["cpu_us"]),
        row("random reads among the million, requests/s (vs one paste)", r["million_spread"]["rps"],
            at("read_1k", "rps")),
        row("sweep of 100,000 expired pastes, ms", r["sweep_ms"], None),
        row("pastes the sweep deleted", r["sweep_deleted"], None, fmt=",.0f"),
        row("GET /pastes p50 ms, offset 0", r["list_first"]["p50_ms"], None, fmt=",.3f"),
        row("GET /pastes p50 ms, offset 9,900", r["list_deep"]["p50_ms"], None, fmt=",.3f"),
        row("database bytes per stored 1 KiB paste, a million", r["bytes_per_paste"], 1024),
        row("50 MiB upload: peak RSS growth MiB", r["big_upload_growth_mib"], None, "≤ 66",
            r["big_upload_growth_mib"] <= 66),
        row("50 MiB download: peak RSS growth MiB", r["big_download_growth_mib"], None, "≤ 66",
            r["big_download_growth_mib"] <= 66),
        row("audit events received", r["audit_events"], None, fmt=",.0f"),
        "", "Every figure of every scenario, with its ratio to the reference in brackets:", "",
    ]
    lines += all_figures(r)
    failed = {k: (v["non2xx"], v["socket_errors"]) for k, v in r.items()
              if isinstance(v, dict) and (v.get("non2xx") or v.get("socket_errors"))}
    lines += ["", "non-2xx responses and socket errors: " + (
        ", ".join(f"{k} {n} non-2xx, {e} socket errors" for k, (n, e) in failed.items()) or "none")]
    print("\n".join(lines))
    print("\nraw: " + json.dumps(r))


def commit():
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (out.stdout.strip() or "unknown") + ("+changes" if dirty else "")


def all_figures(r):
    """One row per scenario: each figure, and its ratio to the scenario's reference."""
    cols = [("rps", "requests/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
            ("cpu_us", "CPU µs/request"), ("peak_rss_mib", "peak RSS MiB")]
    batch = {"rps": r["sqlite_batch64"]}
    b1, bm = r["bare_1k"], r["bare_1m"]
    scenarios = [
        ("bare hyper, 1 KiB body", b1, {}, "reference"),
        ("bare hyper, 1 MiB body", bm, {}, "reference"),
        ("bare hyper, POST of 1 KiB", r["bare_post"], {}, "reference"),
        ("plain read-1k", r["plain_read_1k"], b1, "bare hyper, 1 KiB"),
        ("plain create-1k", r["plain_create_1k"], {**r["bare_post"], **batch},
         "rate: raw inserts, 64 rows/commit; the rest: bare hyper, POST"),
        ("plain mixed 90/10", r["plain_mixed"], b1, "bare hyper, 1 KiB"),
    ]
    for profile in ("empty", "million"):
        p = profile + "_"
        scenarios += [
            (f"{profile}: read-1k", r[p + "read_1k"], b1, "bare hyper, 1 KiB"),
            (f"{profile}: redirect", r[p + "redirect"], r[p + "read_1k"], "read-1k"),
            (f"{profile}: read-1m", r[p + "read_1m"], bm, "bare hyper, 1 MiB"),
            (f"{profile}: read-1m, 64 connections", r[p + "read_1m_64"], bm, "bare hyper, 1 MiB (32 connections)"),
            (f"{profile}: create-1k", r[p + "create_1k"], {**r["bare_post"], **batch},
             "rate: raw inserts, 64 rows/commit; the rest: bare hyper, POST"),
        ]
    scenarios += [
        ("million: random reads", r["million_spread"], r["million_read_1k"], "read-1k of one paste"),
        ("million: GET /pastes, offset 0", r["list_first"], {}, ""),
        ("million: GET /pastes, offset 9,900", r["list_deep"], r["list_first"], "offset 0"),
        ("million: reads during the sweep", r["sweep_reads"], r["million_read_1k"], "read-1k"),
    ]
    out = ["| scenario | " + " | ".join(c[1] for c in cols) + " | non-2xx | reference |",
           "| --- | " + " | ".join("---:" for _ in cols) + " | ---: | --- |"]
    for name, ours, ref, ref_name in scenarios:
        cells = []
        for key, _ in cols:
            if key not in ours:
                cells.append("")
                continue
            cell = f"{ours[key]:,.1f}" if key not in ("p50_ms", "p99_ms") else f"{ours[key]:,.3f}"
            if ref.get(key):
                cell += f" ({ours[key] / ref[key]:.2f}×)"
            cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + f" | {ours['non2xx']} | {ref_name} |")
    out.append(f"| raw inserts, 1 row/commit | {r['sqlite_single']:,.1f} | | | | | | reference |")
    out.append(f"| raw inserts, 64 rows/commit | {r['sqlite_batch64']:,.1f} | | | | | | reference |")
    return out


if __name__ == "__main__":
    main()
