#!/usr/bin/env python3
"""Runs indicatord and then collectd on the same loopback feeds and prints
their figures side by side, measured two ways (see tests/bench/README.md):

- whole run: CPU from process start to the end of the run, divided by what
  Redis holds at the end (start-up included);
- steady state: after a warm-up (BENCH_WARMUP, default 5 s), CPU sampled
  from /proc/PID/stat at the window's start and end, divided by the
  observations Redis gained over the same window.

usage: bench.py BINARY N INTERVAL SECONDS   (see tests/bench/run)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds, free_port, start_nginx  # noqa: E402

BIN, N, INTERVAL, SECONDS = os.path.abspath(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
if WARMUP >= SECONDS:
    sys.exit(f"bench.py: the run ({SECONDS} s) must be longer than the warm-up ({WARMUP:g} s)")
NAN = float("nan")


def machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True).stdout.strip()


def ratio(a, b):
    return a / b if b and b == b and a == a else NAN


tmp = tempfile.mkdtemp(prefix="indicatord-bench-")
procs = []
try:
    http = start_nginx(tmp, N, lambda i: i)

    def start_redis():
        port = free_port()
        p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", tmp,
                              "--logfile", os.path.join(tmp, f"redis{port}.log")])
        procs.append(p)
        for _ in range(100):
            if redis_cli(port, "ping") == "PONG":
                return port, p.pid
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def measure(p, redis_pid, count, window_started=None, window_ended=None):
        """Samples p from its start: the warm-up, the window, the end. Returns
        the figures both ways; p is still running."""
        t_start = time.monotonic()
        time.sleep(max(0.0, t_start + WARMUP - time.monotonic()))
        if window_started:
            window_started()
        # Redis's own CPU leaves out the counting queries: count before the
        # window's first CPU sample and after its last one.
        stored0 = count()
        rcpu0 = cpu_seconds(redis_pid)
        cpu0 = cpu_seconds(p.pid)
        busy0 = machine_busy()
        t0 = time.monotonic()
        time.sleep(max(0.0, t_start + SECONDS - time.monotonic()))
        if window_ended:
            window_ended()
        t1 = time.monotonic()
        cpu1 = cpu_seconds(p.pid)
        rcpu1 = cpu_seconds(redis_pid)
        busy1 = machine_busy()
        stored1 = count()
        window = t1 - t0
        d = stored1 - stored0
        hz_window = (busy1[1] - busy0[1]) or 1
        return {
            "rss": peak_rss_mib(p.pid),
            # whole run: from the process start, start-up included
            "stored": stored1, "rate": stored1 / SECONDS, "cpu": cpu1,
            "cpu_ms": 1000 * cpu1 / stored1 if stored1 else NAN,
            "redis_ms": 1000 * rcpu1 / stored1 if stored1 else NAN,
            # steady state: the window after the warm-up only
            "w_stored": d, "w_rate": d / window, "w_cpu": cpu1 - cpu0,
            "w_cpu_ms": 1000 * (cpu1 - cpu0) / d if d else NAN,
            "w_redis_ms": 1000 * (rcpu1 - rcpu0) / d if d else NAN,
            "w_window": window,
            # the machine's load over the window, in cores (all processes)
            "w_machine": (busy1[0] - busy0[0]) / hz_window * os.cpu_count(),
            "w_self": (cpu1 - cpu0 + rcpu1 - rcpu0) / window,
        }

    results = {}

    # --- indicatord ---------------------------------------------------------
    rport, rpid = start_redis()
    every = f"{int(INTERVAL * 1000)}ms"
    cfg = os.path.join(tmp, "ind.yaml")
    with open(cfg, "w") as f:
        f.write(f"timezone: UTC\ninclude: []\nlisten: 127.0.0.1:{free_port()}\nstate_dir: {tmp}/state\n"
                f"redis: {{url: 'redis://127.0.0.1:{rport}/0', max_queue: 1000000}}\nlog_level: warn\nfeeds:\n")
        for i in range(N):
            f.write(f"  - {{id: f{i}, url: 'http://127.0.0.1:{http}/f/{i}.json', every: {every}, "
                    f"series: {{s{i}: $.v}}}}\n")
    metrics_port = int(open(cfg).read().split("listen: 127.0.0.1:")[1].split()[0])
    wrap = []
    callgrind = os.environ.get("BENCH_CALLGRIND")
    if callgrind:
        # Instructions over the window only: instrumentation is switched on
        # when the window starts and the profile dumped (to FILE.1) when it
        # ends.
        callgrind = os.path.abspath(callgrind)
        for old in (callgrind, callgrind + ".1"):
            if os.path.exists(old):
                os.unlink(old)
        wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={callgrind}"]
    p = subprocess.Popen([*wrap, BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "ind.log"), "w"))
    prof = None

    def window_started():
        global prof
        if os.environ.get("BENCH_PERF"):
            prof = subprocess.Popen(["perf", "record", *os.environ.get("BENCH_PERF_ARGS", "-g").split(),
                                     "-o", os.environ["BENCH_PERF"], "-p", str(p.pid), "--",
                                     "sleep", str(SECONDS - WARMUP)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if callgrind:
            for cmd in (["-i", "on"], ["-z"]):
                subprocess.run(["callgrind_control", *cmd, str(p.pid)], check=True,
                               stdout=subprocess.DEVNULL)

    def count_ind():
        return int(redis_cli(rport, "EVAL",
                             "local t=0 for _,k in ipairs(redis.call('KEYS','ind:s:*')) do "
                             "t=t+redis.call('XLEN',k) end return t", "0") or 0)

    def window_ended():
        if callgrind:
            subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True,
                           stdout=subprocess.DEVNULL)

    r = measure(p, rpid, count_ind, window_started, window_ended)
    if prof:
        prof.wait()
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as resp:
        metrics = resp.read().decode()
    p.terminate()
    p.wait(timeout=60)
    lag = {}
    counters = {"fetches": 0, "failures": 0, "skipped": 0}
    for line in metrics.splitlines():
        for name in counters:
            if line.startswith(f"indicatord_feed_{name}_total{{"):
                counters[name] += int(float(line.split()[-1]))
        if line.startswith("indicatord_schedule_lag_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            lag[float("inf") if le == "+Inf" else float(le)] = int(line.split()[-1])
    total = lag.get(float("inf"), 0)

    def quantile(q):
        for le in sorted(lag):
            if lag[le] >= q * total:
                return le
        return NAN
    r.update(lag50=quantile(0.5), lag99=quantile(0.99), **counters)
    if callgrind:
        ir = 0
        with open(callgrind + ".1") as f:
            for line in f:
                if line.startswith("summary:"):
                    ir = int(line.split()[1])
        r["ir_obs"] = ir / r["w_stored"] if r["w_stored"] else NAN
    results["indicatord"] = r

    # --- collectd -------------------------------------------------------------
    if os.environ.get("BENCH_ONLY") != "indicatord":
        cport, cpid = start_redis()
        ccfg = os.path.join(tmp, "collectd.conf")
        with open(ccfg, "w") as f:
            f.write(f"""Hostname "bench"
FQDNLookup false
Interval {INTERVAL}
ReadThreads 5
WriteThreads 5
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin curl_json
LoadPlugin write_redis
<Plugin write_redis>
  <Node "bench">
    Host "127.0.0.1"
    Port "{cport}"
    Timeout 5000
  </Node>
</Plugin>
<Plugin curl_json>
""")
            for i in range(N):
                f.write(f"""  <URL "http://127.0.0.1:{http}/f/{i}.json">
    Instance "f{i}"
    Interval {INTERVAL}
    <Key "v">
      Type "gauge"
    </Key>
  </URL>
""")
            f.write("</Plugin>\n")
        if not os.path.exists("/usr/share/collectd/types.db"):
            shutil.copy("/dev/null", "/usr/share/collectd/types.db")
        p = subprocess.Popen(["collectd", "-f", "-C", ccfg], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "collectd.log"), "w"))

        def count_collectd():
            return int(redis_cli(cport, "EVAL",
                                 "local t=0 for _,k in ipairs(redis.call('SMEMBERS','collectd/values')) do "
                                 "t=t+redis.call('ZCARD','collectd/'..k) end return t", "0") or 0)
        r = measure(p, cpid, count_collectd)
        p.terminate()
        p.wait(timeout=60)
        r.update(lag50=NAN, lag99=NAN)
        results["collectd"] = r

    # --- report ---------------------------------------------------------------
    sched = N / INTERVAL
    names = list(results)
    a = results["indicatord"]
    b = results.get("collectd")
    print(f"\nN={N} feeds, interval {INTERVAL:g}s, {SECONDS}s each, scheduled {sched:.0f} obs/s; "
          f"steady state over {SECONDS - WARMUP:g}s after a {WARMUP:g}s warm-up "
          f"(nproc={os.cpu_count()})\n")
    print(f"{'':34}" + "".join(f"{n:>14}" for n in names) + (f"{'ratio':>10}" if b else ""))

    def row(label, key, fmt):
        line = f"{label:34}" + "".join(f"{format(results[n].get(key, NAN), fmt):>14}" for n in names)
        if b:
            line += f"{ratio(a[key], b[key]):>10.2f}"
        print(line)
    print("whole run (process start included)")
    row("  stored obs/s", "rate", ".0f")
    row("  CPU ms per observation", "cpu_ms", ".4f")
    row("  CPU seconds", "cpu", ".2f")
    row("  Redis CPU ms per observation", "redis_ms", ".4f")
    print(f"steady state ({WARMUP:g}-{SECONDS:g} s)")
    row("  stored obs/s", "w_rate", ".0f")
    row("  CPU ms per observation", "w_cpu_ms", ".4f")
    row("  CPU seconds", "w_cpu", ".2f")
    row("  Redis CPU ms per observation", "w_redis_ms", ".4f")
    row("  machine busy, cores (all procs)", "w_machine", ".2f")
    row("  of which this system + its Redis", "w_self", ".2f")
    if callgrind:
        print(f"{'  instructions per observation':34}{a['ir_obs']:>14.0f}   (callgrind: {callgrind}.1)")
    row("peak RSS MiB", "rss", ".1f")
    print(f"{'schedule lag p50 / p99 s':34}{a['lag50']:>7g} /{a['lag99']:>5g}")
    print(f"indicatord fetches {a['fetches']}, failed {a['failures']}, skipped (still "
          f"running when due) {a['skipped']}")
    print("\nkept up (steady state): " + ", ".join(
        f"{n} {results[n]['w_rate'] / sched:.0%} of schedule" for n in names))
finally:
    for p in procs:
        p.terminate()
    pidfile = os.path.join(tmp, "nginx.pid")
    if os.path.exists(pidfile):
        subprocess.run(["kill", open(pidfile).read().strip()])
    time.sleep(0.5)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept", tmp)
