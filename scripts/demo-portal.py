#!/usr/bin/env python3
"""A small local statistics portal for the indicatord demo.

It serves ILLUSTRATIVE data (not official statistics) for three headline
targets of the Liaoning work report, in the shapes real publishers use:

  /api/air/daily.json        an environment agency's daily PM2.5 means (JSON
                             with a records array)
  /download/jobs.csv         a statistics bureau's monthly new urban jobs
                             (CSV download, UTF-8 with BOM, CRLF)
  /api/energy/chargers.json  an energy department's monthly household EV
                             charger installations (JSON, cumulative)

with ETag / Last-Modified and 304 answers, like a real portal.

The data cover the "demo year" up to yesterday: the twelve months from the
first day of the month nine months back to the last day of the month after
next. Today always falls in its tenth month, so on any date of any year the
targets are far enough along to be judged (a calendar year would leave every
target `pending` until February, when the pace P(t) is below 0.1, and the
monthly series without a single release until mid-February) and the three
targets keep their classes: PM2.5 at risk, new urban jobs on track, household
chargers off track. Everything is derived from the date alone (no randomness
from the clock), so the same date always gives the same data.

Some seconds after the start (--release-after, or at once on POST /release)
the bureau publishes last month's jobs figure, a weak month, and the jobs
target drops from on track to at risk: the demo's live class change.

usage: demo-portal.py [--port N] [--today YYYY-MM-DD] [--release-after S]
       demo-portal.py --env [--today YYYY-MM-DD]

--env prints the demo year as shell assignments (INDICATORD_DEMO_FROM,
INDICATORD_DEMO_TO) for conf/demo.yaml. --port 0 picks a free port. The
first line printed is "portal: listening on http://127.0.0.1:PORT".
"""
import argparse
import datetime as dt
import hashlib
import http.server
import json
import random
import signal
import sys
import threading
import time
from email.utils import formatdate
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")  # conf/demo.yaml's timezone
SOURCE = "示例数据 / illustrative sample, not official"

# The targets' goals and paces, as in conf/demo.yaml.
PM25_GOAL = 33.0
PM25_FACTORS = [1.46, 1.31, 1.16, 0.96, 0.76, 0.71, 0.66, 0.61, 0.71, 0.96,
                1.26, 1.46]
JOBS_GOAL = 450000
JOBS_PROFILE = [0.07, 0.15, 0.25, 0.33, 0.42, 0.55, 0.63, 0.71, 0.83, 0.90,
                0.95, 1.0]
CHARGERS_GOAL = 130000
CHARGERS_SEASON = ((4, 1), (11, 15))

# Scores (projected vs goal, 1.0 = on pace) the data are built around; the
# classes change at 0.95 and 0.90. The noise below moves them by at most
# about 1% (PM2.5), 0.5% (jobs) and 6% (chargers).
PM25_SCORE = 0.925     # at risk
JOBS_SCORE = 0.965     # on track
JOBS_RELEASED = 0.925  # at risk once last month is published
CHARGERS_SCORE = 0.78  # off track


def add_months(year, month, k):
    n = year * 12 + (month - 1) + k
    return n // 12, n % 12 + 1


def month_end(year, month):
    y, m = add_months(year, month, 1)
    return dt.date(y, m, 1) - dt.timedelta(days=1)


def demo_year(today):
    """First and last day of the demo year that today falls in."""
    fy, fm = add_months(today.year, today.month, -9)
    ty, tm = add_months(today.year, today.month, 2)
    return dt.date(fy, fm, 1), month_end(ty, tm)


def months(first, last_month_start):
    """(year, month) from first's month to last_month_start's, inclusive."""
    y, m = first.year, first.month
    while (y, m) <= (last_month_start.year, last_month_start.month):
        yield y, m
        y, m = add_months(y, m, 1)


def wobble(name, key, amplitude):
    """A fixed pseudo-random number in [-amplitude, amplitude] per key."""
    return random.Random(f"{name}:{key}").uniform(-amplitude, amplitude)


# ---- the series ---------------------------------------------------------------

def pm25_days(today):
    """Daily PM2.5 means from the demo year's start to yesterday.

    A day's value is the annual level times its month's heating-season factor
    times (1 + a_d - a_prev), where a is a fixed pseudo-random number per
    date: the day-to-day swings look like weather, yet any run of days sums
    to a bounded amount, so the seasonally adjusted mean -- what the daemon
    projects -- stays within about 1% of the level on every date. One day in
    41 is missing (a station outage), never more than one a month, so GB 3095
    validity holds."""
    first, last = demo_year(today)
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    norm = sum(PM25_FACTORS[d.month - 1] for d in days) / len(days)
    level = PM25_GOAL / PM25_SCORE
    out, prev = [], None
    d = first - dt.timedelta(days=1)
    while True:
        d += dt.timedelta(days=1)
        if d >= today:
            break
        if d.toordinal() % 41 == 7:
            continue
        a = wobble("pm25", d.isoformat(), 0.2)
        if prev is None:
            prev = wobble("pm25", (d - dt.timedelta(days=1)).isoformat(), 0.2)
        value = level * PM25_FACTORS[d.month - 1] / norm * (1 + a - prev)
        prev = a
        out.append({"date": d.isoformat(), "pm25": round(value, 1), "hours": 24})
    return out


def profile_pace(first, year, month):
    """The share of the jobs profile done by the end of year-month, counted
    from the demo year's start (as the daemon computes the profile pace)."""
    def level(y, m):  # cumulative share at the end of y-m since first's year
        return (y - first.year) + JOBS_PROFILE[m - 1]
    start = level(*add_months(first.year, first.month, -1))
    return level(year, month) - start  # the period spans exactly one year


def jobs_months(today, released):
    """Monthly new urban jobs from the demo year's start: published up to the
    month before last, and last month too once released."""
    first, _ = demo_year(today)
    last = dt.date(*add_months(today.year, today.month, -1 if released else -2), 1)
    rows, total = [], 0
    for y, m in months(first, last):
        pace = profile_pace(first, y, m)
        if released and (y, m) == (last.year, last.month):
            goal_now = JOBS_RELEASED * JOBS_GOAL * pace
        else:
            goal_now = JOBS_SCORE * JOBS_GOAL * pace * (
                1 + wobble("jobs", f"{y}-{m:02d}", 0.005))
        added = round(goal_now) - total
        total += added
        rows.append((f"{y}-{m:02d}", added, total))
    return rows


def in_season(d):
    return CHARGERS_SEASON[0] <= (d.month, d.day) <= CHARGERS_SEASON[1]


def chargers_months(today):
    """Household EV chargers installed per month up to last month: installs
    follow the working season (April to mid-November) at 78% of the pace the
    goal needs, with a trickle in winter."""
    first, last_day = demo_year(today)
    season_days = sum(in_season(first + dt.timedelta(days=k))
                      for k in range((last_day - first).days + 1))
    per_day = CHARGERS_SCORE * CHARGERS_GOAL / season_days
    last = dt.date(*add_months(today.year, today.month, -1), 1)
    out, total = [], 0
    for y, m in months(first, last):
        days = [dt.date(y, m, k) for k in range(1, month_end(y, m).day + 1)]
        work = sum(in_season(d) for d in days)
        key = f"{y}-{m:02d}"
        if work:
            added = round(per_day * work * (1 + wobble("chargers", key, 0.05)))
        else:
            added = 300 + round(wobble("chargers", key, 200))
        total += added
        out.append({"month": key, "added": added, "cumulative": total})
    return out


# ---- the portal ---------------------------------------------------------------

class Portal:
    def __init__(self, today, release_after):
        self.today = today
        self.started = time.time()
        self.release_after = release_after
        self.released_at = None
        self.lock = threading.Lock()

    def released(self):
        with self.lock:
            if (self.released_at is None and self.release_after is not None and
                    time.time() - self.started >= self.release_after):
                self.released_at = time.time()
                announce_release(self)
            return self.released_at is not None

    def release(self):
        with self.lock:
            if self.released_at is None:
                self.released_at = time.time()
                announce_release(self)

    def document(self, path):
        """(content type, body bytes, last-modified epoch) or None."""
        released = self.released()
        updated = dt.datetime.combine(self.today, dt.time(8, 0), TZ)
        first, last = demo_year(self.today)
        if path == "/api/air/daily.json":
            doc = {"source": SOURCE, "station": "沈阳市", "pollutant": "PM2.5",
                   "unit": "µg/m³", "data": {"updated": updated.isoformat(),
                                             "days": pm25_days(self.today)}}
            return "application/json", json.dumps(doc, ensure_ascii=False).encode(), \
                updated.timestamp()
        if path == "/download/jobs.csv":
            lines = [f"月份,当月新增,自{first:%Y年%m月}起累计,说明"]
            lines += [f"{mon},{added},{total},示例数据"
                      for mon, added, total in jobs_months(self.today, released)]
            body = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
            return "text/csv; charset=utf-8", body, \
                self.released_at if released else updated.timestamp()
        if path == "/api/energy/chargers.json":
            doc = {"source": SOURCE, "province": "辽宁", "indicator": "居民充电桩安装",
                   "since": first.isoformat(), "monthly": chargers_months(self.today)}
            return "application/json", json.dumps(doc, ensure_ascii=False).encode(), \
                updated.timestamp()
        if path == "/":
            body = (f"<!doctype html><meta charset=utf-8><title>示例统计数据门户</title>"
                    f"<h1>示例统计数据门户 (illustrative, not official)</h1>"
                    f"<p>Demo year {first} to {last}, data up to "
                    f"{self.today - dt.timedelta(days=1)}.<ul>"
                    f"<li><a href=/api/air/daily.json>PM2.5 daily (JSON)</a>"
                    f"<li><a href=/download/jobs.csv>new urban jobs (CSV)</a>"
                    f"<li><a href=/api/energy/chargers.json>household chargers (JSON)</a>"
                    f"</ul>").encode()
            return "text/html; charset=utf-8", body, updated.timestamp()
        return None


def say(line):
    print(f"portal │ {line}", flush=True)


def announce_release(portal):
    y, m = add_months(portal.today.year, portal.today.month, -1)
    say(f"published: new urban jobs for {y}-{m:02d} (a weak month) in /download/jobs.csv")


def serve(portal, port):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "demo-portal/1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            if self.path == "/release":
                portal.release()
                self.answer(200, "text/plain", b"released\n")
            else:
                self.answer(404, "text/plain", b"not found\n")

        def do_GET(self):
            path = self.path.split("?")[0]
            doc = portal.document(path)
            if doc is None:
                self.answer(404, "text/plain", b"not found\n")
                say(f"GET {path} 404")
                return
            ctype, body, modified = doc
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.answer(304, ctype, b"", etag, modified)
                say(f"GET {path} 304 not modified")
                return
            self.answer(200, ctype, body, etag, modified)
            say(f"GET {path} 200 {len(body)} bytes")

        def answer(self, status, ctype, body, etag=None, modified=None):
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", formatdate(modified, usegmt=True))
                    self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    print(f"portal: listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    return httpd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8464)
    ap.add_argument("--today", type=dt.date.fromisoformat,
                    default=dt.datetime.now(TZ).date())
    ap.add_argument("--release-after", type=float, default=None,
                    help="publish last month's jobs figure after S seconds")
    ap.add_argument("--env", action="store_true")
    args = ap.parse_args()
    if args.env:
        first, last = demo_year(args.today)
        print(f"INDICATORD_DEMO_FROM={first}\nINDICATORD_DEMO_TO={last}")
        return
    portal = Portal(args.today, args.release_after)
    httpd = serve(portal, args.port)
    # Ctrl-C and SIGTERM (scripts/demo's cleanup) end it quietly, even where
    # the shell started it with SIGINT ignored (a background job).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: sys.exit(0))
    if args.release_after is not None:
        # Announce the release when it happens, not at the next request.
        def tick():
            while not portal.released():
                time.sleep(0.2)
        threading.Thread(target=tick, daemon=True).start()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
