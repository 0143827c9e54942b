#!/usr/bin/env python3
"""Every reason a series got no observation reaches ind:m:<series>.last_error
and the feed's health, through the real binary and a real redis-server: a
path selecting several values, a value above max, a time that does not
parse, times out of range (1969, 9999-12-31); a clean body clears them. The
9999 placeholder never becomes ind:latest. In `run`, /metrics counts the
problems of the last body and the log says them once, not once per poll.

usage: test_feed_errors.py BINARY SOURCE_DIR
"""
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import redisd  # noqa: E402

BIN, SRC = sys.argv[1], sys.argv[2]
NOW = "2026-03-16T10:00:00+08:00"

BAD = {
    "mixed": {"data": [
        {"t": "2026-03-01", "a": [1, 2, 3], "b": 500, "ok": 7},
        {"t": "2026-03-02", "b": 80, "ok": 8},
    ]},
    "times": {"data": [{"t": "yesterday", "c": 1}, {"t": "2026-13", "c": 2}]},
    "range": {"data": [{"t": "1969-12-31", "e": 1}, {"t": "9999-12-31", "e": 2}]},
}
GOOD = {
    "mixed": {"data": [{"t": "2026-03-03", "a": [4], "b": 90, "ok": 9}]},
    "times": {"data": [{"t": "2026-03-03", "c": 3}]},
    "range": {"data": [{"t": "2026-03-03", "e": 3}]},
}

FEEDS = """\
  - id: mixed
    url: {u}/mixed
    records: $.data[*]
    time: "@.t"
    series:
      a: "@.a[*]"
      b: {{path: "@.b", max: 100}}
      ok: "@.ok"
  - id: times
    url: {u}/times
    records: $.data[*]
    time: "@.t"
    series: {{c: "@.c"}}
  - id: range
    url: {u}/range
    every: {every}
    records: $.data[*]
    time: "@.t"
    series: {{e: "@.e"}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    tmp = tempfile.mkdtemp(prefix="indicatord-feed-errors-")
    srv = httpd.Server()
    rds = redisd.Redis()
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    bodies = dict(BAD)
    for name in BAD:
        srv.route(f"/{name}", lambda req, n, name=name: (
            200, {"Content-Type": "application/json"},
            json.dumps(bodies[name])))

    def write(every="15m", extra=""):
        path = os.path.join(tmp, "c.yaml")
        with open(path, "w") as f:
            f.write(f"timezone: Asia/Shanghai\ninclude: []\n"
                    f"redis: {{url: '{rds.url}'}}\nstate_dir: {tmp}\n{extra}"
                    f"feeds:\n" + FEEDS.format(u=srv.url, every=every))
        return path

    def once():
        r = subprocess.run([BIN, "-c", write(extra="listen: off\n"), "once",
                            "--json", "--now", NOW], capture_output=True,
                           text=True, env=env, timeout=120)
        try:
            feeds = {f["id"]: f for f in json.loads(r.stdout)["feeds"]}
        except ValueError:
            feeds = {}
        return r, feeds

    def last_error(series):
        return rds.cmd("HGET", f"ind:m:{series}", "last_error") or ""

    try:
        r, feeds = once()
        check("once exits 0 with problems in the bodies", r.returncode == 0,
              r.stderr[-2000:])
        want = {
            "a": "series 'a' (@.a[*]) in record 1: selected 3 values; the "
                 "path must select exactly one",
            "b": "series 'b': value 500 is above max 100 (record 1)",
            "c": "record 1: time @.t: expected a 4-digit year",
            "e": "series 'e' (record 2): time 9999-12-31T00:00:00+08:00 is "
                 "more than 400 days after the fetch",
        }
        for series, text in want.items():
            err = last_error(series)
            check(f"last_error of {series} says why", text in err, repr(err))
        check("last_error of c names every record whose time failed",
              "record 2: time @.t" in last_error("c"), last_error("c"))
        check("last_error of e names both times out of range",
              "1969-12-31T00:00:00+08:00 is before 1970-01-02"
              in last_error("e"), last_error("e"))
        check("a series without problems has no last_error",
              last_error("ok") == "", repr(last_error("ok")))
        check("b keeps its good record",
              len(rds.cmd("XRANGE", "ind:s:b", "-", "+")) == 1)
        latest = rds.cmd("HGETALL", "ind:latest")
        check("9999-12-31 is not ind:latest", "e" not in latest[::2],
              repr(latest))
        check("no stream for e", rds.cmd("EXISTS", "ind:s:e") == 0)
        series = {s["id"]: s for f in feeds.values() for s in f["series"]}
        check("once --json gives the series' problems",
              want["e"] in (series.get("e", {}).get("error") or ""),
              json.dumps(series.get("e"), ensure_ascii=False))
        check("once --json counts the body's problems (the feed's health)",
              feeds.get("range", {}).get("body_errors") == 2,
              json.dumps(feeds.get("range"), ensure_ascii=False))
        check("a clean feed counts none",
              feeds.get("mixed", {}).get("body_errors") == 2 and
              feeds.get("times", {}).get("body_errors") == 2,
              json.dumps(feeds, ensure_ascii=False)[:2000])

        bodies.update(GOOD)
        r, feeds = once()
        check("second once exits 0", r.returncode == 0, r.stderr[-2000:])
        for series in ("a", "b", "c", "e", "ok"):
            check(f"an observation clears last_error of {series}",
                  last_error(series) == "", repr(last_error(series)))
        check("e has its observation now",
              len(rds.cmd("XRANGE", "ind:s:e", "-", "+")) == 1)

        # run: the health on /metrics, one warning for an unchanged body.
        bodies.update(BAD)
        port = free_port()
        cfg = write("1s", f"listen: 127.0.0.1:{port}\n")
        log = open(os.path.join(tmp, "run.log"), "w+")
        p = subprocess.Popen([BIN, "-c", cfg, "run"], env=env,
                             stdout=subprocess.DEVNULL, stderr=log)
        metrics = ""

        def polled():
            nonlocal metrics
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/metrics", timeout=5) as f:
                    metrics = f.read().decode()
            except OSError:
                return False
            m = re.search(r'indicatord_feed_fetches_total\{feed="range"\} '
                          r'(\d+)', metrics)
            return m is not None and int(m.group(1)) >= 4

        check("run polls the feed several times", tap.wait_for(polled, 30),
              metrics[-1500:])
        check("/metrics counts the problems of the last body",
              'indicatord_feed_body_errors{feed="range"} 2' in metrics,
              metrics[-3000:])
        check("/metrics: the feed itself is up",
              'indicatord_feed_up{feed="range"} 1' in metrics)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        log.seek(0)
        text = log.read()
        check("run exits 0", rc == 0, text[-2000:])
        check("the problem is logged once, not once per poll",
              text.count("9999-12-31T00:00:00+08:00 is more than 400 days")
              == 1, text[-3000:])
        check("no sanitizer report", "Sanitizer" not in text, text[-2000:])
    finally:
        srv.close()
        rds.close()
        subprocess.run(["rm", "-rf", tmp])
    tap.finish()


main()
