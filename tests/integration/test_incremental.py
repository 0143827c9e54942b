#!/usr/bin/env python3
"""Evaluation whose cost follows the new data (contract §5, issue 15),
through the real binary and a real redis-server: a series with more than a
year of history loaded into Redis directly, a feed re-publishing its last
two days every second, two targets on it. The daemon reads the history
once; passes over unchanged data read nothing; a revision and a late
observation re-read only from their day on; and what the daemon holds
after all that (ind:t's numbers, the trajectory in ind:p) is exactly what
a fresh start computes from everything in Redis, and what `status --now`
computes. A reload that changes a target reads its series again.

usage: test_incremental.py BINARY SOURCE_DIR
"""
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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
HOUR = 3600000
tmp = tempfile.mkdtemp(prefix="indicatord-incr-")

# The period: the first day of the month ten months ago to the end of the
# month after next; every 3 hours of history from 360 days before it (all
# of it read: a target reads from a year before its period) to
# two days ago, then the feed's last two days.
today = dt.datetime.now(Z)


def month_add(y, m, k):
    i = y * 12 + (m - 1) + k
    return i // 12, i % 12 + 1


fy, fm = month_add(today.year, today.month, -10)
ty, tm = month_add(today.year, today.month, 3)
P_FROM = dt.date(fy, fm, 1)
P_TO = dt.date(ty, tm, 1) - dt.timedelta(days=1)
now_ms = int(time.time() * 1000)
step = 3 * HOUR
recent_from = (now_ms - 2 * 86400000) // step * step
hist_from = int(dt.datetime(fy, fm, 1, tzinfo=Z).timestamp() * 1000) - 360 * 86400000
hist_from = hist_from // step * step
HISTORY = (recent_from - hist_from) // step


def value(ms):
    return 20 + (ms // step * 7919) % 40


srv = httpd.Server()
feed_points = {ms: value(ms) for ms in range(recent_from, now_ms, step)}


def route(req, n):
    recs = [{"t": ms, "v": v} for ms, v in sorted(feed_points.items())]
    return 200, {}, json.dumps({"data": recs})


srv.route("/pm.json", route)
r = redisd.Redis()
port = redisd.free_port()


def config(rule, retention="off"):
    path = os.path.join(tmp, "incr.yaml")
    with open(path, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
state_dir: {tmp}/state
listen: 127.0.0.1:{port}
evaluate: 1h
redis: {{url: '{r.url}'}}
feeds:
  - id: pm
    url: '{srv.url}/pm.json'
    every: 1s
    records: '$.data[*]'
    time: '@.t'
    time_format: epoch_ms
    series: {{pm: {{path: '@.v', kind: instant, retention: {retention}}}}}
targets:
  - {{id: mean, series: pm, rule: '{rule}', period: {{from: {P_FROM}, to: {P_TO}}}}}
  - {{id: peak, series: pm, rule: 'max <= 100', period: {{from: {P_FROM}, to: {P_TO}}}}}
""")
    return path


def metrics():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as h:
            text = h.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            k, v = line.split()
            out[k] = float(v)
    return out


def m(name):
    return metrics().get(name, -1)


def thash(tid):
    h = r.cmd("HGETALL", f"ind:t:{tid}") or []
    return dict(zip(h[::2], h[1::2]))


def traj(tid):
    return r.cmd("XRANGE", f"ind:p:{tid}", "-", "+")


def start():
    log = open(os.path.join(tmp, "daemon.log"), "a")
    return subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=log), log


def stop(p, log):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    log.close()


def settle():
    """Waits until a pass began and ended after the fetches that follow
    now (the feed answers every second)."""
    passes = m("indicatord_evaluation_passes_total")
    wait_for(lambda: m("indicatord_evaluation_passes_total") >= passes + 2, 10)


try:
    # the history, written as the store writes it (ID <ms>-0, the series
    # id as the field)
    r.cmd("EVAL", """
for i = 0, tonumber(ARGV[2]) - 1 do
  local ms = tonumber(ARGV[1]) + i * tonumber(ARGV[3])
  redis.call('XADD', KEYS[1], string.format('%.0f-0', ms), 'pm',
             tostring(20 + (math.floor(ms / tonumber(ARGV[3])) * 7919) % 40))
end
return 1""", 1, "ind:s:pm", hist_from, HISTORY, step)
    check(f"history loaded ({HISTORY} entries)", r.cmd("XLEN", "ind:s:pm") == HISTORY)
    cfg = config("mean <= 45")
    p, log = start()
    try:
        ok = wait_for(lambda: thash("mean").get("evaluated_at") and
                      thash("peak").get("evaluated_at"), 20)
        check("both targets judged", ok, str(thash("mean")))
        settle()
        read0 = m("indicatord_evaluation_entries_read_total")
        check("the first pass read the history once per target",
              2 * HISTORY <= read0 < 2 * (HISTORY + 64), f"{read0} vs {HISTORY}")
        passes0 = m("indicatord_evaluation_passes_total")
        time.sleep(3)
        read1 = m("indicatord_evaluation_entries_read_total")
        passes1 = m("indicatord_evaluation_passes_total")
        check("passes over unchanged data read nothing",
              passes1 >= passes0 + 2 and read1 == read0, f"{passes0}->{passes1} {read0}->{read1}")

        # a revision a day back: re-read from that day's start on
        before = thash("mean")["actual"]
        t_rev = max(ms for ms in feed_points if ms <= now_ms - 86400000)
        feed_points[t_rev] = 95
        ok = wait_for(lambda: thash("mean")["actual"] != before, 10)
        settle()
        read2 = m("indicatord_evaluation_entries_read_total")
        check("a revision is judged, re-reading only from its day on",
              ok and read1 < read2 <= read1 + 2 * 30, f"{read1}->{read2}")
        # a late observation ten days back, between two stored ones
        t_late = (now_ms - 10 * 86400000) // step * step + HOUR
        feed_points[t_late] = 99
        ok = wait_for(lambda: r.cmd("XRANGE", "ind:s:pm", t_late, t_late), 10)
        settle()
        read3 = m("indicatord_evaluation_entries_read_total")
        check("a late observation re-reads from its day on (about ten days)",
              ok and read2 + 2 * 80 <= read3 <= read2 + 2 * 100, f"{read2}->{read3}")
        check("every reread so far was the start's",
              m("indicatord_evaluation_rereads_total") == 2,
              str(m("indicatord_evaluation_rereads_total")))

        # Redis refuses the writes for a while (an ACL without EVALSHA: the
        # connection stays, the writes are held in the spool); a revision
        # a day and a half back is among them. Replayed from the spool, it
        # is heard of like any rewrite: re-read from its day on.
        read4 = m("indicatord_evaluation_entries_read_total")
        r.cmd("ACL", "SETUSER", "default", "-evalsha")
        t_held = max(ms for ms in feed_points if ms <= now_ms - 36 * HOUR)
        feed_points[t_held] = 97
        held = wait_for(lambda: "Redis refuses writes" in
                        open(os.path.join(tmp, "daemon.log")).read(), 10)
        time.sleep(1)
        r.cmd("ACL", "SETUSER", "default", "+evalsha")
        ok = wait_for(lambda: (r.cmd("XRANGE", "ind:s:pm", t_held, t_held) or
                               [[0, ["pm", "0"]]])[0][1][1] == "97", 20)
        settle()
        read5 = m("indicatord_evaluation_entries_read_total")
        check("a revision held in the spool and replayed is judged, re-reading "
              "only from its day on", held and ok and read4 < read5 <= read4 + 2 * 40,
              f"held={held} stored={ok} {read4}->{read5}")
        # a reload that shortens the retention to 250 days: the store
        # trims the history into the period, the targets (unchanged) forget
        # what it removed without reading their series again
        before = thash("mean")["actual"]
        cfg = config("mean <= 45", retention="250d")
        xlen = r.cmd("XLEN", "ind:s:pm")
        p.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: r.cmd("XLEN", "ind:s:pm") < xlen - 100, 10)
        settle()
        check("a retention trim into the period is judged, no target reading its "
              "series again",
              ok and thash("mean")["actual"] != before and
              m("indicatord_evaluation_rereads_total") == 2,
              f"{xlen}->{r.cmd('XLEN', 'ind:s:pm')} "
              f"rereads={m('indicatord_evaluation_rereads_total')}")

        # another process writing to the same Redis: `once`, with a feed of
        # its own for series pm, stores a late observation five days back
        # (older than what the daemon's feed serves); the daemon hears of
        # it from the rewrite log and re-reads from its day on
        t_foreign = (now_ms - 5 * 86400000) // step * step + HOUR
        srv.route("/other.json", lambda req, n: (
            200, {}, json.dumps({"data": [{"t": t_foreign, "v": 3}]})))
        other = os.path.join(tmp, "other.yaml")
        with open(other, "w") as f:
            f.write(f"""timezone: Asia/Shanghai
include: []
state_dir: {tmp}/other-state
redis: {{url: '{r.url}'}}
feeds:
  - id: other
    url: '{srv.url}/other.json'
    every: 1h
    records: '$.data[*]'
    time: '@.t'
    time_format: epoch_ms
    series: {{pm: {{path: '@.v', kind: instant, retention: 250d}}}}
""")
        before = thash("mean")["actual"]
        rereads = m("indicatord_evaluation_rereads_total")
        read6 = m("indicatord_evaluation_entries_read_total")
        o = subprocess.run([BIN, "-c", other, "once"], env=ENV, capture_output=True,
                           text=True, timeout=60)
        check("once (another process) stored the late observation",
              o.returncode == 0 and r.cmd("XRANGE", "ind:s:pm", t_foreign, t_foreign),
              o.stdout + o.stderr)
        ok = wait_for(lambda: thash("mean")["actual"] != before, 10)
        settle()
        read7 = m("indicatord_evaluation_entries_read_total")
        check("... and the daemon judges it from the rewrite log, re-reading only "
              "from its day on",
              ok and read6 < read7 <= read6 + 2 * 60 and
              m("indicatord_evaluation_rereads_total") == rereads,
              f"{read6}->{read7} rereads {rereads}->"
              f"{m('indicatord_evaluation_rereads_total')}")
        time.sleep(1.5)
        settle()
        kept = {t: (thash(t)["actual"], thash(t)["expected"], thash(t)["projected"],
                    thash(t)["score"], thash(t)["data_ms"]) for t in ("mean", "peak")}
        kept_traj = {t: traj(t) for t in ("mean", "peak")}
    finally:
        stop(p, log)
    srv.routes.pop("/pm.json")  # the feed gone: only what Redis holds

    # status --now judges from scratch what Redis holds
    when = int(kept["mean"][4]) + 60000
    iso = dt.datetime.fromtimestamp(when / 1000, Z).isoformat(timespec="seconds")
    st = subprocess.run([BIN, "-c", cfg, "status", "--now", iso, "--json"],
                        capture_output=True, text=True, env=ENV, timeout=60)
    rows = {t["id"]: t for t in json.loads(st.stdout or '{"targets": []}')["targets"]}
    check("status --now (a full read) gives the same actuals (to the 12 digits "
          "it prints)",
          all(abs(float(rows.get(t, {}).get("actual") or "nan") - float(kept[t][0])) <=
              1e-9 * abs(float(kept[t][0])) for t in kept), f"{rows} vs {kept}")

    # a fresh start reads everything again and writes the trajectory whole
    p, log = start()
    try:
        srv.static("/pm.json", "gone", status=503)
        ok = wait_for(lambda: m("indicatord_evaluation_passes_total") >= 1 and
                      m("indicatord_target_evaluations_total") >= 2, 20)
        time.sleep(1)
        fresh = {t: (thash(t)["actual"], thash(t)["expected"], thash(t)["projected"],
                     thash(t)["score"], thash(t)["data_ms"]) for t in ("mean", "peak")}
        check("after revisions and a late insert, the kept judgement equals a fresh "
              "start's", ok and fresh == kept, f"{fresh} vs {kept}")
        check("... and so does the trajectory in ind:p, point for point",
              {t: traj(t) for t in ("mean", "peak")} == kept_traj and
              len(kept_traj["mean"]) > 200)

        # a reload that changes a target reads its series again
        rereads = m("indicatord_evaluation_rereads_total")
        cfg = config("mean <= 40", retention="250d")
        p.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: thash("mean").get("goal") == "40", 10)
        check("a changed target after a reload: judged against the new rule",
              ok, str(thash("mean").get("goal")))
        check("... reading its series again (the other target not)",
              wait_for(lambda: m("indicatord_evaluation_rereads_total") == rereads + 1, 5),
              f"{rereads} -> {m('indicatord_evaluation_rereads_total')}")
        want = [e[1][e[1].index("expected") + 1] for e in traj("mean")]
        check("... and its trajectory redrawn (expected from the new goal)",
              all(float(x) <= 40 * 1.6 for x in want) and
              traj("mean") != kept_traj["mean"], str(want[:3]))
    finally:
        stop(p, log)
    text = open(os.path.join(tmp, "daemon.log")).read()
    check("no sanitizer report", "Sanitizer" not in text, text[-2000:])
finally:
    srv.close()
    r.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
