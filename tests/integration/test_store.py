#!/usr/bin/env python3
"""The Redis store through the real binary and a real redis-server: exact
upserts, the contract's keys, prefix, unix socket, ACL AUTH, retention, and
outages (Redis stopped mid-stream, the daemon killed with a spool, a torn
spool tail, an upgrade that changed a script while the spool held writes
calling it) that lose nothing.

usage: test_store.py BINARY SOURCE_DIR
"""
import ast
import datetime as dt
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import redisd  # noqa: E402

BIN, SRC = sys.argv[1], sys.argv[2]
ENV = dict(os.environ)
ENV.pop("JOURNAL_STREAM", None)


tmp = tempfile.mkdtemp(prefix="indicatord-store-")
DATA = os.path.join(tmp, "history.json")


def write_history(points):
    """points: {month 'YYYY-MM': value}"""
    with open(DATA, "w") as f:
        json.dump({"data": [{"m": m, "v": v} for m, v in sorted(points.items())]}, f)


def config(name, redis_url, extra_redis="", extra="", feeds=None):
    path = os.path.join(tmp, name)
    state = os.path.join(tmp, "state-" + name)
    os.makedirs(state, exist_ok=True)
    feeds = feeds or f"""  - id: hist
    url: file://{DATA}
    records: $.data[*]
    time: "@.m"
    time_format: "%Y-%m"
    series:
      jobs: {{path: "@.v", kind: cumulative}}
"""
    with open(path, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
listen: off
include: []
state_dir: {state}
redis: {{url: '{redis_url}'{extra_redis}}}
{extra}feeds:
{feeds}""")
    return path


def once(cfg, env=ENV):
    return subprocess.run([BIN, "-c", cfg, "once"], capture_output=True,
                          text=True, env=env, timeout=120)


def stream(r, key, auth=None):
    out = r.cmd("XRANGE", key, "-", "+", auth=auth)
    return [(e[0], e[1][0], e[1][1]) for e in out]


def month_end_ms(ym):
    y, m = map(int, ym.split("-"))
    z = dt.timezone(dt.timedelta(hours=8))
    nxt = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=z)
    return int(nxt.timestamp() * 1000) - 1


def months_ago(k):
    """'YYYY-MM' of the month k months before this one (UTC+8, as the
    feeds' timezone)."""
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    m = now.year * 12 + now.month - 1 - k
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def wait_for(pred, timeout=60):
    return tap.wait_for(pred, timeout)


class Log:
    """A daemon's stderr in a file, readable while it runs."""

    def __init__(self, name):
        self.f = open(os.path.join(tmp, name), "w+")

    def text(self):
        self.f.flush()
        with open(self.f.name) as f:
            return f.read()


def spool_records(data):
    """The spool's records (store/spool.h, store/store_op.h): each a list
    of the command's arguments."""
    out, off = [], 0
    while off + 12 <= len(data):
        magic, n, crc = struct.unpack_from("<4sII", data, off)
        payload = data[off + 12:off + 12 + n]
        if magic != b"IDS1" or len(payload) != n or zlib.crc32(payload) != crc:
            raise ValueError(f"spool damaged at offset {off}")
        argc, k, args = struct.unpack_from("<I", payload)[0], 4, []
        for _ in range(argc):
            (m,) = struct.unpack_from("<I", payload, k)
            args.append(payload[k + 4:k + 4 + m])
            k += 4 + m
        out.append(args)
        off += 12 + n
    return out


def spool_frame(args):
    payload = struct.pack("<I", len(args)) + b"".join(
        struct.pack("<I", len(a)) + a for a in args)
    return b"IDS1" + struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def c_string(path, name, defines_from):
    """The text of the C string constant `name` in path: its literals
    joined, the string macros of defines_from expanded."""
    with open(defines_from) as f:
        macros = dict(re.findall(r'#define (\w+) "([^"]*)"', f.read()))
    with open(path) as f:
        src = f.read()
    body = src[src.index(f"const char {name}[] ="):].split("=", 1)[1]
    out = []
    for lit, word, end in re.findall(r'"((?:[^"\\]|\\.)*)"|(\w+)|(;)', body):
        if end:
            break
        out.append(ast.literal_eval('"' + lit + '"') if not word else macros[word])
    return "".join(out)


def stop(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    try:
        return p.wait(timeout=60)  # a hang, not a speed limit
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


def window_route(width):
    """A feed that serves only its `width` newest points, one new point per
    request: a write lost on the way to Redis loses points for good. After
    freeze(), it serves the same points again and again."""
    st = {"n": 0, "frozen": None, "lock": threading.Lock()}

    def route(req, _):
        with st["lock"]:
            if st["frozen"] is None:
                st["n"] += 1
            k = st["n"] if st["frozen"] is None else st["frozen"]
        pts = [{"t": 1795000000000 + i * 1000, "v": i} for i in range(max(0, k - width), k)]
        return 200, {}, json.dumps({"data": pts})

    def freeze():
        with st["lock"]:
            st["frozen"] = st["n"]
            return st["n"]
    route.freeze = freeze
    route.served = lambda: st["n"]
    return route


r = redisd.Redis()
try:
    # --- upserts ------------------------------------------------------------
    write_history({"2026-01": 100, "2026-02": 200, "2026-03": 300})
    cfg = config("upsert.yaml", r.url)
    res = once(cfg)
    check("once stores into Redis", res.returncode == 0, res.stderr)
    s = stream(r, "ind:s:jobs")
    check("three entries, IDs = observation ms, ascending",
          [e[0] for e in s] == [f"{month_end_ms(m)}-0" for m in ("2026-01", "2026-02", "2026-03")],
          str(s))
    check("one field named after the series, numeric values",
          all(e[1] == "jobs" for e in s) and [e[2] for e in s] == ["100", "200", "300"])
    info1 = r.cmd("XINFO", "STREAM", "ind:s:jobs")
    added1 = info1[info1.index("entries-added") + 1]

    res = once(cfg)
    info2 = r.cmd("XINFO", "STREAM", "ind:s:jobs")
    check("an identical re-fetch writes nothing",
          info2[info2.index("entries-added") + 1] == added1 and stream(r, "ind:s:jobs") == s,
          str(info2))

    write_history({"2026-01": 100, "2026-02": 200, "2026-03": 333})
    once(cfg)
    s = stream(r, "ind:s:jobs")
    check("a revised newest value replaces it",
          [e[2] for e in s] == ["100", "200", "333"] and len(s) == 3, str(s))
    check("latest follows the revision", r.cmd("HGET", "ind:latest", "jobs") == "333")

    write_history({"2026-01": 100, "2026-02": 250, "2026-03": 333})
    once(cfg)
    s = stream(r, "ind:s:jobs")
    check("a revised older value is replaced in order",
          [e[2] for e in s] == ["100", "250", "333"] and
          [e[0] for e in s] == sorted([e[0] for e in s], key=lambda x: int(x.split("-")[0])),
          str(s))
    check("latest unchanged by an older revision", r.cmd("HGET", "ind:latest", "jobs") == "333")

    write_history({"2025-12": 50, "2026-01": 100, "2026-02": 250, "2026-03": 333, "2026-04": 400})
    once(cfg)
    s = stream(r, "ind:s:jobs")
    check("late data is inserted in order, new data appended",
          [e[2] for e in s] == ["50", "100", "250", "333", "400"] and
          [int(e[0].split("-")[0]) for e in s] == sorted(int(e[0].split("-")[0]) for e in s),
          str(s))
    meta = r.cmd("HGETALL", "ind:m:jobs")
    meta = dict(zip(meta[::2], meta[1::2]))
    # plus grain: how much of the calendar the series' times name (the
    # evaluator counts staleness from the end of that period)
    check("meta hash has the contract's fields and the grain",
          set(meta) == {"title", "unit", "kind", "feed", "last_value", "last_time",
                        "last_fetch", "last_error", "points", "grain"} and
          meta.get("grain") == "month", str(meta))
    check("meta values", meta.get("points") == "5" and meta.get("last_value") == "400" and
          meta.get("last_time") == "2026-04-30T23:59:59+08:00" and meta.get("kind") == "cumulative"
          and meta.get("feed") == "hist", str(meta))
    keys = sorted(r.cmd("KEYS", "*"))
    # plus ind:rw, the rewrite log: the revision and the late data above
    # are told there for the evaluators of other processes
    check("exactly the contract's keys, and the rewrite log",
          keys == ["ind:latest", "ind:m:jobs", "ind:rw", "ind:s:jobs", "ind:series"],
          str(keys))
    log = [dict(zip(e[1][::2], e[1][1::2])) for e in r.cmd("XRANGE", "ind:rw", "-", "+")]
    check("the rewrite log names the series and the rewritten times",
          log and all(x.get("series") == "jobs" and x.get("by") and x.get("from")
                      for x in log) and
          log[-1]["from"] == s[0][0].split("-")[0], str(log))
    check("series set", r.cmd("SMEMBERS", "ind:series") == ["jobs"])

    # --- many series, prefix -------------------------------------------------
    many = os.path.join(tmp, "many.json")
    with open(many, "w") as f:
        json.dump({f"s{i}": i * 1.5 for i in range(50)}, f)
    feeds = f"  - id: many\n    url: file://{many}\n    series:\n" + "".join(
        f"      s{i}: $.s{i}\n" for i in range(50))
    cfg = config("many.yaml", r.url, extra_redis=", prefix: 'x:'", feeds=feeds)
    res = once(cfg)
    xk = r.cmd("KEYS", "x:*")
    check("prefix applies to every key", len(xk) == 50 * 2 + 2 and
          all(k.startswith("x:") for k in xk), str(len(xk)))
    check("50 series written", len(r.cmd("SMEMBERS", "x:series")) == 50 and
          r.cmd("HGET", "x:latest", "s7") == "10.5")

    # --- unix socket ---------------------------------------------------------
    ru = redisd.Redis(unix=True)
    try:
        cfg = config("unix.yaml", ru.url)
        res = once(cfg)
        check("unix socket", res.returncode == 0 and len(stream(ru, "ind:s:jobs")) == 5,
              res.stderr)
    finally:
        ru.close()

    # --- ACL user, wrong password ------------------------------------------------
    r.cmd("ACL", "SETUSER", "ind", "on", ">s3cret-pw", "~*", "+@all")
    pwfile = os.path.join(tmp, "redis.pass")
    with open(pwfile, "w") as f:
        f.write("s3cret-pw\n")
    r.cmd("FLUSHALL")
    cfg = config("acl.yaml", r.url, extra_redis=f", user: ind, password_file: {pwfile}")
    res = once(cfg)
    check("AUTH with an ACL user", res.returncode == 0 and len(stream(r, "ind:s:jobs")) == 5,
          res.stderr)
    r.cmd("ACL", "SETUSER", "ind", "resetpass", ">other-pw")
    r.cmd("FLUSHALL")
    env = dict(ENV)
    cfg = config("badpw.yaml", r.url, extra_redis=f", user: ind, password_file: {pwfile}")
    log = Log("badpw.log")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=env, stdout=subprocess.DEVNULL,
                         stderr=log.f)

    def auth_failures():
        # Redis logs each refused AUTH in ACL LOG (entries carry a count)
        n = 0
        for e in r.cmd("ACL", "LOG") or []:
            e = dict(zip(e[::2], e[1::2]))
            if e.get("reason") == "auth":
                n += int(e.get("count", 1))
        return n
    # the daemon keeps trying: three refusals before the password is fixed
    refused = wait_for(lambda: auth_failures() >= 3)
    r.cmd("ACL", "SETUSER", "ind", "resetpass", ">s3cret-pw")
    written = wait_for(lambda: len(stream(r, "ind:s:jobs")) == 5)
    stop(p)
    err = log.text()
    check("wrong password: a clear error", "AUTH failed: WRONGPASS" in err, err)
    check("wrong password: logged once while it persists",
          refused and err.count("AUTH failed") == 1, f"{auth_failures()} refusals: {err}")
    check("wrong password: retried until it works", written, err)
    check("the password never appears in the log", "s3cret-pw" not in err)
    r.cmd("ACL", "DELUSER", "ind")

    # --- retention ---------------------------------------------------------------
    r.cmd("FLUSHALL")
    # a year from now, whatever the date: two months well past it, two
    # within it (months stand at their last millisecond)
    old7, old14, recent11, recent1 = (months_ago(84), months_ago(14), months_ago(11),
                                      months_ago(1))
    write_history({old7: 1, old14: 2, recent11: 3, recent1: 4})
    cfg = config("ret.yaml", r.url, feeds=f"""  - id: hist
    url: file://{DATA}
    every: 1s
    records: $.data[*]
    time: "@.m"
    time_format: "%Y-%m"
    series:
      jobs: {{path: "@.v", kind: cumulative, retention: 1y}}
""")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    trimmed = wait_for(lambda: [e[2] for e in stream(r, "ind:s:jobs")] == ["3", "4"])
    stop(p)
    s = stream(r, "ind:s:jobs")
    check(f"retention 1y trims {old7} and {old14}, keeps {recent11} and {recent1}",
          trimmed and [e[2] for e in s] == ["3", "4"], str(s))

    # --- trajectory (ind:p): revisions rewrite the entry -------------------------------
    # Evaluated by `once` (the daemon's pass: `once --now` is a what-if that
    # writes no trajectory); the dates follow today. The period has 200 of
    # its 365 days behind it; releases 60 and 30 days ago, then one
    # yesterday. ind:p holds an entry at each observation time in the period.
    r.cmd("FLUSHALL")
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    today = now.date()
    d60, d30, d1 = (str(today - dt.timedelta(days=k)) for k in (60, 30, 1))

    def write_days(points):
        with open(DATA, "w") as f:
            json.dump({"data": [{"d": d, "v": v} for d, v in points]}, f)

    def day_end_ms(day):
        y, m, d = map(int, day.split("-"))
        nxt = dt.datetime(y, m, d, tzinfo=dt.timezone(dt.timedelta(hours=8))) + \
            dt.timedelta(days=1)
        return int(nxt.timestamp() * 1000) - 1
    cfg = config("traj.yaml", r.url, extra=f"""targets:
  - id: t
    series: jobs
    rule: total >= 1000
    period: {{from: {today - dt.timedelta(days=200)}, to: {today + dt.timedelta(days=164)}}}
    stale_after: 100d
""", feeds=f"""  - id: hist
    url: file://{DATA}
    records: $.data[*]
    time: "@.d"
    time_format: "%Y-%m-%d"
    series:
      jobs: {{path: "@.v", kind: cumulative}}
""")

    def trajectory():
        out = []
        for e in r.cmd("XRANGE", "ind:p:t", "-", "+"):
            f = dict(zip(e[1][::2], e[1][1::2]))
            out.append((int(e[0].split("-")[0]), f.get("actual"), f.get("expected"),
                        f.get("projected")))
        return out

    def once_at():
        res = subprocess.run([BIN, "-c", cfg, "once"],
                             capture_output=True, text=True, env=ENV, timeout=120)
        return res.returncode, res.stderr
    write_days([(d60, 100), (d30, 200)])
    rc, err = once_at()
    p1 = trajectory()
    check("ind:p: one entry per observation time, every field",
          rc == 0 and [e[0] for e in p1] == [day_end_ms(d60), day_end_ms(d30)] and
          [e[1] for e in p1] == ["100", "200"] and all(all(e[1:]) for e in p1),
          f"{p1} {err[-500:]}")
    write_days([(d60, 100), (d30, 250)])
    rc, err = once_at()
    p2 = trajectory()
    check("ind:p: a revised value rewrites its entry (actual, expected, projected), "
          "the one before untouched",
          rc == 0 and [e[0] for e in p2] == [day_end_ms(d60), day_end_ms(d30)] and
          p2[0] == p1[0] and p2[1][1] == "250" and p2[1][3] != p1[1][3] and all(p2[1][1:]),
          f"{p1} -> {p2} {err[-500:]}")
    write_days([(d60, 100), (d30, 250), (d1, 300)])
    rc, err = once_at()
    p3 = trajectory()
    check("ind:p: a new release adds an entry after the revised one",
          rc == 0 and [e[0] for e in p3] == [day_end_ms(d60), day_end_ms(d30), day_end_ms(d1)]
          and p3[:2] == p2 and p3[2][1] == "300", f"{p3} {err[-500:]}")
    rc, err = once_at()
    check("ind:p: the same data again changes nothing", trajectory() == p3, str(trajectory()))
    p4 = trajectory()
    rc, err = subprocess.run([BIN, "-c", cfg, "once", "--now", now.isoformat()],
                             capture_output=True, text=True, env=ENV, timeout=120).returncode, ""
    check("ind:p: once --now (a what-if) leaves it alone", rc == 0 and trajectory() == p4,
          str(trajectory()))

    # --- outage while observations flow -------------------------------------------
    # This Redis persists every write it acknowledges, as a production one
    # would: a restart of Redis itself loses nothing, so whatever is missing
    # afterwards the daemon lost.
    r.close()
    r = redisd.Redis(extra=["--appendonly", "yes", "--appendfsync", "always"])
    srv = httpd.Server()
    grow = window_route(3)
    srv.route("/grow.json", grow)
    feeds = f"""  - id: grow
    url: {srv.url}/grow.json
    every: 1s
    records: $.data[*]
    time: "@.t"
    time_format: epoch_ms
    series:
      g: "@.v"
"""

    def values(key="ind:s:g"):
        try:
            return [int(e[2]) for e in stream(r, key)]
        except OSError:
            return None
    cfg = config("outage.yaml", r.url, feeds=feeds)
    log = Log("outage.log")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log.f)
    flowing = wait_for(lambda: len(values() or []) >= 3)
    r.stop()
    down_from = grow.served()
    # four new points served while Redis is down: each leaves the window
    # before Redis is back, so only the daemon's queue can keep it
    served_down = wait_for(lambda: grow.served() >= down_from + 4 + 3)
    r.start()
    back = wait_for(lambda: "redis: connected" in log.text().split("redis: lost", 1)[-1])
    n = grow.freeze()
    complete = wait_for(lambda: values() == list(range(n)))
    rc = stop(p)
    got = values()
    text = log.text()
    check("outage: the feed flowed, Redis went down and came back",
          flowing and served_down and back, f"served {grow.served()}; {text[-1500:]}")
    check("outage: every served observation exactly once, in order",
          complete and got == list(range(n)), f"n={n} got {got}")
    check("outage: loss and recovery logged", "redis: lost" in text and
          text.count("redis: connected") >= 2, text[-1500:])
    check("outage: exit 0", rc == 0, text[-1500:])

    # --- kill -9 with a non-empty spool --------------------------------------------
    r.cmd("FLUSHALL")
    r.stop()
    grow = window_route(3)
    srv.route("/grow.json", grow)
    cfg = config("spool.yaml", r.url, extra_redis=", max_queue: 1", feeds=feeds)
    spool = os.path.join(tmp, "state-spool.yaml", "spool.bin")

    def spool_size():
        return os.path.getsize(spool) if os.path.exists(spool) else 0
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    spooling = wait_for(lambda: grow.served() >= 5 and spool_size() > 0)
    n = grow.freeze()
    # one fetch of a feed at a time: a second request after the freeze means
    # the first frozen answer was handled, and spooled
    at_freeze = len(srv.hits("/grow.json"))
    settled = wait_for(lambda: len(srv.hits("/grow.json")) >= at_freeze + 2)
    p.kill()
    p.wait()
    check("spool holds writes while Redis is down", spooling and settled and spool_size() > 0,
          f"{spool_size()} bytes, {grow.served()} served")
    # a torn last record, as a crash mid-write leaves it
    with open(spool, "ab") as f:
        f.write(b"IDS1\xff\x00\x00\x00garbage")
    srv.route("/grow.json", lambda req, k: (503, {}, "down"))  # nothing new
    r.start()
    log = Log("spool.log")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log.f)
    replayed = wait_for(lambda: values() == list(range(n)) and spool_size() == 0 and
                        "spool replayed" in log.text())
    stop(p)
    text = log.text()
    got = values()
    check("after kill -9 the spool is replayed: every observation served before it, "
          "exactly once", replayed and got == list(range(n)), f"n={n} got {got}")
    check("spool replay is reported", "replayed" in text, text[-1500:])
    check("torn spool tail skipped with a warning", "torn write" in text, text[-1500:])
    check("spool emptied after replay", spool_size() == 0)
    check("no sanitizer report", "Sanitizer" not in text, text[-2000:])

    # --- an upgrade while the spool holds writes ------------------------------------
    # A spooled script call names its script by the SHA of the version that
    # spooled it. A later version whose script text differs must still
    # replay it: the earlier version's text is remembered beside the spool.
    r.cmd("FLUSHALL")
    r.stop()
    pts = [{"t": 1796000000000 + i * 1000, "v": 10 + i} for i in range(6)]
    srv.route("/up.json", lambda req, _: (200, {}, json.dumps({"data": pts})))
    up_feeds = feeds.replace("id: grow", "id: up").replace("/grow.json", "/up.json") \
        .replace("g: ", "u: ")
    cfg = config("upgrade.yaml", r.url, feeds=up_feeds)
    state = os.path.join(tmp, "state-upgrade.yaml")
    spool = os.path.join(state, "spool.bin")
    scripts = os.path.join(state, "scripts")

    def spooled_upserts():
        """The spool's script calls that upsert ind:s:u: [(sha, values)]."""
        try:
            with open(spool, "rb") as f:
                records = spool_records(f.read())
        except OSError:
            return []
        return [(a[1], [int(a[k]) for k in range(12, len(a), 3)]) for a in records
                if a[0] == b"EVALSHA" and a[3] == b"ind:s:u"]
    want = [q["v"] for q in pts]
    log = Log("upgrade1.log")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log.f)
    spooled = wait_for(lambda: any(v == want for _, v in spooled_upserts()))
    rc = stop(p)
    check("upgrade: the observations are spooled while Redis is down", spooled and rc == 0,
          f"{spooled_upserts()} {log.text()[-1500:]}")
    cur_sha = spooled_upserts()[0][0].decode() if spooled_upserts() else ""
    check("upgrade: the store remembers the scripts it writes with beside the spool",
          os.path.exists(os.path.join(scripts, cur_sha + ".lua")),
          str(os.listdir(scripts) if os.path.isdir(scripts) else "no " + scripts))
    # what an earlier version would have left: its own text of the script
    # (here: ours with a comment, so it behaves the same) under another SHA
    text = c_string(os.path.join(SRC, "store", "upsert.c"), "upsert_many_lua",
                    os.path.join(SRC, "store", "store.h"))
    check("upgrade: the test's copy of the script is the one spooled",
          hashlib.sha1(text.encode()).hexdigest() == cur_sha, cur_sha)
    old_text = "-- indicatord, an earlier version\n" + text
    old_sha = hashlib.sha1(old_text.encode()).hexdigest()
    with open(spool, "rb") as f:
        records = spool_records(f.read())
    with open(spool, "wb") as f:
        for a in records:
            if a[0] == b"EVALSHA" and a[1] == cur_sha.encode():
                a[1] = old_sha.encode()
            f.write(spool_frame(a))
    os.makedirs(scripts, exist_ok=True)
    for name in os.listdir(scripts):
        os.unlink(os.path.join(scripts, name))
    with open(os.path.join(scripts, old_sha + ".lua"), "w") as f:
        f.write(old_text)
    # the new version, first while Redis is still down: it keeps the old
    # script, since the spool still calls it (and spools no new upsert of
    # these observations: only the spool has them)
    srv.route("/up.json", lambda req, _: (503, {}, "down"))
    log = Log("upgrade2.log")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log.f)
    started = wait_for(lambda: "from an earlier run are in the spool" in log.text() and
                       os.path.exists(os.path.join(scripts, cur_sha + ".lua")))
    rc = stop(p)
    check("upgrade: while the spool holds its writes, the earlier script is kept",
          started and rc == 0 and os.path.exists(os.path.join(scripts, old_sha + ".lua")) and
          any(sha == old_sha.encode() for sha, _ in spooled_upserts()),
          f"{os.listdir(scripts)} {log.text()[-1500:]}")
    r.start()
    log = Log("upgrade3.log")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=log.f)
    replayed = wait_for(lambda: values("ind:s:u") == want and "spool replayed" in log.text())
    gone = wait_for(lambda: not os.path.exists(os.path.join(scripts, old_sha + ".lua")), 10)
    rc = stop(p)
    text = log.text()
    check("upgrade: every observation spooled by the earlier version lands in Redis",
          replayed and values("ind:s:u") == want and "refused" not in text,
          f"{values('ind:s:u')} {text[-1500:]}")
    check("upgrade: the earlier script is deleted once the spool is replayed, ours kept",
          gone and os.path.exists(os.path.join(scripts, cur_sha + ".lua")),
          str(os.listdir(scripts)))
    check("upgrade: exit 0, no sanitizer report", rc == 0 and "Sanitizer" not in text,
          text[-2000:])
    srv.close()
finally:
    r.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
