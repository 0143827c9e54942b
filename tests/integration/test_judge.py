#!/usr/bin/env python3
"""The judgement through the real binary and a real redis-server, on dates
derived from today: `--now` is a what-if (nothing but observations
written, the same table every time, observations after it ignored);
`status --now` judges the stored observations without fetching; exit codes
(a failed feed is 1, also over --fail-on's 3); the trajectory in ind:p
after a backfill, a revision and with sub-daily data; staleness counted
from the end of the month a label describes; and the daemon: evaluation
within 2 s under continuous data, what Redis holds shown as soon as Redis
answers, no target judged (nor no_data alert sent) before its feed's first
fetch, and never `unknown`.

usage: test_judge.py BINARY SOURCE_DIR
"""
import datetime as dt
import json
import os
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
import redisd  # noqa: E402
import tap  # noqa: E402
from tap import check, wait_for  # noqa: E402

BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ENV = dict(os.environ)
for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "NO_COLOR"):
    ENV.pop(k, None)
Z = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai
tmp = tempfile.mkdtemp(prefix="indicatord-judge-")


def month_add(y, m, k):
    i = y * 12 + (m - 1) + k
    return i // 12, i % 12 + 1


def month_end_ms(y, m):
    ny, nm = month_add(y, m, 1)
    return int(dt.datetime(ny, nm, 1, tzinfo=Z).timestamp() * 1000) - 1


def iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, Z).isoformat(timespec="seconds")


# The period: from the first day of the month ten months ago to the last
# day of the month after next; MONTHS are the ten complete months before
# this one.
today = dt.datetime.now(Z)
MONTHS = [month_add(today.year, today.month, k) for k in range(-10, 0)]
P_FROM = f"{MONTHS[0][0]:04d}-{MONTHS[0][1]:02d}-01"
ey, em = month_add(today.year, today.month, 3)
P_TO = (dt.date(ey, em, 1) - dt.timedelta(days=1)).isoformat()


def label(ym):
    return f"{ym[0]:04d}-{ym[1]:02d}"


srv = httpd.Server()
srv.httpd.RequestHandlerClass.do_POST = srv.httpd.RequestHandlerClass.do_GET
posts = []


def hook(req, n):
    length = int(req.headers.get("Content-Length", 0))
    posts.append(req.rfile.read(length).decode() if length else "")
    return 200, {}, ""


srv.route("/hook", hook)
bodies = {}


def serve(path, points, delay=0.0):
    """points: [(label, value)] as JSON records."""
    bodies[path] = json.dumps({"data": [{"m": m, "v": v} for m, v in points]})

    def route(req, n):
        if delay:
            time.sleep(delay)
        if path not in bodies:
            return 404, {}, "gone"
        return 200, {}, bodies[path]
    srv.route(path, route)


r = redisd.Redis()


def config(name, feeds, targets, extra="", redis=None):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
state_dir: {tmp}/state-{name}
redis: {{url: '{(redis or r).url}'}}
{extra}feeds:
{feeds}targets:
{targets}""")
    return path


def feed(fid, path, kind="cumulative", every="1d", series=None):
    return (f"  - {{id: {fid}, url: '{srv.url}{path}', every: {every}, "
            f"records: '$.data[*]', time: '@.m', "
            f"series: {{{series or fid}: {{path: '@.v', kind: {kind}}}}}}}\n")


def target(tid, series, rule, extra=""):
    return (f"  - {{id: {tid}, series: {series}, rule: '{rule}', "
            f"period: {{from: {P_FROM}, to: {P_TO}}}{extra}}}\n")


def ind(cfg, *args):
    return subprocess.run([BIN, "-c", cfg, *args], capture_output=True, text=True,
                          env=ENV, timeout=120)


def keys():
    return sorted(r.cmd("KEYS", "*"))


def js(res):
    try:
        return json.loads(res.stdout)
    except ValueError:
        return {"targets": []}


def by_id(out):
    return {t["id"]: t for t in out.get("targets", [])}


try:
    # --- --now is a what-if ----------------------------------------------------
    serve("/jobs.json", [(label(ym), 100 * (k + 1)) for k, ym in enumerate(MONTHS)])
    jobs = config("whatif.yaml", feed("jobs", "/jobs.json"),
                  target("jobs", "jobs", "total >= 1200") +
                  target("fast", "jobs", "total >= 4000"),
                  "listen: off\nreceivers:\n"
                  f"  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}\n")
    last_end = month_end_ms(*MONTHS[-1])
    NOW = iso(last_end + 20 * 86400000)
    facts = ["ind:latest", "ind:m:jobs", "ind:s:jobs", "ind:series"]
    a = ind(jobs, "once", "--now", NOW, "--json")
    check("once --now exits 0", a.returncode == 0, a.stderr[-1500:])
    t = by_id(js(a))
    check("once --now judges (on_track, off_track)",
          t.get("jobs", {}).get("status") == "on_track" and
          t.get("fast", {}).get("status") == "off_track", str(t))
    check("once --now writes the observations and nothing else (no ind:t, "
          "ind:p, ind:events, outbox)", keys() == facts, str(keys()))
    b = ind(jobs, "once", "--now", NOW, "--json")
    check("the same data and --now give the same table", b.stdout == a.stdout,
          b.stdout[:400])
    # the daemon's own pass stores a state; a what-if does not read it
    c = ind(jobs, "once", "--json")
    check("once without --now stores the judgement and queues notifications",
          c.returncode == 0 and "ind:t:jobs" in keys() and "ind:p:jobs" in keys() and
          "ind:outbox" in keys(), str(keys()))
    stored = {k: r.cmd("HGETALL", k) for k in ("ind:t:jobs", "ind:t:fast")}
    events = r.cmd("XLEN", "ind:events")
    outbox = r.cmd("HLEN", "ind:outbox")
    ptraj = r.cmd("XRANGE", "ind:p:jobs", "-", "+")
    d = ind(jobs, "once", "--now", NOW, "--json")
    check("with a stored state, --now still gives the same table (fresh state)",
          d.stdout == a.stdout, d.stdout[:400])
    check("--now leaves ind:t, ind:p, ind:events and the outbox alone",
          {k: r.cmd("HGETALL", k) for k in stored} == stored and
          r.cmd("XLEN", "ind:events") == events and r.cmd("HLEN", "ind:outbox") == outbox and
          r.cmd("XRANGE", "ind:p:jobs", "-", "+") == ptraj)
    late = iso(last_end + 400 * 86400000)
    e = ind(jobs, "once", "--now", late, "--json")
    check("a --now past the deadline says missed and queues nothing",
          by_id(js(e)).get("fast", {}).get("status") == "missed" and
          r.cmd("XLEN", "ind:events") == events and r.cmd("HLEN", "ind:outbox") == outbox,
          e.stdout[:300])
    # observations after --now do not count
    mid = MONTHS[4]
    NOW5 = iso(month_end_ms(*mid) + 10 * 86400000)
    f5 = by_id(js(ind(jobs, "once", "--now", NOW5, "--json"))).get("jobs", {})
    check("--now judges only observations at or before it", f5.get("actual") == 500,
          str(f5))
    # status --now: the stored observations, no fetch
    s5 = ind(jobs, "status", "--now", NOW5, "--json")
    check("status --now re-judges the stored observations at that time",
          s5.returncode == 0 and js(s5).get("now") == NOW5 and
          by_id(js(s5)).get("jobs", {}).get("actual") == 500 and
          by_id(js(s5)) == by_id(js(ind(jobs, "once", "--now", NOW5, "--json"))),
          s5.stdout[:400] + s5.stderr[-400:])
    hits = len(srv.hits("/jobs.json"))
    s6 = ind(jobs, "status", "--now", NOW, "--json")
    check("status --now fetches nothing and writes nothing",
          len(srv.hits("/jobs.json")) == hits and
          {k: r.cmd("HGETALL", k) for k in stored} == stored and
          by_id(js(s6)) == by_id(js(a)), s6.stdout[:300])
    s7 = ind(jobs, "status", "--json")
    check("status without --now prints the stored table",
          {x["id"]: x["status"] for x in js(s7)["targets"]} ==
          {"jobs": dict(zip(stored["ind:t:jobs"][::2], stored["ind:t:jobs"][1::2]))["status"],
           "fast": dict(zip(stored["ind:t:fast"][::2], stored["ind:t:fast"][1::2]))["status"]},
          s7.stdout[:300])

    # --- hysteresis: once run again on unchanged data confirms nothing ---------
    hyst_pts = [(label(ym), 100 * (k + 1)) for k, ym in enumerate(MONTHS)]
    serve("/hyst.json", hyst_pts)
    hy = config("hyst.yaml", feed("hyst", "/hyst.json"),
                target("hyst", "hyst", "total >= 1200"), "listen: off\n")

    def hstate():
        h = r.cmd("HGETALL", "ind:t:hyst")
        h = dict(zip(h[::2], h[1::2]))
        return h.get("status"), h.get("pending"), h.get("pending_count")

    ind(hy, "once")
    first = hstate()
    hyst_pts[-1] = (hyst_pts[-1][0], 850)  # revised: at risk (r about 0.92)
    serve("/hyst.json", hyst_pts)
    ind(hy, "once")
    one = hstate()
    ind(hy, "once")
    ind(hy, "once")
    again = hstate()
    check("a revision is new data: one of two confirmations",
          first[0] == "on_track" and one == ("on_track", "at_risk", "1"), f"{first} {one}")
    check("once again on unchanged data confirms nothing", again == one, str(again))
    hyst_pts[-1] = (hyst_pts[-1][0], 851)
    serve("/hyst.json", hyst_pts)
    ind(hy, "once")
    check("the next new data confirms", hstate()[0] == "at_risk", str(hstate()))

    # --- exit codes ------------------------------------------------------------
    srv.static("/broken.json", "{not json")
    two = config("exit.yaml", feed("jobs", "/jobs.json") + feed("broken", "/broken.json"),
                 target("jobs", "jobs", "total >= 1200") +
                 target("fast", "jobs", "total >= 4000"), "listen: off\n")
    x = ind(two, "once", "--now", NOW)
    check("a feed that cannot be read: exit 1, the table printed, the failure named",
          x.returncode == 1 and "on_track" in x.stdout and "off_track" in x.stdout and
          "feed broken failed: unusable body" in x.stderr, f"{x.returncode} {x.stderr[-500:]}")
    x = ind(two, "once", "--now", NOW, "--fail-on", "off_track")
    check("1 wins over 3", x.returncode == 1, str(x.returncode))
    srv.static("/broken.json", "gone", status=404)
    x = ind(two, "once", "--now", NOW, "--json")
    check("a feed that cannot be fetched: exit 1, JSON still printed",
          x.returncode == 1 and len(js(x)["targets"]) == 2 and
          "feed broken failed: HTTP 404" in x.stderr, x.stderr[-500:])
    x = ind(jobs, "once", "--now", NOW, "--fail-on", "off_track")
    check("every feed read, a target off track, --fail-on off_track: exit 3",
          x.returncode == 3, str(x.returncode))
    x = ind(jobs, "once", "--now", NOW)
    check("every feed read, no --fail-on: exit 0", x.returncode == 0, str(x.returncode))

    # --- staleness from the end of the month a label describes ----------------
    inst = [(label(ym), 50 + k) for k, ym in enumerate(MONTHS)]
    serve("/level.json", inst)
    lv = config("level.yaml", feed("level", "/level.json", kind="instant"),
                target("level", "level", "latest >= 40"), "listen: off\n")
    # the last label stands at its month's first day; its month ends 35 d
    # before NOW2, which is 2 x 31 d after that first day
    first_day = int(dt.datetime(*MONTHS[-1], 1, tzinfo=Z).timestamp() * 1000)
    fresh = ind(lv, "once", "--now", iso(first_day + 63 * 86400000), "--json")
    check("monthly instant data: fresh 63 d after the label's first day",
          by_id(js(fresh)).get("level", {}).get("status") == "on_track" and
          r.cmd("HGET", "ind:m:level", "grain") == "month", fresh.stdout[:300])
    end = month_end_ms(*MONTHS[-1]) + 1
    stale = ind(lv, "once", "--now", iso(end + 63 * 86400000), "--json")
    check("... and no_data 63 d after the month's end",
          by_id(js(stale)).get("level", {}).get("status") == "no_data", stale.stdout[:300])

    # --- the trajectory ----------------------------------------------------------
    def traj(tid):
        return [(int(e[0].split("-")[0]), dict(zip(e[1][::2], e[1][1::2])))
                for e in r.cmd("XRANGE", f"ind:p:{tid}", "-", "+")]

    serve("/inc.json", [(label(ym), 10) for ym in MONTHS[7:]])
    tr = config("traj.yaml", feed("inc", "/inc.json", kind="increment"),
                target("inc", "inc", "total >= 200"), "listen: off\n")
    ind(tr, "once")
    p = traj("inc")
    check("three monthly releases: three points at the month ends",
          [t for t, _ in p] == [month_end_ms(*ym) for ym in MONTHS[7:]] and
          [float(v["actual"]) for _, v in p] == [10, 20, 30], str(p))
    serve("/inc.json", [(label(ym), 10) for ym in MONTHS])
    ind(tr, "once")
    p = traj("inc")
    check("a 10-month backfill: ten points, actual as of each",
          [t for t, _ in p] == [month_end_ms(*ym) for ym in MONTHS] and
          [float(v["actual"]) for _, v in p] == [10.0 * (k + 1) for k in range(10)] and
          all(set(v) == {"actual", "expected", "projected"} for _, v in p), str(p))
    before = traj("inc")
    revised = [(label(ym), 50 if k == 4 else 10) for k, ym in enumerate(MONTHS)]
    serve("/inc.json", revised)
    ind(tr, "once")
    p = traj("inc")
    want = []
    total = 0
    for _, v in revised:
        total += v
        want.append(float(total))
    check("a revision rewrites from its month on, the months before untouched",
          [float(v["actual"]) for _, v in p] == want and p[:4] == before[:4] and
          [t for t, _ in p] == [month_end_ms(*ym) for ym in MONTHS], str(p))
    check("expected and projected follow the pace at each point",
          all(abs(float(v["projected"]) * float(v["expected"]) / 200 - float(v["actual"])) <
              1e-6 * float(v["actual"]) for _, v in p), str(p[:2]))

    # sub-daily data: one point a day, at the day's last observation
    start = dt.datetime(*MONTHS[-1], 1, tzinfo=Z)
    samples = []
    for d in range(5):
        for h in (3, 11, 19):
            when = start + dt.timedelta(days=d, hours=h)
            samples.append((when.isoformat(), 20 + d + h / 100))
    serve("/pm.json", samples)
    pm = config("pm.yaml", feed("pm", "/pm.json", kind="instant"),
                target("pm", "pm", "mean <= 35", ", stale_after: 400d"), "listen: off\n")
    ind(pm, "once")
    p = traj("pm")
    check("hourly samples: one point a day, at the day's last sample",
          [t for t, _ in p] == [int((start + dt.timedelta(days=d, hours=19)).timestamp() * 1000)
                                for d in range(5)], str(p))

    # --- the daemon --------------------------------------------------------------
    def free_port():
        return redisd.free_port()

    def status(port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as h:
                return json.loads(h.read())
        except (OSError, ValueError):
            return None

    def metrics(port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as h:
                return h.read().decode()
        except OSError:
            return ""

    def run(cfg, name):
        log = open(os.path.join(tmp, name + ".log"), "w")
        return subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                                stderr=log), log

    def stop(proc, log):
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()

    # continuous data: three feeds every second, never starved
    counters = {}

    def live(name):
        def route(req, n):
            counters[name] = n
            return 200, {}, json.dumps({"v": n})
        return route

    lfeeds = ""
    ltargets = ""
    for i in range(3):
        srv.route(f"/live{i}.json", live(i))
        lfeeds += (f"  - {{id: live{i}, url: '{srv.url}/live{i}.json', every: 1s, "
                   f"series: {{live{i}: '$.v'}}}}\n")
        ltargets += target(f"live{i}", f"live{i}", "latest >= 1")
    port = free_port()
    lcfg = config("live.yaml", lfeeds, ltargets, f"listen: 127.0.0.1:{port}\nevaluate: 1h\n")
    proc, log = run(lcfg, "live")
    try:
        seen = {i: set() for i in range(3)}
        t_end = time.monotonic() + 9
        lag_ok = True
        while time.monotonic() < t_end:
            for i in range(3):
                h = r.cmd("HGET", f"ind:t:live{i}", "actual")
                if h:
                    seen[i].add(h)
            time.sleep(0.2)
        for i in range(3):
            # the stored actual trails the feed by at most ~2 s (2 fetches)
            a_now = float(r.cmd("HGET", f"ind:t:live{i}", "actual") or 0)
            lag_ok = lag_ok and counters.get(i, 0) - a_now <= 4
        check("continuous data every second: each target re-judged over and over "
              "(not only on the hourly timer)",
              all(len(seen[i]) >= 4 for i in range(3)), str({i: len(s) for i, s in seen.items()}))
        check("... and its judgement trails the data by about 2 s at most", lag_ok,
              str(counters))
    finally:
        stop(proc, log)

    # start: Redis down, a slow feed, nothing stored yet (a Redis that keeps
    # its data across restarts)
    serve("/slow.json", [(label(ym), 100 * (k + 1)) for k, ym in enumerate(MONTHS)],
          delay=5)
    port = free_port()
    r2 = redisd.Redis(extra=["--appendonly", "yes"])
    scfg = config("start.yaml", feed("slow", "/slow.json", every="1h"),
                  target("slow", "slow", "total >= 1200"),
                  f"listen: 127.0.0.1:{port}\nalerts: {{digest: '00:00'}}\n"
                  f"receivers:\n"
                  f"  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}\n", redis=r2)
    posts.clear()
    r2.stop()
    t0 = time.monotonic()
    proc, log = run(scfg, "start1")
    try:
        got = []
        wait_for(lambda: got.append(status(port)) or got[-1] is not None, 10)
        st = got[-1] or {"targets": [{}]}
        check("Redis down at start: /status says pending, not judged yet, never unknown",
              st["targets"][0].get("status") == "pending" and
              "not judged yet" in st["targets"][0].get("message", ""), str(st))
        m = metrics(port)
        check("... and the class gauges count it as pending",
              'indicatord_targets{class="pending"} 1' in m and "unknown" not in m,
              m[-600:])
        r2.start()
        ok = wait_for(lambda: "waiting for the first fetch" in
                      ((status(port) or {"targets": [{}]})["targets"][0].get("message", "")), 5)
        check("Redis up, the feed not answered yet: still pending, saying why", ok,
              str(status(port)))
        ok = wait_for(lambda: (status(port) or {"targets": [{}]})["targets"][0].get("status")
                      == "on_track", 15)
        check("judged once the feed's first fetch finished", ok, str(status(port)))
        check("... not before it", time.monotonic() - t0 >= 5)
        ev = r2.cmd("XRANGE", "ind:events", "-", "+")
        check("no no_data on start: the first event is the judgement",
              [dict(zip(e[1][::2], e[1][1::2])).get("to") for e in ev] == ["on_track"], str(ev))
        ok = wait_for(lambda: any("daily digest" in b for b in posts), 15)
        digests = [b for b in posts if "daily digest" in b]
        check("the day's digest waited for the first judgement",
              ok and len(digests) == 1 and "(on_track)" in digests[0], str(posts))
        check("no no_data notification on start",
              not [b for b in posts if "no_data" in b], str(posts))
    finally:
        stop(proc, log)

    # restart with a stored state, Redis down at first: shown as soon as it
    # answers, long before the (slower) feed does
    serve("/slow.json", [(label(ym), 100 * (k + 1)) for k, ym in enumerate(MONTHS)],
          delay=10)
    r2.stop()
    proc, log = run(scfg, "start2")
    try:
        wait_for(lambda: status(port) is not None, 10)
        time.sleep(0.5)
        r2.start()
        t1 = time.monotonic()
        ok = wait_for(lambda: (status(port) or {"targets": [{}]})["targets"][0].get("status")
                      == "on_track", 5)
        st = status(port) or {"targets": [{}]}
        check("restart: the stored judgement shown as soon as Redis answers, before "
              "the feed does", ok and time.monotonic() - t1 < 4 and
              st["targets"][0].get("actual") == 1000, str(st))
        m = metrics(port)
        check("... and in the gauges", 'indicatord_targets{class="on_track"} 1' in m, m[-600:])
    finally:
        stop(proc, log)
        r2.close()
finally:
    srv.close()
    r.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
