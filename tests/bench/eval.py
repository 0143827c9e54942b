#!/usr/bin/env python3
"""What evaluation costs against the history it judges (issue 15; figures
in tests/bench/README.md, "Evaluation against history"). Two benchmarks:

  eval.py BINARY steady N [SECONDS]
      N feeds every second on loopback (nginx, fresh readings), one `mean`
      target each, run twice: without history, then with a year of hourly
      history per series loaded into Redis before the start. After the
      first judgement of every target and a 5 s settle, a window of SECONDS
      (default 20): the daemon's and its Redis's CPU, observations stored,
      how often targets were judged again (ind:t evaluated_at of a sample of
      targets, polled every 100 ms: the longest gap; and evaluation passes
      from /metrics when the build exports them).

  eval.py BINARY start N
      N feeds and N `mean` targets, a year of hourly history per series in
      Redis, then the daemon starts: the time until every target is judged
      (ind:status has N entries), the daemon's peak RSS and CPU by then, the
      schedule lag over that span (p50, p99, the worst bucket, from
      indicatord_schedule_lag_seconds), and Redis's peak memory.

Options (environment): BENCH_EVERY (the feeds' interval, default 1s),
BENCH_LIMIT_GIB (the daemon's address-space cap, default 8: a build that
reads everything at once fails there instead of swapping the machine),
BENCH_TIMEOUT (seconds to wait for the first judgement of every target,
default 900), BENCH_KEEP=1 keeps the temporary directory.
"""
import datetime as dt
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds, free_port  # noqa: E402
from benchlib import start_nginx as benchlib_start_nginx  # noqa: E402

BIN, MODE, N = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
EVERY = os.environ.get("BENCH_EVERY", "1s")
LIMIT = float(os.environ.get("BENCH_LIMIT_GIB", "8")) * 2**30
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "900"))
HOUR = 3600000
NAN = float("nan")


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Resp:
    """A minimal pipelining RESP client."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def cmd(self, *args):
        self.s.sendall(self.encode(*args))
        return self.reply()

    def pipeline(self, commands):
        self.s.sendall(b"".join(self.encode(*c) for c in commands))
        return [self.reply() for _ in commands]


# A year of hourly values in one call per series, IDs <ms>-0 and the
# series id as the field, as the store writes them.
LOAD = """
local key, field = KEYS[1], ARGV[1]
local t0, n, step = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 0, n - 1 do
  redis.call('XADD', key, string.format('%.0f-0', t0 + i * step), field,
             tostring(20 + (i * 7919) % 40))
end
return n
"""

tmp = tempfile.mkdtemp(prefix="indicatord-evalbench-")
procs = []


def start_nginx():
    return benchlib_start_nginx(tmp, N, lambda i: 30 + i % 20)


def start_redis():
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", tmp,
                          "--logfile", os.path.join(tmp, f"redis{port}.log")])
    procs.append(p)
    for _ in range(200):
        try:
            r = Resp(port)
            if r.cmd("PING") == "PONG":
                return port, p, r
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis did not start")


def load_history(r, now_ms):
    """A year of hourly points per series, ending an hour before now."""
    sha = r.cmd("SCRIPT", "LOAD", LOAD)
    n = 365 * 24
    t0 = (now_ms // HOUR) * HOUR - n * HOUR
    t = time.monotonic()
    for a in range(0, N, 100):
        r.pipeline([("EVALSHA", sha, 1, f"ind:s:s{i}", f"s{i}", t0, n, HOUR)
                    for i in range(a, min(N, a + 100))])
    print(f"  history: {N} series x {n} hourly points = {N * n:,} entries loaded in "
          f"{time.monotonic() - t:.1f} s; Redis used_memory "
          f"{int(info(r)['used_memory']) / 2**20:.0f} MiB", flush=True)


def info(r):
    out = {}
    for line in r.cmd("INFO").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def write_config(http, rport, listen):
    year = dt.date.today().year
    cfg = os.path.join(tmp, "ind.yaml")
    with open(cfg, "w") as f:
        f.write(f"timezone: UTC\ninclude: []\nlisten: 127.0.0.1:{listen}\n"
                f"state_dir: {tmp}/state\nlog_level: warn\n"
                f"redis: {{url: 'redis://127.0.0.1:{rport}/0', max_queue: 1000000}}\nfeeds:\n")
        for i in range(N):
            f.write(f"  - {{id: f{i}, url: 'http://127.0.0.1:{http}/f/{i}.json', "
                    f"every: {EVERY}, series: {{s{i}: $.v}}}}\n")
        f.write("targets:\n")
        for i in range(N):
            f.write(f"  - {{id: t{i}, series: s{i}, rule: 'mean <= 100', "
                    f"period: {{from: {year}-01-01, to: {year}-12-31}}}}\n")
    return cfg


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (int(LIMIT), int(LIMIT)))


def start_daemon(cfg, name):
    p = subprocess.Popen([BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, name + ".log"), "w"),
                         preexec_fn=limit_memory)
    procs.append(p)
    return p


def metrics(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as h:
            text = h.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def lag_quantiles(m):
    buckets = sorted((float("inf") if k.split('le="')[1].split('"')[0] == "+Inf"
                      else float(k.split('le="')[1].split('"')[0]), v)
                     for k, v in m.items()
                     if k.startswith("indicatord_schedule_lag_seconds_bucket"))
    total = buckets[-1][1] if buckets else 0

    def q(x):
        for le, c in buckets:
            if c >= x * total:
                return le
        return NAN
    worst = next((le for le, c in buckets if c >= total), NAN)
    return q(0.5), q(0.99), worst, int(total)


def wait_judged(r, p, deadline):
    """Seconds until ind:status holds every target, or None."""
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return None
        if r.cmd("HLEN", "ind:status") >= N:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def steady(history):
    http = start_nginx() if not os.path.exists(os.path.join(tmp, "nginx.pid")) else steady.http
    steady.http = http
    rport, rproc, r = start_redis()
    if history:
        load_history(r, int(time.time() * 1000))
    listen = free_port()
    cfg = write_config(http, rport, listen)
    p = start_daemon(cfg, f"steady-{int(history)}")
    t_start = time.monotonic()
    judged = wait_judged(r, p, t_start + TIMEOUT)
    row = {"history": history, "first": judged}
    if judged is None:
        row["failed"] = "exited" if p.poll() is not None else "timeout"
        stop(p)
        rproc.terminate()
        return row
    time.sleep(5)
    sample = [f"ind:t:t{i}" for i in range(0, N, max(1, N // 50))]
    last = {k: None for k in sample}
    changed_at = {k: None for k in sample}
    gaps = {k: 0.0 for k in sample}
    m0 = metrics(listen)
    stored0 = r.cmd("EVAL", "local t=0 for i=0,tonumber(ARGV[1])-1 do "
                    "t=t+redis.call('XLEN','ind:s:s'..i) end return t", 0, N)
    c0, rc0, w0 = cpu_seconds(p.pid), cpu_seconds(rproc.pid), time.monotonic()
    while time.monotonic() - w0 < SECONDS:
        now = time.monotonic()
        for k, v in zip(sample, r.pipeline([("HGET", k, "evaluated_at") for k in sample])):
            if v != last[k]:
                if changed_at[k] is not None:
                    gaps[k] = max(gaps[k], now - changed_at[k])
                changed_at[k] = now
                last[k] = v
        time.sleep(0.1)
    now = time.monotonic()
    for k in sample:  # a target not judged since its last change counts too
        if changed_at[k] is not None:
            gaps[k] = max(gaps[k], now - changed_at[k])
    c1, rc1, w1 = cpu_seconds(p.pid), cpu_seconds(rproc.pid), time.monotonic()
    stored1 = r.cmd("EVAL", "local t=0 for i=0,tonumber(ARGV[1])-1 do "
                    "t=t+redis.call('XLEN','ind:s:s'..i) end return t", 0, N)
    m1 = metrics(listen)
    window = w1 - w0
    passes = m1.get("indicatord_evaluation_passes_total", NAN) - \
        m0.get("indicatord_evaluation_passes_total", NAN)
    evals = m1.get("indicatord_target_evaluations_total", NAN) - \
        m0.get("indicatord_target_evaluations_total", NAN)
    row.update(cpu=(c1 - c0) / window, redis=(rc1 - rc0) / window,
               obs=(stored1 - stored0) / window, gap=max(gaps.values()),
               gap_med=sorted(gaps.values())[len(gaps) // 2],
               passes=passes / window, evals=evals / window,
               rss=status_kib(p.pid, "VmHWM") / 1024,
               redis_mem=int(info(r)["used_memory"]) / 2**20)
    stop(p)
    rproc.terminate()
    rproc.wait()
    return row


def start():
    http = start_nginx()
    rport, rproc, r = start_redis()
    load_history(r, int(time.time() * 1000))
    listen = free_port()
    cfg = write_config(http, rport, listen)
    peak_redis = 0
    p = start_daemon(cfg, "start")
    t0 = time.monotonic()
    deadline = t0 + TIMEOUT
    done = None
    last_m = {}
    while time.monotonic() < deadline and p.poll() is None:
        if r.cmd("HLEN", "ind:status") >= N:
            done = time.monotonic() - t0
            break
        peak_redis = max(peak_redis, int(info(r)["used_memory"]))
        time.sleep(0.1)
    m = metrics(listen) if p.poll() is None else last_m
    cpu = cpu_seconds(p.pid) if p.poll() is None else NAN
    rss = status_kib(p.pid, "VmHWM") / 1024
    lag50, lag99, worst, fetches = lag_quantiles(m) if m else (NAN, NAN, NAN, 0)
    print(f"\nfirst pass after a start: {N} targets x a year of hourly history "
          f"({N * 8760:,} entries), feeds every {EVERY}")
    if done is None:
        print(f"  NOT DONE: {'the daemon exited (code %s)' % p.returncode if p.poll() is not None else 'timeout'}"
              f" after {time.monotonic() - t0:.0f} s; {r.cmd('HLEN', 'ind:status')} of {N} judged")
        text = open(os.path.join(tmp, "start.log")).read()
        print(f"  Redis connection lost {text.count('lost 127.0.0.1')} times "
              f"({text.count('no answer to PING')} without an answer to PING); "
              f"Redis used_memory peak {peak_redis / 2**20:.0f} MiB; daemon peak RSS "
              f"{rss:.0f} MiB")
        print("  log tail:", text[-600:].replace("\n", "\n    "))
    else:
        print(f"  every target judged after     {done:.1f} s")
        print(f"  daemon CPU by then            {cpu:.1f} s")
        print(f"  daemon peak RSS               {rss:.0f} MiB")
        print(f"  schedule lag p50 / p99 / max  {lag50:g} / {lag99:g} / {worst:g} s "
              f"(bucket bounds; {fetches} fetches)")
        print(f"  Redis used_memory peak        {peak_redis / 2**20:.0f} MiB")
    stop(p)
    rproc.terminate()
    rproc.wait()


try:
    if MODE == "steady":
        rows = [steady(False), steady(True)]
        print(f"\n{N} feeds every {EVERY}, one mean target each; window {SECONDS:g} s after "
              f"every target's first judgement + 5 s (nproc={os.cpu_count()})\n")
        print(f"{'history':>10}{'first s':>9}{'daemon':>8}{'redis':>8}{'obs/s':>8}"
              f"{'gap max':>9}{'gap med':>9}{'passes/s':>9}{'evals/s':>9}{'RSS MiB':>9}"
              f"{'Redis MiB':>10}")
        for x in rows:
            if "failed" in x:
                print(f"{'year' if x['history'] else 'none':>10}  {x['failed']}")
                continue
            print(f"{'year' if x['history'] else 'none':>10}{x['first']:>9.1f}{x['cpu']:>8.3f}"
                  f"{x['redis']:>8.3f}{x['obs']:>8.0f}{x['gap']:>9.2f}{x['gap_med']:>9.2f}"
                  f"{x['passes']:>9.2f}{x['evals']:>9.0f}{x['rss']:>9.1f}{x['redis_mem']:>10.0f}")
        if all("failed" not in x for x in rows):
            a, b = rows
            print(f"\nwith history / without: daemon CPU {b['cpu'] / a['cpu']:.2f}x, "
                  f"Redis CPU {b['redis'] / a['redis']:.2f}x (CPU in cores over the window)")
    elif MODE == "start":
        start()
    else:
        sys.exit(f"eval.py: unknown mode {MODE}")
finally:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    pidfile = os.path.join(tmp, "nginx.pid")
    if os.path.exists(pidfile):
        subprocess.run(["kill", open(pidfile).read().strip()])
    time.sleep(0.5)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept", tmp)
