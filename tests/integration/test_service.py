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


slow = httpd.HangRoute('{"v": 5}')  # answers only when released
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
written = {}


def write(names, every_b="1s", extra=""):
    written.update(names=names, every_b=every_b, extra=extra)
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


def log_of(f):
    f.flush()
    with open(f.name) as g:
        return g.read()


def start_listening(env, log):
    """Starts the daemon on `port`; when another test took that port
    meanwhile, on another one (the config is rewritten)."""
    global port
    for _ in range(10):
        start = len(log_of(log))
        p = subprocess.Popen([BIN, "-c", cfg, "run"], env=env, stdout=subprocess.DEVNULL,
                             stderr=log)
        wait_for(lambda: p.poll() is not None or "running with" in log_of(log)[start:], 60)
        if p.poll() is None or "cannot serve HTTP" not in log_of(log)[start:]:
            return p
        p.wait()
        port = redisd.free_port()
        write(**written)
    raise RuntimeError("no port to listen on")


def stop(p, sig=signal.SIGTERM):
    """Signals p and waits for its exit: a hang, not a speed limit."""
    p.send_signal(sig)
    try:
        return p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


try:
    # --- notify protocol ---------------------------------------------------------
    write(["a", "b", "c"])
    nsock_path = os.path.join(tmp, "notify.sock")
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(nsock_path)
    nsock.settimeout(0.2)
    msgs = []
    lock = threading.Lock()
    reader_stop = threading.Event()

    def reader():
        # systemd reads notifications as they come; so does this thread
        while not reader_stop.is_set():
            try:
                data = nsock.recv(4096).decode()
            except socket.timeout:
                continue
            with lock:
                msgs.append((time.monotonic(), data))

    threading.Thread(target=reader, daemon=True).start()

    def states():
        with lock:
            return [m for _, m in msgs]

    def watchdogs():
        with lock:
            return [t for t, m in msgs if "WATCHDOG=1" in m]

    env = dict(ENV, NOTIFY_SOCKET=nsock_path, WATCHDOG_USEC="1000000")
    log = open(os.path.join(tmp, "svc.log"), "w+")
    p = start_listening(env, log)
    check("READY=1 once started", wait_for(lambda: any("READY=1" in m for m in states()), 30),
          str(states()[:5]))
    # WATCHDOG_USEC=1 s: a ping every 0.5 s. A ping can come late on a
    # loaded machine, never early; later than the interval itself and
    # systemd would kill the service.
    wait_for(lambda: len(watchdogs()) >= 9, 60)
    wd = watchdogs()
    gaps = sorted(b - a for a, b in zip(wd, wd[1:]))
    median = gaps[len(gaps) // 2] if gaps else 0
    check("WATCHDOG=1 at half the interval", len(wd) >= 9 and 0.45 <= median < 0.9,
          f"{len(wd)} pings, median gap {median:.3f} s")
    check("STATUS= summary", wait_for(lambda: any(m.startswith("STATUS=feeds") and "redis up" in m
                                                  for m in states())),
          str([m for m in states() if "STATUS" in m]))

    # /metrics through a real Prometheus parser, once every feed has been
    # fetched
    from prometheus_client.parser import text_string_to_metric_families

    def metrics():
        code, body = get(f"http://127.0.0.1:{port}/metrics")
        try:
            return code, body, {f.name: f for f in text_string_to_metric_families(body)}, None
        except Exception as e:  # noqa: BLE001
            return code, body, {}, e

    def fetch_counts(fams):
        if "indicatord_feed_fetches" not in fams:
            return {}
        return {s.labels["feed"]: s.value for s in fams["indicatord_feed_fetches"].samples}
    wait_for(lambda: all(fetch_counts(metrics()[2]).get(f, 0) >= 1 for f in "abc"), 30)
    code, body, fams, perr = metrics()
    parsed = perr is None
    if perr:
        print("# parse error", perr)
    check("/metrics parses as Prometheus text", code == 200 and parsed)
    for name in ("indicatord_feed_fetches", "indicatord_feed_failures",
                 "indicatord_fetch_duration_seconds", "indicatord_observations_written",
                 "indicatord_redis_queue_depth", "indicatord_spool_bytes",
                 "indicatord_redis_reconnects", "indicatord_targets",
                 "indicatord_build_info", "indicatord_target_score"):
        check(f"/metrics has {name}", name in fams, str(sorted(fams)[:40]))
    fetched = fetch_counts(fams)
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
    with lock:
        msgs.clear()
    with open(cfg, "a") as f:
        f.write("bogus: 1\n")
    p.send_signal(signal.SIGHUP)

    def reloading_then_ready():
        st = states()
        return "RELOADING=1" in st and "READY=1" in st[st.index("RELOADING=1"):]
    check("RELOADING=1 then READY=1 on SIGHUP", wait_for(reloading_then_ready, 30),
          str(states()))
    text = log_of(log)
    check("broken config: errors logged, old one kept",
          "keeping the running configuration" in text and "unknown key 'bogus'" in text,
          text[-1500:])
    check("still running", p.poll() is None)

    # reload: a kept, b changed, c removed, d added
    a_before = len(srv.hits("/a.json"))
    write(["a", "b", "d"], every_b="2s")
    p.send_signal(signal.SIGHUP)
    check("changes applied exactly (1 kept, 2 started, 2 stopped)",
          wait_for(lambda: "1 feeds kept, 2 started, 2 stopped" in log_of(log), 30))
    # c's last fetch, if one was on its way, has arrived once a has been
    # polled twice after the reload; two polls of a later, c must be silent
    wait_for(lambda: len(srv.hits("/a.json")) >= a_before + 2, 30)
    c_hits = len(srv.hits("/c.json"))
    wait_for(lambda: len(srv.hits("/a.json")) >= a_before + 4, 30)
    a_after = srv.hits("/a.json")[a_before:]
    check("an unchanged feed keeps its ETag across the reload",
          len(a_after) >= 4 and all(h.get("If-None-Match") == '"a1"' for h in a_after),
          str(a_after[:2]))
    check("the new feed runs", wait_for(lambda: len(srv.hits("/d.json")) >= 1, 30))
    check("the removed feed stops", len(srv.hits("/c.json")) == c_hits)

    with lock:
        msgs.clear()
    rc = stop(p)
    if rc is None:
        print("# hung at shutdown:", log_of(log)[-2500:])
    check("STOPPING=1 on SIGTERM", wait_for(lambda: any("STOPPING=1" in m for m in states()), 10),
          str(states()))
    check("exit 0", rc == 0)
    text = log_of(log)
    check("no sanitizer report", "Sanitizer" not in text, text[-2000:])

    # a notify socket nobody reads must not stall the loop: once its queue
    # is full (a datagram of ours no longer fits), the daemon still answers
    dead = os.path.join(tmp, "dead.sock")
    dsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dsock.bind(dead)

    def dead_full():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            probe.sendto(b"PROBE=1", socket.MSG_DONTWAIT, dead)
            return False
        except BlockingIOError:
            return True
        finally:
            probe.close()
    write(["a"])
    log2 = open(os.path.join(tmp, "dead.log"), "w+")
    p = start_listening(dict(ENV, NOTIFY_SOCKET=dead, WATCHDOG_USEC="40000"), log2)
    full = wait_for(dead_full, 30)
    # pings keep failing against the full queue while /healthz is served
    healthy = wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 30)
    rc = stop(p)
    check("a full notify socket never blocks the loop", full and healthy and rc == 0,
          f"full {full} healthz {healthy} rc {rc} {log_of(log2)[-800:]}")
    dsock.close()

    # SIGTERM during fetches: the fetch that hangs is abandoned (its timeout
    # is far longer than the test waits), and no write of the quick feed is
    # lost. The quick feed answers three times, then its fourth request
    # hangs too: one fetch of a feed at a time, so when that request arrives
    # the third answer has been handled. Redis holds writes back from the
    # third answer on (CLIENT PAUSE), so the third observation is still
    # the daemon's to keep when SIGTERM comes: in Redis or in the spool,
    # and in Redis after a restart.
    rds.cmd("FLUSHALL")
    quick_hang = httpd.HangRoute()

    def quick(req, n):
        if n == 3:
            rds.cmd("CLIENT", "PAUSE", "60000", "WRITE")
        return (200, {}, '{"v": %d}' % n) if n <= 3 else quick_hang(req, n)
    srv.route("/q.json", quick)
    with open(cfg, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
listen: off
state_dir: {tmp}/state2
redis: {{url: '{rds.url}'}}
feeds:
  - {{id: slow, url: {srv.url}/slow.json, every: 1h, timeout: 30m, series: {{s_slow: $.v}}}}
  - {{id: quick, url: {srv.url}/q.json, every: 1s, series: {{s_quick: $.v}}}}
""")
    log3 = open(os.path.join(tmp, "term.log"), "w+")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log3)
    both = wait_for(lambda: slow.pending == 1 and quick_hang.pending == 1, 60)
    t0 = time.monotonic()
    rc = stop(p)
    elapsed = time.monotonic() - t0
    err = log_of(log3)
    print(f"# SIGTERM to exit with two fetches hanging: {elapsed:.2f} s (informational)")
    check("SIGTERM during fetches: exit 0, the hanging fetches abandoned",
          both and rc == 0 and not slow.released.is_set() and
          wait_for(lambda: slow.pending == 0 and quick_hang.pending == 0, 10) and
          len(slow.abandoned) == 1 and len(quick_hang.abandoned) == 1,
          f"rc={rc} abandoned {len(slow.abandoned)}+{len(quick_hang.abandoned)} {err[-800:]}")
    rds.cmd("CLIENT", "UNPAUSE")
    # restarted with nothing new to fetch: what was kept comes back
    srv.route("/q.json", lambda req, n: (503, {}, "no"))
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log3)

    def quick_values():
        return [e[1][1] for e in rds.cmd("XRANGE", "ind:s:s_quick", "-", "+")]
    wait_for(lambda: quick_values() == ["1", "2", "3"], 30)
    stop(p)
    vals = quick_values()
    check("nothing lost: each of the quick feed's three answers is in Redis, once",
          vals == ["1", "2", "3"], f"{vals} {log_of(log3)[-800:]}")
finally:
    try:
        reader_stop.set()
    except NameError:
        pass
    slow.release()
    srv.close()
    rds.close()
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
