#!/usr/bin/env python3
"""Soak under faults: the daemon polls 500 feeds while redis-server is killed
and restarted every 20 s (and during every third outage the daemon itself
is killed with SIGKILL and started again), Redis refuses XADD for a while
(an ACL, every 45 s), 10% of feed answers are garbage or truncated, some
feeds answer only after their timeout, and a webhook receiver fails half its
requests. Meanwhile a few "pulse" feeds stop and resume again and again, so
that their targets go no_data and back: notifications keep flowing through
the failing receiver. Afterwards every observation the daemon confirmed
receiving is in Redis exactly once (compared per feed), every notification
reached the receiver (at most one duplicate), RSS did not grow after
warm-up, and no sanitizer spoke.

What the daemon received is known from the daemon itself, not from what the
server sent: every good answer carries an ETag naming its window, and the
daemon's next request sends it back (If-None-Match), which it does only for
an answer it read whole, after handing its observations to the store. An
answer the daemon never read (it timed out while the server was slow, or it
was killed -9 with the answer in flight) is not counted; its points are
served again. Each answer holds the points not yet confirmed plus the
newest: once confirmed, a point is never served again, so it survives
outages, refusals and kill -9 only if the daemon keeps it (queue, spool,
held writes) -- a lost write cannot be made good by a later fetch.

Dates follow the clock: observations are stamped from the start of the run
and the targets' period is centred on today.

usage: soak.py BINARY SECONDS [FEEDS]
"""
import datetime as dt
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
PULSES = 3
rnd = random.Random(7)


tmp = tempfile.mkdtemp(prefix="indicatord-soak-")
BASE = int(time.time()) * 1000  # point i of a feed stands at BASE + i s
TODAY = dt.datetime.now(dt.timezone.utc).date()
PERIOD = f"{{from: {TODAY - dt.timedelta(days=180)}, to: {TODAY + dt.timedelta(days=184)}}}"
lock = threading.Lock()
counter = {}          # feed -> points generated so far
confirmed = {}        # feed -> points 0..n-1 confirmed received by the daemon
windows = {}          # ETag -> (feed, first point, end) of a good answer
frozen = set()        # feeds that generate no more points (the wind-down)
last_served = {}      # (feed, point) -> when it was last served (s since T0)
confirmed_at = {}     # (feed, point) -> when the daemon confirmed it
named = set()         # ETags the daemon sent back
timeline = []         # (s since T0, fault): to explain a loss, should one occur
T0 = time.monotonic()
HANG = {f for f in range(FEEDS) if f % 50 == 7}   # 2% hang past the timeout


def window(f, k):
    """Points of feed f not yet confirmed, and at least the newest (so the
    identical re-fetch is exercised too), as of k points generated."""
    return range(max(0, min(confirmed.get(f, 0), k - 1)), k)


def body(pts):
    return json.dumps({"data": [{"t": BASE + i * 1000, "v": i} for i in pts]})


def good_answer(f, k):
    """With the lock held: feed f's answer after k points, tagged so that
    the daemon's next request confirms it."""
    pts = window(f, k)
    tag = f'"{f}.{len(windows)}"'
    windows[tag] = (f, pts.start, pts.stop)
    at = time.monotonic() - T0
    for i in pts:
        last_served[(f, i)] = at
    return 200, {"ETag": tag}, body(pts)


def confirm(f, tag):
    """With the lock held: the daemon's request names the last good answer
    it read whole (If-None-Match); its points are the daemon's now."""
    tag = (tag or "").strip()
    w = windows.get(tag)
    if w is not None:
        named.add(tag)
    if w is None or w[0] != f or w[2] <= confirmed.get(f, 0):
        return
    at = time.monotonic() - T0
    for i in range(confirmed.get(f, 0), w[2]):
        confirmed_at[(f, i)] = at
    confirmed[f] = w[2]


def feed(req, n):
    f = int(req.path.split("/")[-1].split(".")[0])
    with lock:
        confirm(f, req.headers.get("If-None-Match"))
        if f in frozen:
            return good_answer(f, counter.get(f, 0))
        k = counter.get(f, 0) + 1
        counter[f] = k
        r = rnd.random()
    if f in HANG and n % 3 == 0:
        # A good answer, but after the 1 s timeout: the client has given
        # up, never reads it and never names it back.
        time.sleep(2.5)
        with lock:
            return good_answer(f, k)
    # Bad answers carry no ETag: the daemon keeps naming the last good one.
    if r < 0.05:
        return 200, {}, "<html>garbage</html>"
    if r < 0.10:
        with lock:
            text = body(window(f, k))
        return 200, {}, text[: len(text) // 2]  # truncated
    with lock:
        return good_answer(f, k)


pulse_on = threading.Event()
pulse_on.set()


def pulse(req, n):
    # an observation at fetch time while on; nothing new while off
    return (200, {}, '{"v": 10}') if pulse_on.is_set() else (503, {}, "paused")


received = []


hook_failing = threading.Event()
hook_failing.set()


def hook(req, n):
    length = int(req.headers.get("Content-Length", 0))
    body = req.rfile.read(length).decode() if length else ""
    if n % 2 == 0 and hook_failing.is_set():
        return 500, {}, "down"
    received.append(body)
    return 200, {}, ""


srv = httpd.Server()
srv.httpd.RequestHandlerClass.do_POST = srv.httpd.RequestHandlerClass.do_GET
# The daemon is killed mid-request on purpose: no traceback for the reset.
srv.httpd.handle_error = lambda request, client_address: None
srv.route("/f/*", feed)
srv.route("/p/*", pulse)
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
evaluate: 1s
alerts: {{repeat: "off", digest: "off"}}
feeds:
""")
    for i in range(FEEDS):
        f.write(f"  - {{id: f{i}, url: '{srv.url}/f/{i}.json', every: 1s, timeout: 1s, "
                f"records: '$.data[*]', time: '@.t', time_format: epoch_ms, "
                f"series: {{s{i}: '@.v'}}}}\n")
    for i in range(PULSES):
        f.write(f"  - {{id: p{i}, url: '{srv.url}/p/{i}.json', every: 1s, timeout: 1s, "
                f"series: {{pulse{i}: '$.v'}}}}\n")
    # three targets far off track on the soak's data, and the pulse
    # targets: on track while their feed runs, no_data a few seconds after
    # it stops (the default bound: 3x every for a 1 s feed)
    f.write("targets:\n")
    for i in range(3):
        f.write(f"  - {{id: t{i}, series: s{i}, rule: 'latest >= 1000000', period: {PERIOD}, "
                f"confirm: 1}}\n")
    for i in range(PULSES):
        f.write(f"  - {{id: pt{i}, series: pulse{i}, rule: 'latest >= 1', baseline: 0, "
                f"period: {PERIOD}, confirm: 1}}\n")
    f.write(f"receivers:\n  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}\n")

log = open(os.path.join(tmp, "daemon.log"), "w+")
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
# default) that fills with allocation churn: RSS would measure the churn,
# not what the daemon holds. A small quarantine keeps the RSS check honest.
env = dict(os.environ)
env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                             "quarantine_size_mb=16"]))
def start_daemon():
    return subprocess.Popen([BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL, stderr=log,
                            env=env)


p = start_daemon()


def rss():
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pulse_classes():
    try:
        st = rds.cmd("HGETALL", "ind:status")
    except OSError:
        return {}
    if not isinstance(st, list):
        return {}
    st = dict(zip(st[::2], st[1::2]))
    return {st.get(f"pt{i}") for i in range(PULSES)}


cycles = {"n": 0}
stop_pulsing = threading.Event()


def pulser():
    # Each half-cycle lasts until the daemon has judged every pulse target
    # accordingly: as fast as the daemon goes, however loaded the machine.
    while not stop_pulsing.is_set():
        pulse_on.set()
        while not stop_pulsing.is_set() and pulse_classes() != {"on_track"}:
            time.sleep(0.2)
        stop_pulsing.wait(2)
        if stop_pulsing.is_set():
            return
        pulse_on.clear()
        while not stop_pulsing.is_set() and pulse_classes() != {"no_data"}:
            time.sleep(0.2)
        if not stop_pulsing.is_set():
            cycles["n"] += 1


def text():
    log.flush()
    with open(log.name) as f:
        return f.read()


try:
    threading.Thread(target=pulser, daemon=True).start()
    start = time.monotonic()
    samples = []
    next_kill = start + 20
    next_acl = start + 30
    outages = crashes = refusals = 0
    since = 0.0  # the daemon's start, for the RSS samples
    while time.monotonic() - start < SECONDS and p.poll() is None:
        time.sleep(1)
        samples.append((time.monotonic() - start, rss()))
        now = time.monotonic()
        if now >= next_kill and now - start < SECONDS - 10:
            rds.kill()
            timeline.append((time.monotonic() - T0, "redis killed"))
            outages += 1
            if outages % 3 == 1:
                # kill -9 mid-outage: what was queued is in the spool
                time.sleep(1)
                p.kill()
                timeline.append((time.monotonic() - T0, "daemon killed (-9)"))
                p.wait()
                p = start_daemon()
                crashes += 1
                since = time.monotonic() - start
                samples = []
            time.sleep(2)
            rds.start()
            timeline.append((time.monotonic() - T0, "redis started"))
            next_kill = time.monotonic() + 20
        elif now >= next_acl and now - start < SECONDS - 10:
            # an ACL that forbids XADD (and the scripts' XADD) for a while:
            # writes are held, then go through
            try:
                rds.cmd("ACL", "SETUSER", "default", "-xadd")
                timeline.append((time.monotonic() - T0, "XADD forbidden"))
                time.sleep(6)
                rds.cmd("ACL", "SETUSER", "default", "+xadd")
                timeline.append((time.monotonic() - T0, "XADD allowed"))
                refusals += 1
            except OSError:
                pass
            next_acl = time.monotonic() + 45
    # Wind down: the pulse feeds run on, the feeds generate no more points
    # but serve what the daemon has not confirmed (and their newest point)
    # until it has, the receiver stops failing, and the queue, the spool and
    # the outbox drain.
    stop_pulsing.set()
    pulse_on.set()
    hook_failing.clear()  # retries already scheduled still wait their backoff
    with lock:
        frozen.update(range(FEEDS))

    def stored(fi):
        """Point indexes stored for feed fi, from their stream IDs; None for
        an entry whose value is not the one served for that time."""
        out = []
        for e in rds.cmd("XRANGE", f"ind:s:s{fi}", "-", "+"):
            i, off = divmod(int(e[0].split("-")[0]) - BASE, 1000)
            out.append(i if off == 0 and e[1][1] == str(i) else None)
        return out

    def settled():
        if p.poll() is not None:
            return True  # nothing more will come
        with lock:
            gen, got = dict(counter), dict(confirmed)
        if any(got.get(fi, 0) < k for fi, k in gen.items()):
            return False  # points the daemon has not confirmed yet
        try:
            return (all(set(stored(fi)) >= set(range(n)) for fi, n in got.items()) and
                    pulse_classes() == {"on_track"} and
                    rds.cmd("HLEN", "ind:outbox") == 0)
        except OSError:
            return False
    t_drain = time.monotonic()
    drained = tap.wait_for(settled, 180)
    print(f"# wound down in {time.monotonic() - t_drain:.1f} s (informational)")
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=60)
    log_text = text()
    check("daemon exits 0", rc == 0, log_text[-1500:])
    check("no sanitizer report", "Sanitizer" not in log_text and "runtime error" not in log_text,
          log_text[-3000:])
    with lock:
        final = {fi: set(range(n)) for fi, n in confirmed.items()}
        gen = dict(counter)
        answers = len(windows)
        unread = answers - len(named)
    # Stream IDs are unique, so an observation stored twice shows as an
    # entry at a time that was never served, or with another value.
    missing = extra = 0
    lost = []
    for fi in gen:
        pts = final.get(fi, set())
        got = stored(fi)
        missing += len(pts - set(got))
        lost += [(confirmed_at[(fi, i)], fi, i) for i in pts - set(got)]
        extra += sum(1 for i in got if i is None or i >= gen[fi]) + len(got) - len(set(got))
    total = sum(len(v) for v in final.values())
    print(f"# {total} observations confirmed received by the daemon from {len(final)} feeds; "
          f"{sum(gen.values())} points generated; {answers} good answers, of which "
          f"{unread} never named back (read too late, in flight at a kill, or the last); "
          f"drained: {drained}")
    check("every observation the daemon received is in Redis", missing == 0 and total > 0,
          f"{missing} missing")
    for at, fi, i in sorted(lost)[:20]:
        print(f"#   lost: feed f{fi} point {i}, confirmed received at {at:.2f} s, "
              f"last served at {last_served[(fi, i)]:.2f} s")
    if lost:
        for at, what in timeline:
            print(f"#   {at:7.2f} s  {what}")
    check("no observation twice or unserved: stored = served, per feed",
          extra == 0, f"{extra} entries not served as stored")
    print(f"# {outages} Redis outages, {crashes} kill -9 of the daemon during one, "
          f"{refusals} spells of refused XADD")
    check("the soak killed the daemon mid-outage and refused writes",
          crashes >= 1 and refusals >= 1, f"{crashes} crashes, {refusals} refusals")
    held = log_text.count("Redis refuses writes")
    check("refused writes are held and logged once per spell (not dropped)",
          refusals <= held <= 2 * refusals + crashes and
          "Redis refused EVALSHA" not in log_text and "Redis refused XADD" not in log_text,
          f"{held} lines for {refusals} spells")
    warm = [r for t, r in samples if t - since >= (SECONDS - since) * 0.3]
    if len(warm) >= 4:
        first, last = max(warm[: len(warm) // 2]), max(warm[len(warm) // 2:])
        print(f"# RSS after warm-up: {first} kB then {last} kB")
        check("RSS does not grow after warm-up", last <= first * 1.25 + 4096,
              f"{first} -> {last} kB")
    ids = [json.loads(b)["alerts"][0]["annotations"]["notification"] for b in received]
    queued = log_text.count("alerts: open for target") + \
        log_text.count("alerts: update for target") + \
        log_text.count("alerts: resolved for target")
    print(f"# notifications: {queued} queued, {len(ids)} received ({len(set(ids))} distinct); "
          f"{cycles['n']} pulse cycles")
    if len(set(ids)) < queued:
        print("#", [l for l in log_text.splitlines() if "alerts" in l][-25:])
        print("# received", ids)
    resolved = sum(1 for b in received if json.loads(b).get("status") == "resolved")
    check("notifications flowed: the pulse targets went no_data and back",
          cycles["n"] >= 1 and resolved >= PULSES, f"{cycles['n']} cycles, {resolved} resolved")
    check("every notification delivered (the receiver fails half the time)",
          queued > 0 and len(set(ids)) >= queued and
          rds.cmd("HLEN", "ind:outbox") == 0, f"{len(set(ids))}/{queued}")
    dup = len(ids) - len(set(ids))
    check("at most one duplicate per notification", all(ids.count(i) <= 2 for i in set(ids)),
          str(dup))
finally:
    stop_pulsing.set()
    if p.poll() is None:
        p.kill()
    srv.close()
    rds.close()
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
