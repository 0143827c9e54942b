#!/usr/bin/env python3
"""The Redis store through the real binary and a real redis-server: exact
upserts, the contract's keys, prefix, unix socket, ACL AUTH, retention, and
outages (Redis stopped mid-stream, the daemon killed with a spool, a torn
spool tail) that lose nothing.

usage: test_store.py BINARY SOURCE_DIR
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

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
    import datetime as dt
    y, m = map(int, ym.split("-"))
    z = dt.timezone(dt.timedelta(hours=8))
    nxt = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=z)
    return int(nxt.timestamp() * 1000) - 1


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
    check("meta hash has the contract's fields",
          set(meta) == {"title", "unit", "kind", "feed", "last_value", "last_time",
                        "last_fetch", "last_error", "points"}, str(meta))
    check("meta values", meta.get("points") == "5" and meta.get("last_value") == "400" and
          meta.get("last_time") == "2026-04-30T23:59:59+08:00" and meta.get("kind") == "cumulative"
          and meta.get("feed") == "hist", str(meta))
    keys = sorted(r.cmd("KEYS", "*"))
    check("exactly the contract's keys",
          keys == ["ind:latest", "ind:m:jobs", "ind:s:jobs", "ind:series"], str(keys))
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
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    r.cmd("ACL", "SETUSER", "ind", "resetpass", ">s3cret-pw")
    time.sleep(7)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=15)[1]
    check("wrong password: a clear error", "AUTH failed: WRONGPASS" in err, err)
    check("wrong password: logged once while it persists",
          err.count("AUTH failed") == 1, err)
    check("wrong password: retried until it works",
          len(stream(r, "ind:s:jobs")) == 5, err)
    check("the password never appears in the log", "s3cret-pw" not in err)
    r.cmd("ACL", "DELUSER", "ind")

    # --- retention ---------------------------------------------------------------
    r.cmd("FLUSHALL")
    write_history({"2019-01": 1, "2026-01": 2})
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
                         stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=15)
    s = stream(r, "ind:s:jobs")
    check("retention trims old entries", [e[2] for e in s] == ["2"], str(s))

    # --- outage while observations flow -------------------------------------------
    r.cmd("FLUSHALL")
    srv = httpd.Server()
    served = {"n": 0}

    def grow(req, n):
        served["n"] = n
        pts = [{"t": 1795000000000 + i * 1000, "v": i} for i in range(n)]
        return 200, {}, json.dumps({"data": pts})
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
    cfg = config("outage.yaml", r.url, feeds=feeds)
    log = open(os.path.join(tmp, "outage.log"), "w+")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL, stderr=log)
    time.sleep(3)
    r.stop()
    time.sleep(4)
    r.start()
    time.sleep(4)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=15)
    n = served["n"]
    s = stream(r, "ind:s:g")
    log.seek(0)
    text = log.read()
    check("outage: every served observation exactly once, in order",
          [int(e[2]) for e in s] == list(range(n)) and n >= 8, f"n={n} got {len(s)}")
    check("outage: loss and recovery logged", "redis: lost" in text and
          text.count("redis: connected") >= 2, text[-1500:])
    check("outage: exit 0", rc == 0, text[-1500:])

    # --- kill -9 with a non-empty spool --------------------------------------------
    r.cmd("FLUSHALL")
    r.stop()
    cfg = config("spool.yaml", r.url, extra_redis=", max_queue: 1", feeds=feeds)
    spool = os.path.join(tmp, "state-spool.yaml", "spool.bin")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(4)
    size = os.path.getsize(spool) if os.path.exists(spool) else 0
    p.kill()
    p.wait()
    n_before = served["n"]
    check("spool holds writes while Redis is down", size > 0, str(size))
    # a torn last record, as a crash mid-write leaves it
    with open(spool, "ab") as f:
        f.write(b"IDS1\xff\x00\x00\x00garbage")
    srv.route("/grow.json", lambda req, n: (503, {}, "down"))  # nothing new
    r.start()
    log = open(os.path.join(tmp, "spool.log"), "w+")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV, stdout=subprocess.DEVNULL, stderr=log)
    time.sleep(4)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=15)
    log.seek(0)
    text = log.read()
    s = stream(r, "ind:s:g")
    got = sorted(int(e[2]) for e in s)
    check("after kill -9, the spool is replayed: observations present",
          len(got) > 0 and got == list(range(len(got))), f"{len(got)} of {n_before}")
    check("spool replay is reported", "replayed" in text, text[-1500:])
    check("torn spool tail skipped with a warning", "torn write" in text, text[-1500:])
    check("spool emptied after replay", os.path.getsize(spool) == 0)
    check("no sanitizer report", "Sanitizer" not in text, text[-2000:])
    srv.close()
finally:
    r.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
