#!/usr/bin/env python3
"""indicatord as a service: the systemd unit (verify, exposure <= 2.0), the
notify protocol (READY, WATCHDOG cadence, RELOADING/READY, STOPPING,
STATUS), reload (broken config kept out; changes applied exactly, unchanged
feeds keep their ETag), SIGTERM during fetches, /metrics through a real
Prometheus parser, /healthz following Redis.

usage: test_service.py BINARY SOURCE_DIR
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check, wait_for  # noqa: E402
import redisd  # noqa: E402

BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


tmp = tempfile.mkdtemp(prefix="indicatord-service-")
ENV = dict(os.environ)
for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
    ENV.pop(k, None)

# --- the unit ------------------------------------------------------------------
# The unit this build installs (cmake/install.cmake generates it from the
# install paths), made to run this binary.
unit_src = os.path.join(os.path.dirname(BIN), "install", "indicatord.service")
if shutil.which("systemd-analyze"):
    unit = os.path.join(tmp, "indicatord.service")
    with open(unit_src) as f:
        text = f.read()
    installed = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
    text = text.replace(installed + " ", BIN + " ")
    with open(unit, "w") as f:
        f.write(text)
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
    bad = [l for l in (r.stdout + r.stderr).splitlines()
           if "indicatord.service" in l and "not executable" not in l]
    check("systemd-analyze verify", r.returncode == 0 and not bad, r.stdout + r.stderr)
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", unit],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    score = float(m.group(1)) if m else 99
    print(f"# exposure {score}")
    check("systemd-analyze security: exposure <= 2.0", score <= 2.0, r.stdout[-800:])
else:
    check("systemd-analyze is installed", False)

srv = httpd.Server()
rds = redisd.Redis()
srv.route("/a.json", lambda req, n: (304, {"ETag": '"a1"'}, "")
          if req.headers.get("If-None-Match") == '"a1"'
          else (200, {"ETag": '"a1"'}, '{"v": 1}'))
srv.static("/b.json", '{"v": 2}')
srv.static("/c.json", '{"v": 3}')
srv.static("/d.json", '{"v": 4}')


def slow(req, n):
    time.sleep(8)
    return 200, {}, '{"v": 5}'
srv.route("/slow.json", slow)


def feeds(names, every_b="1s"):
    out = []
    for n in names:
        every = every_b if n == "b" else "1s"
        out.append(f"  - {{id: {n}, url: {srv.url}/{n}.json, every: {every}, timeout: 1s, "
                   f"series: {{s_{n}: $.v}}}}")
    return "\n".join(out) + "\n"


port = redisd.free_port()
cfg = os.path.join(tmp, "svc.yaml")


def write(names, every_b="1s", extra=""):
    with open(cfg, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
listen: 127.0.0.1:{port}
state_dir: {tmp}/state
redis: {{url: '{rds.url}'}}
{extra}feeds:
{feeds(names, every_b)}targets:
  - {{id: t-a, series: s_a, rule: "latest >= 1", period: 2026}}
""")


try:
    # --- notify protocol ---------------------------------------------------------
    write(["a", "b", "c"])
    nsock_path = os.path.join(tmp, "notify.sock")
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(nsock_path)
    nsock.settimeout(0.2)
    msgs = []
    lock = threading.Lock()
    stop = threading.Event()

    def reader():
        # systemd reads notifications as they come; so does this thread
        while not stop.is_set():
            try:
                data = nsock.recv(4096).decode()
            except socket.timeout:
                continue
            with lock:
                msgs.append((time.time(), data))

    def drain():
        time.sleep(0.25)

    threading.Thread(target=reader, daemon=True).start()

    env = dict(ENV, NOTIFY_SOCKET=nsock_path, WATCHDOG_USEC="1000000")
    log = open(os.path.join(tmp, "svc.log"), "w+")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=env, stdout=subprocess.DEVNULL,
                         stderr=log)
    t0 = time.time()
    while time.time() - t0 < 4:
        drain()
    states = [m for _, m in msgs]
    check("READY=1 once started", any("READY=1" in m for m in states), str(states[:5]))
    wd = [t for t, m in msgs if "WATCHDOG=1" in m]
    check("WATCHDOG=1 at half the interval (about 2/s)", 5 <= len(wd) <= 10, str(len(wd)))
    check("STATUS= summary", any(m.startswith("STATUS=feeds") and "redis up" in m
                                  for m in states), str([m for m in states if "STATUS" in m]))

    # /metrics through a real Prometheus parser
    from prometheus_client.parser import text_string_to_metric_families
    code, body = get(f"http://127.0.0.1:{port}/metrics")
    fams = {}
    try:
        fams = {f.name: f for f in text_string_to_metric_families(body)}
        parsed = True
    except Exception as e:  # noqa: BLE001
        parsed = False
        print("# parse error", e)
    check("/metrics parses as Prometheus text", code == 200 and parsed)
    for name in ("indicatord_feed_fetches", "indicatord_feed_failures",
                 "indicatord_fetch_duration_seconds", "indicatord_observations_written",
                 "indicatord_redis_queue_depth", "indicatord_spool_bytes",
                 "indicatord_redis_reconnects", "indicatord_targets",
                 "indicatord_build_info", "indicatord_target_score"):
        check(f"/metrics has {name}", name in fams, str(sorted(fams)[:40]))
    fetched = {s.labels["feed"]: s.value for s in fams["indicatord_feed_fetches"].samples} \
        if "indicatord_feed_fetches" in fams else {}
    check("per-feed fetch counters", all(fetched.get(f, 0) >= 1 for f in "abc"), str(fetched))
    check("no secrets or URLs in /metrics", srv.url not in body)
    code, body = get(f"http://127.0.0.1:{port}/status")
    check("/status is the target table as JSON", code == 200 and '"t-a"' in body, body[:200])
    code, _ = get(f"http://127.0.0.1:{port}/nope")
    check("anything else is 404", code == 404)
    code, body = get(f"http://127.0.0.1:{port}/healthz")
    check("/healthz 200 while Redis is up", code == 200, body)
    rds.stop()
    check("/healthz 503 when Redis stops",
          wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 503, 15),
          get(f"http://127.0.0.1:{port}/healthz")[1])
    code, body = get(f"http://127.0.0.1:{port}/healthz")
    check("/healthz says why", "redis unreachable" in body, body)
    rds.start()
    check("/healthz 200 again after Redis returns",
          wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 20))

    # reload: broken config keeps the old one
    msgs.clear()
    with open(cfg, "a") as f:
        f.write("bogus: 1\n")
    p.send_signal(signal.SIGHUP)
    t0 = time.time()
    while time.time() - t0 < 2:
        drain()
    states = [m for _, m in msgs]
    check("RELOADING=1 then READY=1 on SIGHUP",
          "RELOADING=1" in states and "READY=1" in states[states.index("RELOADING=1"):],
          str(states))
    log.seek(0)
    text = log.read()
    check("broken config: errors logged, old one kept",
          "keeping the running configuration" in text and "unknown key 'bogus'" in text,
          text[-1500:])
    check("still running", p.poll() is None)

    # reload: a kept, b changed, c removed, d added
    a_before = len(srv.hits("/a.json"))
    write(["a", "b", "d"], every_b="2s")
    p.send_signal(signal.SIGHUP)
    check("changes applied exactly (1 kept, 2 started, 2 stopped)",
          wait_for(lambda: (log.seek(0) or True) and
                   "1 feeds kept, 2 started, 2 stopped" in log.read(), 5))
    time.sleep(2.5)
    a_after = srv.hits("/a.json")[a_before:]
    check("an unchanged feed keeps its ETag across the reload",
          a_after and all(h.get("If-None-Match") == '"a1"' for h in a_after), str(a_after[:2]))
    check("the new feed runs", len(srv.hits("/d.json")) >= 1)
    c_hits = len(srv.hits("/c.json"))
    time.sleep(1.5)
    check("the removed feed stops", len(srv.hits("/c.json")) == c_hits)

    msgs.clear()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
        log.seek(0)
        print("# hung at shutdown:", log.read()[-2500:])
    drain()
    check("STOPPING=1 on SIGTERM", any("STOPPING=1" in m for _, m in msgs), str(msgs))
    check("exit 0", rc == 0)
    log.seek(0)
    text = log.read()
    check("no sanitizer report", "Sanitizer" not in text, text[-2000:])

    # a notify socket nobody reads must not stall the loop
    dead = os.path.join(tmp, "dead.sock")
    dsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dsock.bind(dead)
    write(["a"])
    p = subprocess.Popen([BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL,
                         env=dict(ENV, NOTIFY_SOCKET=dead, WATCHDOG_USEC="40000"))
    time.sleep(2)
    code, _ = get(f"http://127.0.0.1:{port}/healthz")
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    check("a full notify socket never blocks the loop", code == 200 and rc == 0,
          f"healthz {code} rc {rc}")
    dsock.close()

    # SIGTERM during fetches: out within 5 s, nothing lost
    rds.cmd("FLUSHALL")
    with open(cfg, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
listen: off
state_dir: {tmp}/state2
redis: {{url: '{rds.url}'}}
feeds:
  - {{id: slow, url: {srv.url}/slow.json, every: 30s, timeout: 20s, series: {{s_slow: $.v}}}}
  - {{id: quick, url: {srv.url}/b.json, every: 1s, series: {{s_quick: $.v}}}}
""")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(srv.hits("/slow.json")) >= 1 and len(srv.hits("/b.json")) >= 1, 10)
    time.sleep(0.5)
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=5)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    elapsed = time.time() - t0
    err = p.stderr.read()
    check("SIGTERM during a fetch: exit 0 within 5 s", rc == 0 and elapsed < 5,
          f"rc={rc} {elapsed:.1f}s {err[-800:]}")
    check("nothing lost: the quick feed's observations are in Redis",
          rds.cmd("XLEN", "ind:s:s_quick") >= 1, err[-800:])
finally:
    try:
        stop.set()
    except NameError:
        pass
    srv.close()
    rds.close()
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
