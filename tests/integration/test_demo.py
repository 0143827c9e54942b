#!/usr/bin/env python3
"""The demo's pieces together: the statistics portal (scripts/demo-portal.py),
the chat (scripts/demo-chat.py), the real binary on conf/demo.yaml and a
private redis-server.

On dates spread over the current year (the portal's --today, the binary's
--now) the three targets fall in their three classes, the numbers agree with
what the portal published, and the portal's release moves the jobs target
from on track to at risk. Then live, on today's date: the daemon delivers the
opening alerts to the chat, picks up the release, and its alert reaches the
chat; the webhook format reaches it too; every piece stops cleanly.

usage: test_demo.py BINARY SOURCE_DIR
"""
import calendar
import csv
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redisd  # noqa: E402
import tap  # noqa: E402
from tap import check, wait_for  # noqa: E402

BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
CFG = os.path.join(SRC, "conf", "demo.yaml")
PORTAL = os.path.join(SRC, "scripts", "demo-portal.py")
CHAT = os.path.join(SRC, "scripts", "demo-chat.py")
TZ = ZoneInfo("Asia/Shanghai")
WANT = {"pm25": "at_risk", "jobs": "on_track", "chargers": "off_track"}

tmp = tempfile.mkdtemp(prefix="indicatord-demo-")
rds = redisd.Redis()
ENV = dict(os.environ)
for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
    ENV.pop(k, None)


def start(script, *args):
    """Starts a demo server on a free port; returns (process, base URL)."""
    out = tempfile.NamedTemporaryFile(dir=tmp, delete=False)
    p = subprocess.Popen([sys.executable, script, "--port", "0", *args],
                         stdout=out, stderr=subprocess.PIPE, text=True, env=ENV)
    first = ""
    if wait_for(lambda: p.poll() is not None or
                open(out.name, encoding="utf-8").readline().endswith("\n"), 10):
        first = open(out.name, encoding="utf-8").readline().strip()
    if " listening on " not in first:
        p.kill()
        raise RuntimeError(f"{script}: {first} {p.communicate()[1]}")
    return p, first.split(" listening on ")[1]


def stop(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return -9, err
    return p.returncode, err


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8-sig")


def post(url):
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def demo_env(day, portal, chat="http://127.0.0.1:9", listen="127.0.0.1:9", every="1d"):
    out = subprocess.run([sys.executable, PORTAL, "--env", "--today", day.isoformat()],
                         capture_output=True, text=True, check=True).stdout
    env = dict(ENV, INDICATORD_DEMO_PORTAL=portal, INDICATORD_DEMO_CHAT=chat,
               INDICATORD_DEMO_REDIS=rds.url, INDICATORD_DEMO_STATE=f"{tmp}/state",
               INDICATORD_DEMO_LISTEN=listen, INDICATORD_DEMO_EVERY=every)
    env.update(line.split("=", 1) for line in out.split())
    return env


def once(day, env):
    r = subprocess.run([BIN, "-c", CFG, "once", "--now", f"{day}T09:00:00+08:00",
                        "--json"], capture_output=True, text=True, env=env, timeout=120)
    try:
        return r, {t["id"]: t for t in json.loads(r.stdout)["targets"]}
    except (ValueError, KeyError):
        return r, {}


today = dt.datetime.now(TZ).date()
y = today.year
days = sorted({dt.date(y, 1, 1), dt.date(y, 1, 31), dt.date(y, 2, calendar.monthrange(y, 2)[1]),
               dt.date(y, 3, 31), dt.date(y, 6, 15), dt.date(y, 9, 30), dt.date(y, 12, 31),
               today})
procs = []
try:
    r = subprocess.run([BIN, "-c", CFG, "check"], capture_output=True, text=True,
                       env=demo_env(today, "http://127.0.0.1:9"))
    check("conf/demo.yaml passes check", r.returncode == 0, r.stderr)

    # --- the classes on dates over the year ------------------------------------
    for day in days:
        portal, url = start(PORTAL, "--today", day.isoformat())
        procs.append(portal)
        env = demo_env(day, url)
        rds.cmd("FLUSHALL")
        r, ts = once(day, env)
        got = {k: t["status"] for k, t in ts.items()}
        check(f"{day}: pm25 at risk, jobs on track, chargers off track", got == WANT,
              f"{got} rc={r.returncode} {r.stderr[-600:]}")
        air = json.loads(get(url + "/api/air/daily.json"))["data"]["days"]
        jobs = list(csv.reader(io.StringIO(get(url + "/download/jobs.csv"))))[1:]
        chargers = json.loads(get(url + "/api/energy/chargers.json"))["monthly"]
        check(f"{day}: data up to yesterday",
              air[-1]["date"] == (day - dt.timedelta(days=1)).isoformat(), air[-1])
        if got == WANT:
            check(f"{day}: the judgement counts what the portal published",
                  ts["pm25"]["valid_days"] == len(air) and
                  ts["jobs"]["actual"] == sum(int(row[1]) for row in jobs) and
                  ts["chargers"]["actual"] == chargers[-1]["cumulative"],
                  f"{ts} {len(air)} {jobs[-1]} {chargers[-1]}")
        check(f"{day}: POST /release", post(url + "/release") == 200)
        r, ts = once(day, env)
        got = {k: t["status"] for k, t in ts.items()}
        check(f"{day}: after the release, jobs at risk, the others unchanged",
              got == dict(WANT, jobs="at_risk"), f"{got} {r.stderr[-600:]}")
        code, err = stop(portal)
        procs.remove(portal)
        check(f"{day}: the portal stops cleanly on SIGTERM", code == 0 and not err, err)

    # --- live on today's date ---------------------------------------------------
    rds.cmd("FLUSHALL")
    log = os.path.join(tmp, "chat.jsonl")
    portal, url = start(PORTAL, "--today", today.isoformat())
    chat, chat_url = start(CHAT, "--log", log)
    procs += [portal, chat]
    port = redisd.free_port()
    env = demo_env(today, url, chat_url, f"127.0.0.1:{port}", every="1s")
    daemon = subprocess.Popen([BIN, "-c", CFG, "run"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(daemon)

    def chat_says():
        try:
            with open(log, encoding="utf-8") as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def alert_for(words, cls):
        return any(words in m["title"] and f"({cls})" in m["title"] for m in chat_says())

    def status():
        try:
            return {t["id"]: t["status"]
                    for t in json.loads(get(f"http://127.0.0.1:{port}/status"))["targets"]}
        except (OSError, ValueError, KeyError):
            return {}

    check("live: the table as on every date", wait_for(lambda: status() == WANT, 30),
          str(status()))
    check("live: the opening alerts reach the chat (slack format)",
          wait_for(lambda: alert_for("PM2.5", "at_risk") and alert_for("充电桩", "off_track"),
                   30), str(chat_says()))
    check("live: no alert for the target on track", not alert_for("就业", "on_track"))
    post(url + "/release")
    check("live: the release moves jobs to at risk",
          wait_for(lambda: status().get("jobs") == "at_risk", 30), str(status()))
    check("live: its alert reaches the chat",
          wait_for(lambda: alert_for("城镇新增就业", "at_risk"), 30), str(chat_says()))
    said = [m for m in chat_says() if "城镇新增就业" in m["title"]]
    check("live: the alert says why (actual vs expected, projection)",
          said and "expected by now" in said[-1]["text"] and "projected" in said[-1]["text"],
          str(said))

    # the generic webhook format, from the binary through a receiver of that type
    hook_cfg = os.path.join(tmp, "webhook.yaml")
    with open(CFG, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("type: slack", "type: webhook").replace(
        "${INDICATORD_DEMO_CHAT}/slack", "${INDICATORD_DEMO_CHAT}/webhook")
    with open(hook_cfg, "w", encoding="utf-8") as f:
        f.write(text)
    r = subprocess.run([BIN, "-c", hook_cfg, "notify-test", "chat"], capture_output=True,
                       text=True, env=env, timeout=60)
    check("notify-test through a webhook receiver", r.returncode == 0, r.stderr)
    check("the webhook format reaches the chat",
          wait_for(lambda: any(m["format"] == "webhook" and m["title"] for m in chat_says()),
                   10), str(chat_says()[-1:]))

    daemon.send_signal(signal.SIGINT)
    try:
        code = daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        code = None
    err = daemon.stderr.read()
    procs.remove(daemon)
    check("live: the daemon stops on SIGINT with 0", code == 0, err[-1000:])
    for p, name in ((portal, "portal"), (chat, "chat")):
        code, err = stop(p, signal.SIGINT)
        procs.remove(p)
        check(f"the {name} stops cleanly on SIGINT (Ctrl-C)", code == 0 and
              "Traceback" not in err, err)
finally:
    for p in procs:
        p.kill()
        p.wait()
    rds.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
