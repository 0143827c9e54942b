#!/usr/bin/env python3
"""Several instances on one Redis (contract §8, issue 16), through the real
binary, a real redis-server and a real HTTP server on loopback that records
every request per feed and takes the notifications:

- three instances share 30 feeds (10 each): every feed is polled once per
  interval by the cluster, none twice, none skipped;
- the leader is killed with SIGKILL while a notification waits in the
  outbox (its receiver refusing): its feeds and the leadership move within
  the lease (what Redis had left of it), the notification is delivered once
  by the new leader, and a class change after the takeover is notified once;
- a fourth instance joining takes its share (10 each again);
- the ETag moves with a feed through every handover (each feed's requests
  after its very first carry If-None-Match);
- an instance stopped with SIGTERM hands its feeds over at once;
- a second process with a live instance's name refuses to start.

usage: test_cluster.py BINARY SOURCE_DIR
"""
import datetime as dt
import json
import os
import shutil
import signal
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
ENV = dict(os.environ)
for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
          "CREDENTIALS_DIRECTORY"):
    ENV.pop(k, None)
tmp = tempfile.mkdtemp(prefix="indicatord-cluster-")

NFEEDS = 30
EVERY = 3.0   # s, every feed's interval
LEASE = 2.0   # s, cluster.lease
TZ = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.datetime.now(TZ).date()
PERIOD = (f"{{from: {TODAY - dt.timedelta(days=300)}, "
          f"to: {TODAY + dt.timedelta(days=64)}}}")

srv = httpd.Server()
srv.httpd.RequestHandlerClass.do_POST = srv.httpd.RequestHandlerClass.do_GET
lock = threading.Lock()
# f0 and f1 feed the two targets; the others serve a constant
control = {0: 10, 1: 10}
hook = {"refuse": False, "accepted": [], "refused": 0}


def feed_route(i):
    """A JSON value with an ETag: a request that has it gets 304."""
    def route(req, n):
        value = control.get(i, 1)
        etag = f'"v{value}"'
        if req.headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag}, ""
        return 200, {"Content-Type": "application/json", "ETag": etag}, \
            json.dumps({"v": value})
    return route


def hook_route(req, n):
    length = int(req.headers.get("Content-Length", 0))
    body = req.rfile.read(length).decode() if length else ""
    with lock:
        if hook["refuse"]:
            hook["refused"] += 1
            return 503, {}, "busy\n"
        try:
            alert = json.loads(body)["alerts"][0]
            nid = alert["annotations"]["notification"]
            target = alert["labels"]["target"]
        except (ValueError, KeyError, IndexError):
            nid, target = "?", "?"
        hook["accepted"].append((nid, target))
    return 200, {}, "ok\n"


for i in range(NFEEDS):
    srv.route(f"/f/{i}", feed_route(i))
srv.route("/hook", hook_route)

rds = redisd.Redis()
feeds = "".join(
    f"  - {{id: f{i}, url: '{srv.url}/f/{i}', every: {EVERY:g}s, "
    f"series: {{s{i}: $.v}}}}\n" for i in range(NFEEDS))
CFG = os.path.join(tmp, "cluster.yaml")
with open(CFG, "w") as f:
    f.write(f"""timezone: Asia/Shanghai
include: []
listen: "127.0.0.1:${{PORT}}"
state_dir: ${{STATE}}
redis: {{url: '{rds.url}'}}
log_level: debug
evaluate: 1h
cluster:
  instance: ${{INSTANCE}}
  lease: {LEASE:g}s
feeds:
{feeds}targets:
  - {{id: t1, title: 'target one', series: s0, rule: 'max <= 100', period: {PERIOD}, confirm: 1, stale_after: 1d, notify: [hook]}}
  - {{id: t2, title: 'target two', series: s1, rule: 'max <= 100', period: {PERIOD}, confirm: 1, stale_after: 1d, notify: [hook]}}
receivers:
  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}
alerts: {{repeat: "off", digest: "off"}}
""")


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError, urllib.error.HTTPError):
        return None


class Instance:
    def __init__(self, name):
        self.name = name
        self.port = redisd.free_port()
        self.state = os.path.join(tmp, "state-" + name)
        os.makedirs(self.state, exist_ok=True)
        self.logpath = os.path.join(tmp, name + ".log")
        self.start()

    def start(self):
        env = dict(ENV, PORT=str(self.port), STATE=self.state,
                   INSTANCE=self.name)
        self.log = open(self.logpath, "a+")
        self.p = subprocess.Popen([BIN, "-c", CFG, "run"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=self.log)

    def status(self):
        return get_json(f"http://127.0.0.1:{self.port}/status")

    def leases(self):
        st = self.status()
        return set(st["cluster"]["feeds"]) if st and "cluster" in st else None

    def text(self):
        with open(self.logpath) as f:
            return f.read()

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()

    def kill9(self):
        self.p.kill()
        self.p.wait()


def lease_holders():
    """feed -> holder, from Redis."""
    out = {}
    for i in range(NFEEDS):
        v = rds.cmd("GET", f"ind:lease:f:f{i}")
        if v:
            out[f"f{i}"] = v
    return out


def leader():
    return rds.cmd("GET", "ind:lease:leader")


def counts(holders, names):
    return {n: sum(1 for h in holders.values() if h == n) for n in names}


def gaps_ok(since, until, what):
    """No feed polled twice within an interval, none skipped: between two
    requests for a feed at least half an interval, at most an interval and
    a half (a skipped turn would be two intervals)."""
    bad = []
    worst_min, worst_max = 99.0, 0.0
    for i in range(NFEEDS):
        ts = [t for t in srv.arrivals(f"/f/{i}") if since <= t <= until]
        for a, b in zip(ts, ts[1:]):
            worst_min = min(worst_min, b - a)
            worst_max = max(worst_max, b - a)
            if b - a < EVERY / 2 or b - a > EVERY * 1.5:
                bad.append((i, round(b - a, 2)))
    print(f"# {what}: gaps between polls of a feed {worst_min:.2f} .. "
          f"{worst_max:.2f} s (interval {EVERY:g} s)")
    check(f"{what}: every feed polled once per interval", not bad,
          f"{bad[:10]}")


def polled_since(t0):
    return all(any(t > t0 for t in srv.arrivals(f"/f/{i}"))
               for i in range(NFEEDS))


def etag_moved():
    """Each feed's requests after its very first carry If-None-Match: the
    ETag went with the feed through every handover."""
    with srv.lock:
        reqs = list(srv.requests)
    bare = {}
    for path, headers in reqs:
        if path.startswith("/f/") and "If-None-Match" not in headers:
            bare[path] = bare.get(path, 0) + 1
    bad = {p: n for p, n in bare.items() if n > 1}
    check("the ETag moves with a feed (one request without If-None-Match "
          "per feed)", len(bare) == NFEEDS and not bad, str(bad))


def steady(names, what):
    """Waits for the share of each named instance, then three intervals,
    and checks the polls of those intervals."""
    share = -(-NFEEDS // len(names))
    ok = wait_for(lambda: counts(lease_holders(), names) ==
                  {n: share for n in names}, 30)
    check(f"{what}: {share} feeds each", ok,
          str(counts(lease_holders(), names)))
    t0 = time.monotonic()
    wait_for(lambda: time.monotonic() - t0 > 3 * EVERY + 0.5, 4 * EVERY)
    gaps_ok(t0, time.monotonic(), what)
    return ok


insts = {}
try:
    # ---- three instances share the feeds
    for n in ("a", "b", "c"):
        insts[n] = Instance(n)
    steady(["a", "b", "c"], "three instances")
    check("a leader is elected",
          wait_for(lambda: leader() in insts, 10), str(leader()))
    ok = wait_for(lambda: all((insts[n].leases() or set()) ==
                              {f for f, h in lease_holders().items() if h == n}
                              for n in insts), 10)
    check("/status lists the feeds each instance holds", ok)
    st = insts["a"].status()
    check("/status shows the instance and the leader",
          st and st["cluster"]["instance"] == "a" and
          st["cluster"]["leader"] == leader() and
          st["cluster"]["instances"] == 3, json.dumps(st and st.get("cluster")))
    with urllib.request.urlopen(f"http://127.0.0.1:{insts['a'].port}/metrics",
                                timeout=5) as r:
        metrics = r.read().decode()
    check("/metrics shows the instance, its leases and the leader",
          f'indicatord_cluster_info{{instance="a",leader="{leader()}"}} 1'
          in metrics and "indicatord_cluster_leases 10" in metrics and
          "indicatord_cluster_instances 3" in metrics and
          metrics.count("indicatord_cluster_lease{feed=") == 10,
          metrics[-1200:])
    state = rds.cmd("HGETALL", "ind:feed:f0")
    check("a feed's state is kept in Redis (ind:feed:<feed>)",
          isinstance(state, list) and "due" in state and "etag" in state and
          '"v10"' in state, str(state))

    # ---- the leader dies with a notification in its outbox
    lead = leader()
    with lock:
        hook["refuse"] = True
    control[0] = 500  # t1 breaks its ceiling: off_track, notified
    ok = wait_for(lambda: hook["refused"] >= 1, 30)
    check("the leader tries to deliver the notification (refused)", ok)
    queued = rds.cmd("HKEYS", "ind:outbox")
    check("the notification waits in the outbox", queued and len(queued) == 1,
          str(queued))
    dead_feeds = {f for f, h in lease_holders().items() if h == lead}
    # Redis gives the leases away when they run out: at most a lease later
    left = max(rds.cmd("PTTL", "ind:lease:leader"),
               max(rds.cmd("PTTL", f"ind:lease:f:{f}") for f in dead_feeds))
    t_kill = time.monotonic()
    insts[lead].kill9()
    survivors = [n for n in insts if n != lead]
    # the bound: what the leases had left, plus a margin for a loaded machine
    bound = left / 1000 + 1.5
    ok = wait_for(lambda: leader() in survivors, 4 * LEASE + 5)
    took = time.monotonic() - t_kill
    print(f"# leadership moved {took:.2f} s after the kill (lease {LEASE:g} "
          f"s, {left} ms of it left)")
    check("the leadership moves to a survivor within the lease",
          ok and took <= bound, f"{took:.2f} s, leader {leader()}")

    def moved():
        h = lease_holders()
        return all(h.get(f) in survivors for f in dead_feeds)
    ok = wait_for(moved, 4 * LEASE + 5)
    took = time.monotonic() - t_kill
    print(f"# the dead leader's feeds moved {took:.2f} s after the kill")
    check("its feeds move to the survivors within the lease",
          ok and took <= bound, f"{took:.2f} s")
    with lock:
        hook["refuse"] = False
    ok = wait_for(lambda: len(hook["accepted"]) >= 1, 40)
    check("the new leader delivers the notification the dead one held", ok)
    control[1] = 500  # a class change judged by the new leader
    ok = wait_for(lambda: len(hook["accepted"]) >= 2, 40)
    check("a class change after the takeover is notified", ok)
    steady(survivors, "two survivors")

    # ---- a new instance joins and takes its share
    insts["d"] = Instance("d")
    live = survivors + ["d"]
    steady(live, "an instance joining")
    holders = lease_holders()
    check("every feed is held by exactly one live instance",
          len(holders) == NFEEDS and set(holders.values()) <= set(live),
          str(holders))
    # nothing more comes: each notification once
    wait_for(lambda: not rds.cmd("HKEYS", "ind:outbox"), 10)
    with lock:
        got = list(hook["accepted"])
    ids = [n for n, _ in got]
    check("two notifications, each accepted once (none lost, none doubled)",
          len(ids) == 2 and len(set(ids)) == 2 and "?" not in ids, str(got))
    check("one for each target", sorted(t for _, t in got) == ["t1", "t2"],
          str(got))
    etag_moved()

    # ---- a graceful stop hands the feeds over at once
    a, b = survivors
    check("the joined instance stops cleanly", insts["d"].stop() == 0)
    t_stop = time.monotonic()
    rc = insts[a].stop()
    check("an instance stops cleanly", rc == 0, str(rc))
    ok = wait_for(lambda: counts(lease_holders(), [b]) == {b: NFEEDS}, 10)
    took = time.monotonic() - t_stop
    print(f"# the stopped instance's feeds were taken {took:.2f} s later")
    check("a stopped instance's feeds are taken over", ok,
          str(counts(lease_holders(), [a, b])))
    check("its registration is gone", rds.cmd("GET", f"ind:instance:{a}") is None
          and a not in (rds.cmd("ZRANGE", "ind:instances", 0, -1) or []))

    # ---- a second process with a live instance's name
    env = dict(ENV, PORT=str(redisd.free_port()),
               STATE=os.path.join(tmp, "dup"), INSTANCE=b)
    os.makedirs(env["STATE"], exist_ok=True)
    r = subprocess.run([BIN, "-c", CFG, "run"], env=env, capture_output=True,
                       text=True, timeout=60)
    check("a duplicate instance name is refused (exit 1)", r.returncode == 1,
          f"{r.returncode} {r.stderr[-500:]}")
    check("and says why", "unique" in r.stderr and b in r.stderr,
          r.stderr[-500:])
    check("the running instance keeps its feeds",
          counts(lease_holders(), [b]) == {b: NFEEDS})

    for n, inst in insts.items():
        if inst.alive():
            check(f"instance {n} stops cleanly", inst.stop() == 0)
        text = inst.text()
        check(f"instance {n}: no sanitizer report",
              "Sanitizer" not in text and "runtime error" not in text,
              text[-2000:])
finally:
    for inst in insts.values():
        if inst.alive():
            inst.kill9()
    srv.close()
    rds.close()
    if os.environ.get("KEEP_TMP"):
        print(f"# kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
tap.finish()
