#!/usr/bin/env python3
"""Soak under faults: the daemon polls 500 feeds while redis-server is killed
and restarted every 20 s, 10% of feed answers are garbage or truncated,
some feeds hang past their timeout, and a webhook receiver fails half its
requests. Afterwards every observation a feed served is in Redis exactly
once, every notification reached the receiver (at most one duplicate), RSS
did not grow after warm-up, and no sanitizer spoke.

usage: soak.py BINARY SECONDS [FEEDS]
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import redisd  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
SECONDS = int(sys.argv[2])
FEEDS = int(sys.argv[3]) if len(sys.argv) > 3 else 500
rnd = random.Random(7)


tmp = tempfile.mkdtemp(prefix="indicatord-soak-")
BASE = 1795000000000
lock = threading.Lock()
counter = {}          # feed -> points generated so far
served = {}           # feed -> set of point indexes served in good answers
HANG = {f for f in range(FEEDS) if f % 50 == 7}   # 2% hang past the timeout


def feed(req, n):
    f = int(req.path.split("/")[-1].split(".")[0])
    with lock:
        k = counter.get(f, 0) + 1
        counter[f] = k
        window = list(range(max(0, k - 5), k))
        r = rnd.random()
    if f in HANG and n % 3 == 0:
        time.sleep(2.5)  # beyond the 1 s timeout: the client gives up
        return 200, {}, "{}"
    if r < 0.05:
        return 200, {}, "<html>garbage</html>"
    if r < 0.10:
        body = json.dumps({"data": [{"t": BASE + i * 1000, "v": i} for i in window]})
        return 200, {}, body[: len(body) // 2]  # truncated
    with lock:
        served.setdefault(f, set()).update(window)
    return 200, {}, json.dumps({"data": [{"t": BASE + i * 1000, "v": i} for i in window]})


received = []


def hook(req, n):
    length = int(req.headers.get("Content-Length", 0))
    body = req.rfile.read(length).decode() if length else ""
    if n % 2 == 0:
        return 500, {}, "down"
    received.append(body)
    return 200, {}, ""


srv = httpd.Server()
srv.httpd.RequestHandlerClass.do_POST = srv.httpd.RequestHandlerClass.do_GET
srv.route("/f/*", feed)
srv.route("/hook", hook)
# Redis persists every write, so that a kill -9 loses nothing it acknowledged
rds = redisd.Redis(extra=["--appendonly", "yes", "--appendfsync", "always"])
cfg = os.path.join(tmp, "soak.yaml")
with open(cfg, "w") as f:
    f.write(f"""timezone: UTC
include: []
listen: off
state_dir: {tmp}/state
redis: {{url: '{rds.url}', max_queue: 2000}}
log_level: info
alerts: {{repeat: "off", digest: "off"}}
feeds:
""")
    for i in range(FEEDS):
        f.write(f"  - {{id: f{i}, url: '{srv.url}/f/{i}.json', every: 1s, timeout: 1s, "
                f"records: '$.data[*]', time: '@.t', time_format: epoch_ms, "
                f"series: {{s{i}: '@.v'}}}}\n")
    # targets whose class changes as the data grows: at first no data in the
    # period (no_data), then judged: notifications flow through the failing
    # receiver
    f.write("targets:\n")
    for i in range(3):
        f.write(f"  - {{id: t{i}, series: s{i}, rule: 'latest >= 1000000', period: 2026, "
                f"confirm: 1, stale_after: 1h}}\n")
    f.write(f"receivers:\n  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}\n")

log = open(os.path.join(tmp, "daemon.log"), "w+")
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
# default) that fills with allocation churn: RSS would measure the churn,
# not what the daemon holds. A small quarantine keeps the RSS check honest.
env = dict(os.environ)
env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                             "quarantine_size_mb=16"]))
p = subprocess.Popen([BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL, stderr=log,
                     env=env)


def rss():
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


try:
    start = time.time()
    samples = []
    next_kill = start + 20
    while time.time() - start < SECONDS:
        time.sleep(1)
        samples.append((time.time() - start, rss()))
        if time.time() >= next_kill and time.time() - start < SECONDS - 10:
            rds.kill()
            time.sleep(2)
            rds.start()
            next_kill = time.time() + 20
    # stop new data; let the queue, the spool and the outbox drain
    srv.routes["/f/*"] = lambda req, n: (503, {}, "stopped")
    end = time.time() + 60
    time.sleep(5)
    while time.time() < end:
        try:
            if rds.cmd("HLEN", "ind:outbox") == 0 and received:
                break
        except OSError:
            pass
        time.sleep(1)
    time.sleep(2)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    log.seek(0)
    text = log.read()
    check("daemon exits 0", rc == 0, text[-1500:])
    check("no sanitizer report", "Sanitizer" not in text and "runtime error" not in text,
          text[-3000:])
    missing = extra = 0
    for fi, pts in served.items():
        ids = [e[0] for e in rds.cmd("XRANGE", f"ind:s:s{fi}", "-", "+")]
        got = [int(x.split("-")[0]) for x in ids]
        want = sorted(BASE + i * 1000 for i in pts)
        if len(got) != len(set(got)):
            extra += 1
        missing += len(set(want) - set(got))
    total = sum(len(v) for v in served.values())
    print(f"# {total} observations served by {len(served)} feeds; "
          f"{sum(counter.values())} requests")
    check("every served observation is in Redis", missing == 0 and total > 0,
          f"{missing} missing")
    check("no observation twice", extra == 0, f"{extra} series with duplicates")
    warm = [r for t, r in samples if t >= SECONDS * 0.3]
    if len(warm) >= 4:
        first, last = max(warm[: len(warm) // 2]), max(warm[len(warm) // 2:])
        print(f"# RSS after warm-up: {first} kB then {last} kB")
        check("RSS does not grow after warm-up", last <= first * 1.25 + 4096,
              f"{first} -> {last} kB")
    ev = rds.cmd("XRANGE", "ind:events", "-", "+") or []
    notified = sum(1 for e in ev if "notified" in e[1])
    ids = [json.loads(b)["alerts"][0]["annotations"]["notification"] for b in received]
    queued = text.count("alerts: open for target") + text.count("alerts: update for target") + \
        text.count("alerts: resolved for target")
    print(f"# notifications: {queued} queued, {len(ids)} received ({len(set(ids))} distinct)")
    if len(set(ids)) < queued:
        print("#", [l for l in text.splitlines() if "alerts" in l][-25:])
        print("# received", ids)
    check("every notification delivered (the receiver fails half the time)",
          queued > 0 and len(set(ids)) >= queued - 0 and
          rds.cmd("HLEN", "ind:outbox") == 0, f"{len(set(ids))}/{queued}")
    dup = len(ids) - len(set(ids))
    check("at most one duplicate per notification", all(ids.count(i) <= 2 for i in set(ids)),
          str(dup))
finally:
    if p.poll() is None:
        p.kill()
    srv.close()
    rds.close()
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
