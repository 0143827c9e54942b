#!/usr/bin/env python3
"""Runs indicatord and then collectd on the same loopback feeds and prints
their figures side by side (see tests/bench/run)."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN, N, INTERVAL, SECONDS = os.path.abspath(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True).stdout.strip()


tmp = tempfile.mkdtemp(prefix="indicatord-bench-")
procs = []
try:
    root = os.path.join(tmp, "www")
    os.makedirs(os.path.join(root, "f"))
    os.chmod(tmp, 0o755)  # nginx workers run as www-data
    for i in range(N):
        with open(os.path.join(root, "f", f"{i}.json"), "w") as f:
            f.write('{"v": %d}' % i)
    http = free_port()
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(f"""worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx.err;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  # Each poll is a new reading, as with a live sensor: no 304s.
  etag off;
  if_modified_since off;
  server {{ listen 127.0.0.1:{http}; root {root}; }}
}}
""")
    subprocess.run(["nginx", "-c", os.path.join(tmp, "nginx.conf")], check=True)

    def start_redis():
        port = free_port()
        p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", tmp,
                              "--logfile", os.path.join(tmp, f"redis{port}.log")])
        procs.append(p)
        for _ in range(100):
            if redis_cli(port, "ping") == "PONG":
                return port
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    results = {}

    # --- indicatord ---------------------------------------------------------
    rport = start_redis()
    every = f"{int(INTERVAL * 1000)}ms"
    cfg = os.path.join(tmp, "ind.yaml")
    with open(cfg, "w") as f:
        f.write(f"timezone: UTC\ninclude: []\nlisten: 127.0.0.1:{free_port()}\nstate_dir: {tmp}/state\n"
                f"redis: {{url: 'redis://127.0.0.1:{rport}/0', max_queue: 1000000}}\nlog_level: warn\nfeeds:\n")
        for i in range(N):
            f.write(f"  - {{id: f{i}, url: 'http://127.0.0.1:{http}/f/{i}.json', every: {every}, "
                    f"series: {{s{i}: $.v}}}}\n")
    metrics_port = int(open(cfg).read().split("listen: 127.0.0.1:")[1].split()[0])
    p = subprocess.Popen([BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "ind.log"), "w"))
    prof = None
    if os.environ.get("BENCH_PERF"):
        time.sleep(2)
        prof = subprocess.Popen(["perf", "record", *os.environ.get("BENCH_PERF_ARGS", "-g").split(), "-o", os.environ["BENCH_PERF"],
                                 "-p", str(p.pid), "--", "sleep", str(SECONDS - 4)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(SECONDS)
    if prof:
        prof.wait()
    cpu = cpu_seconds(p.pid)
    rss = peak_rss_mib(p.pid)
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as r:
        metrics = r.read().decode()
    p.terminate()
    p.wait(timeout=30)
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
        return float("nan")
    stored = int(redis_cli(rport, "EVAL",
                           "local t=0 for _,k in ipairs(redis.call('KEYS','ind:s:*')) do "
                           "t=t+redis.call('XLEN',k) end return t", "0") or 0)
    results["indicatord"] = {"stored": stored, "cpu": cpu, "rss": rss,
                             "lag50": quantile(0.5), "lag99": quantile(0.99),
                             **counters}

    # --- collectd -------------------------------------------------------------
    if os.environ.get("BENCH_ONLY") == "indicatord":
        r = results["indicatord"]
        print(f"indicatord N={N}: {r['stored'] / SECONDS:.0f} obs/s of {N / INTERVAL:.0f}, "
              f"{1000 * r['cpu'] / max(r['stored'], 1):.4f} CPU ms/obs, {r['cpu']:.2f} CPU s, "
              f"peak RSS {r['rss']:.1f} MiB, lag p50 {r['lag50']:g} p99 {r['lag99']:g}; "
              f"fetches {r['fetches']}, failed {r['failures']}, skipped {r['skipped']}")
        sys.exit(0)
    cport = start_redis()
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
    time.sleep(SECONDS)
    cpu = cpu_seconds(p.pid)
    rss = peak_rss_mib(p.pid)
    p.terminate()
    p.wait(timeout=30)
    stored = int(redis_cli(cport, "EVAL",
                           "local t=0 for _,k in ipairs(redis.call('SMEMBERS','collectd/values')) do "
                           "t=t+redis.call('ZCARD','collectd/'..k) end return t", "0") or 0)
    results["collectd"] = {"stored": stored, "cpu": cpu, "rss": rss,
                           "lag50": float("nan"), "lag99": float("nan")}

    sched = N / INTERVAL
    print(f"\nN={N} feeds, interval {INTERVAL:g}s, {SECONDS}s each, scheduled {sched:.0f} obs/s"
          f" (2-core machine, nproc={os.cpu_count()})\n")
    print(f"{'':28}{'indicatord':>14}{'collectd':>14}{'ratio':>10}")
    rows = []
    for name, r in results.items():
        r["rate"] = r["stored"] / SECONDS
        r["cpu_ms"] = 1000 * r["cpu"] / r["stored"] if r["stored"] else float("nan")
    a, b = results["indicatord"], results["collectd"]

    def row(label, key, fmt):
        ra = a[key] / b[key] if b[key] and b[key] == b[key] else float("nan")
        print(f"{label:28}{format(a[key], fmt):>14}{format(b[key], fmt):>14}{ra:>10.2f}")
    row("stored obs/s", "rate", ".0f")
    row("CPU ms per observation", "cpu_ms", ".4f")
    row("CPU seconds", "cpu", ".2f")
    row("peak RSS MiB", "rss", ".1f")
    print(f"{'schedule lag p50 / p99 s':28}{a['lag50']:>7g} /{a['lag99']:>5g}{'n/a':>14}")
    print(f"indicatord fetches {a['fetches']}, failed {a['failures']}, skipped (still "
          f"running when due) {a['skipped']}")
    print(f"\nkept up: indicatord {a['rate'] / sched:.0%} of schedule, collectd {b['rate'] / sched:.0%}")
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
