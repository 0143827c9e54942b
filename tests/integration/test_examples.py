#!/usr/bin/env python3
"""Every example of conf/examples through the real binary: its config passes
`check`, and one `once` (at the recording's `now`) against a loopback HTTP
server that serves each recording (with its Content-Type) stores exactly the
points of expected.json in a real redis-server: every ind:s:* stream, every
time to the millisecond, every value exact, no other stream, and no
last_error on any series.

usage: test_examples.py BINARY SOURCE_DIR
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import redisd  # noqa: E402

BIN, SRC = sys.argv[1], sys.argv[2]
EXAMPLES = os.path.join(SRC, "conf", "examples")

# What a server would send for a recording whose expected.json names none.
DEFAULT_TYPES = {".json": "application/json", ".csv": "text/csv",
                 ".txt": "text/plain"}


def ms_of(iso):
    return int(round(datetime.datetime.fromisoformat(iso).timestamp() * 1000))


def rewrite(text, urls, redis_url, state_dir):
    """The example's config with each feed's url pointing at the loopback
    server, Redis at the test's server and the state in a temporary
    directory. Line-based: the examples keep `- id:` before `url:`."""
    out, feed = [], None
    for line in text.splitlines():
        m = re.match(r"^(\s*)- id:\s*(\S+)", line)
        if m:
            feed = m.group(2)
        m = re.match(r"^(\s+)url:\s", line)
        if m and feed in urls:
            line = f"{m.group(1)}url: {urls[feed]}"
        elif m and feed is None:
            line = f"{m.group(1)}url: {redis_url}"
        if re.match(r"^state_dir:", line):
            line = f"state_dir: {state_dir}"
        out.append(line)
    return "\n".join(out) + "\nlisten: off\ninclude: []\n"


def serve(srv, path, body, content_type):
    srv.static(path, body, headers={"Content-Type": content_type})


def stored(rds):
    """{series: [(ms, value)]} of every ind:s:* stream."""
    out = {}
    for key in rds.cmd("KEYS", "ind:s:*"):
        series = key[len("ind:s:"):]
        points = []
        for entry_id, fields in rds.cmd("XRANGE", key, "-", "+"):
            ms, seq = entry_id.split("-")
            check(f"{series}: entry {entry_id} has ID <ms>-0 and one field "
                  "named after the series",
                  seq == "0" and len(fields) == 2 and fields[0] == series,
                  repr(fields))
            points.append((int(ms), float(fields[1])))
        out[series] = points
    return out


def run_example(name, srv, env):
    folder = os.path.join(EXAMPLES, name)
    with open(os.path.join(folder, "expected.json")) as f:
        exp = json.load(f)
    rds = redisd.Redis()
    tmp = tempfile.mkdtemp(prefix=f"indicatord-example-{name}-")
    try:
        urls = {}
        for feed, rec in exp["bodies"].items():
            with open(os.path.join(folder, rec), "rb") as f:
                body = f.read()
            ctype = exp.get("content_type") or DEFAULT_TYPES.get(
                os.path.splitext(rec)[1], "application/octet-stream")
            path = f"/{name}/{feed}"
            serve(srv, path, body, ctype)
            urls[feed] = srv.url + path
        with open(os.path.join(folder, exp["config"])) as f:
            text = f.read()
        cfg = os.path.join(tmp, exp["config"])
        with open(cfg, "w") as f:
            f.write(rewrite(text, urls, rds.url, tmp))
        check(f"{name}: every feed's url is replaced",
              all(u in open(cfg).read() for u in urls.values()))

        r = subprocess.run([BIN, "-c", os.path.join(folder, exp["config"]),
                            "check"], capture_output=True, text=True, env=env,
                           timeout=60)
        check(f"{name}: the example as shipped passes check",
              r.returncode == 0, r.stdout + r.stderr)

        r = subprocess.run([BIN, "-c", cfg, "once", "--json", "--now",
                            exp["now"]], capture_output=True, text=True,
                           env=env, timeout=120)
        check(f"{name}: once exits 0", r.returncode == 0,
              r.stderr[-2000:] + r.stdout[-2000:])
        try:
            feeds = {f["id"]: f for f in json.loads(r.stdout)["feeds"]}
        except ValueError:
            feeds = {}
        for feed in exp["bodies"]:
            fo = feeds.get(feed, {})
            check(f"{name}: feed {feed} fetched without error",
                  fo.get("ok") is True, json.dumps(fo, ensure_ascii=False))
            for so in fo.get("series", []):
                check(f"{name}: series {so['id']} has no error",
                      so.get("error") is None,
                      json.dumps(so, ensure_ascii=False))

        got = stored(rds)
        want = {s: [(ms_of(t), v) for t, v in pts]
                for s, pts in exp["points"].items()}
        check(f"{name}: the stored series are exactly those expected",
              sorted(got) == sorted(want),
              f"stored {sorted(got)}, expected {sorted(want)}")
        for series, pts in want.items():
            have = got.get(series, [])
            check(f"{name}: {series}: {len(pts)} points, times and values "
                  "exact", have == pts, f"stored {have}, expected {pts}")
            meta = rds.cmd("HGET", f"ind:m:{series}", "last_error")
            check(f"{name}: {series}: last_error is empty", meta == "",
                  repr(meta))
    finally:
        rds.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    # The examples read API keys from the environment; any value does here.
    for var in ("WAQI_TOKEN", "OPENAQ_API_KEY"):
        env[var] = "test-key"
    names = sorted(d for d in os.listdir(EXAMPLES)
                   if os.path.isfile(os.path.join(EXAMPLES, d,
                                                  "expected.json")))
    check("there are examples", len(names) >= 8, repr(names))
    srv = httpd.Server()
    try:
        for name in names:
            run_example(name, srv, env)
    finally:
        srv.close()
    tap.finish()


main()
