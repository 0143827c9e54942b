#!/usr/bin/env python3
"""Alerts end to end: the real binary, a real redis-server, a real HTTP
receiver on loopback recording every request (signatures checked), and a
real Prometheus Alertmanager: open, retries (500, 429 + Retry-After, a
throttling code inside a 200), give-up on 400, rate limit with batching,
resolve, Alertmanager alert kept active past its resolve timeout, restart
mid-delivery delivering once.

usage: test_alerts.py BINARY SOURCE_DIR
"""
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import redisd  # noqa: E402

BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def wait_for(pred, timeout=60.0):
    # deliveries retry with backoff: a longer default than the other tests
    # (a deadline only matters when the awaited thing never happens)
    return tap.wait_for(pred, max(timeout, 60.0))


tmp = tempfile.mkdtemp(prefix="indicatord-alerts-")
ENV = dict(os.environ)
for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC"):
    ENV.pop(k, None)
DT_SECRET = "SECtest-dingtalk-secret"
FS_SECRET = "test-feishu-secret"
bodies = {}
verdicts = {"dingtalk": [], "feishu": []}  # the fake servers' signature checks

# Dates follow today: a 365-day period of which 300 days have passed (so
# the pace is about 0.82 whatever the date), and data every 30 days up to
# yesterday. Nothing here turns stale or past-deadline with the calendar.
TZ = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.datetime.now(TZ).date()
PERIOD = (f"{{from: {TODAY - dt.timedelta(days=300)}, "
          f"to: {TODAY + dt.timedelta(days=64)}}}")
DAYS = [TODAY - dt.timedelta(days=1 + 30 * k) for k in range(9, -1, -1)]


def record(name, fn):
    def route(req, n):
        length = int(req.headers.get("Content-Length", 0))
        body = req.rfile.read(length).decode() if length else ""
        bodies.setdefault(name, []).append((req.path, body, time.monotonic()))
        return fn(req, n, body)
    return route


class Handler:
    pass


srv = httpd.Server()
# httpd.Server only routes GET; add POST by reusing the GET machinery
srv.httpd.RequestHandlerClass.do_POST = srv.httpd.RequestHandlerClass.do_GET


def dingtalk(req, n, body):
    q = urllib.parse.parse_qs(urllib.parse.urlparse(req.path).query)
    ts = q.get("timestamp", [""])[0]
    sign = q.get("sign", [""])[0]
    want = base64.b64encode(hmac.new(DT_SECRET.encode(), f"{ts}\n{DT_SECRET}".encode(),
                                     hashlib.sha256).digest()).decode()
    ok = sign == want and ts.isdigit() and abs(int(ts) / 1000 - time.time()) < 3600
    verdicts["dingtalk"].append(ok)
    return 200, {}, json.dumps({"errcode": 0 if ok else 310000,
                                "errmsg": "ok" if ok else "sign not match"})


def feishu(req, n, body):
    b = json.loads(body)
    sts = f"{b['timestamp']}\n{FS_SECRET}"
    want = base64.b64encode(hmac.new(sts.encode(), b"", hashlib.sha256).digest()).decode()
    ok = b.get("sign") == want and abs(int(b["timestamp"]) - time.time()) < 3600
    verdicts["feishu"].append(ok)
    return 200, {}, json.dumps({"code": 0 if ok else 19021, "msg": "success" if ok else "sign"})


srv.route("/dingtalk/send", record("dingtalk", dingtalk))
srv.route("/feishu/hook", record("feishu", feishu))
srv.route("/slack/x", record("slack", lambda r, n, b: (200, {}, "ok")))
srv.route("/hook", record("hook", lambda r, n, b: (200, {}, "")))
srv.route("/flaky", record("flaky", lambda r, n, b: (500, {}, "busy") if n <= 2 else (200, {}, "ok")))
srv.route("/throttle", record("throttle", lambda r, n, b:
                              (429, {"Retry-After": "1"}, "slow down") if n == 1 else (200, {}, "ok")))
srv.route("/wecom", record("wecom", lambda r, n, b: (200, {}, json.dumps({"errcode": 45009}))))
srv.route("/bad", record("bad", lambda r, n, b: (400, {}, "invalid_payload")))
srv.route("/rl/send", record("rl", lambda r, n, b: (200, {}, json.dumps({"errcode": 0}))))


slow_answered = []  # request numbers the slow receiver has answered


def slow(req, n, body):
    time.sleep(2)
    slow_answered.append(n)
    return 200, {}, "ok"
srv.route("/slow", record("slow", slow))

rds = redisd.Redis()
am = None
am_port = None


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def start_alertmanager(port):
    """A real Alertmanager on port; None when it could not take the port."""
    global am_port
    amdir = os.path.join(tmp, f"am-{port}")
    os.makedirs(amdir)
    with open(os.path.join(amdir, "am.yml"), "w") as f:
        f.write("global:\n  resolve_timeout: 5s\nroute:\n  receiver: none\nreceivers:\n  - name: none\n")
    proc = subprocess.Popen(["prometheus-alertmanager", f"--config.file={amdir}/am.yml",
                             f"--storage.path={amdir}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    up = tap.wait_for(lambda: proc.poll() is not None or
                      get_json(f"http://127.0.0.1:{port}/api/v2/status") is not None, 60)
    if up and proc.poll() is None:
        am_port = port
        return proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return None


if shutil.which("prometheus-alertmanager"):
    am = redisd.start_with_port(start_alertmanager)
    # Alertmanager judges endsAt by its own clock (Go reads the clock
    # without libc, so a shifted test clock does not reach it). When the
    # two disagree, a resolve the daemon dates "now" is in Alertmanager's
    # future: that one check cannot be made.
    st = get_json(f"http://127.0.0.1:{am_port}/api/v2/status") or {}
    try:
        # its start time by its clock, e.g. 2026-11-30T05:40:00.123456789Z
        am_start = dt.datetime.strptime(st["uptime"][:19], "%Y-%m-%dT%H:%M:%S")
        am_skew = abs(am_start.replace(tzinfo=dt.timezone.utc).timestamp() - time.time())
    except (KeyError, ValueError):
        am_skew = 0
    am_same_clock = am_skew < 300
    if not am_same_clock:
        print(f"# Alertmanager's clock is {am_skew / 86400:.1f} days from ours "
              "(a shifted test clock): its resolve check is skipped")


def am_alerts(active=True):
    return get_json(f"http://127.0.0.1:{am_port}/api/v2/alerts?active="
                    f"{'true' if active else 'false'}&silenced=false&inhibited=false")


DATA = os.path.join(tmp, "jobs.json")


def write_data(last_value):
    """Ten cumulative releases, 30 days apart, the last one yesterday."""
    pts = [{"d": str(d), "v": last_value * (i + 1) // 10} for i, d in enumerate(DAYS)]
    with open(DATA, "w") as f:
        json.dump({"data": pts}, f)


u = srv.url
rl_targets = "".join(
    f"  - {{id: rl{i}, title: 'RL target {i}', series: jobs, rule: 'total >= 1000', "
    f"period: {PERIOD}, confirm: 1, notify: [rl]}}\n" for i in range(25))
CFG = os.path.join(tmp, "alerts.yaml")


def write_config():
    with open(CFG, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
listen: off
state_dir: {tmp}/state
redis: {{url: '{rds.url}'}}
log_level: info
feeds:
  - id: jobs
    url: file://{DATA}
    every: 1s
    records: $.data[*]
    time: "@.d"
    time_format: "%Y-%m-%d"
    series:
      jobs: {{path: "@.v", kind: cumulative}}
targets:
  - id: jobs-2026
    title: 城镇新增就业
    series: jobs
    rule: "total >= 1000"
    period: {PERIOD}
    confirm: 1
    notify: [ding, feishu, slack, hook, flaky, throttle, wecom, bad, am]
  - id: slow-2026
    title: slow receiver target
    series: jobs
    rule: "total >= 1000"
    period: {PERIOD}
    confirm: 1
    notify: [slow]
{rl_targets}receivers:
  - {{id: ding, type: dingtalk, url: '{u}/dingtalk/send?access_token=SECRETTOKEN', secret: {DT_SECRET}}}
  - {{id: feishu, type: feishu, url: '{u}/feishu/hook', secret: {FS_SECRET}}}
  - {{id: slack, type: slack, url: '{u}/slack/x'}}
  - {{id: hook, type: webhook, url: '{u}/hook'}}
  - {{id: flaky, type: slack, url: '{u}/flaky'}}
  - {{id: throttle, type: slack, url: '{u}/throttle'}}
  - {{id: wecom, type: wecom, url: '{u}/wecom?key=WECOMKEY'}}
  - {{id: bad, type: slack, url: '{u}/bad'}}
  - {{id: am, type: alertmanager, url: 'http://127.0.0.1:{am_port}'}}
  - {{id: rl, type: dingtalk, url: '{u}/rl/send?access_token=RLTOKEN'}}
  - {{id: slow, type: slack, url: '{u}/slow'}}
alerts:
  repeat: off
  digest: "off"
  keyword: "【指标告警】"
""")


def start(log):
    return subprocess.Popen([BIN, "-c", CFG, "run"], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=log)


def count(name, kind=None):
    out = 0
    for path, body, _ in bodies.get(name, []):
        if kind is None or kind in body:
            out += 1
    return out


try:
    write_data(500)  # 500 of 1000 with 82% of the period gone: off track
    write_config()
    log = open(os.path.join(tmp, "daemon.log"), "w+")
    p = start(log)
    check("open notification reaches dingtalk, signed",
          wait_for(lambda: count("dingtalk") >= 1, 20), str(bodies.keys()))
    ding = bodies.get("dingtalk", [("", "{}", 0)])[0]
    check("dingtalk body: text with the keyword and the numbers",
          "【指标告警】" in ding[1] and "城镇新增就业" in ding[1] and "off_track" in ding[1],
          ding[1][:300])
    # the fake servers check each signature as DingTalk and Feishu do
    check("dingtalk signature verified by the server (errcode 0)",
          verdicts["dingtalk"] and all(verdicts["dingtalk"]), f"{verdicts['dingtalk']} {ding[0]}")
    check("feishu signature verified by the server (code 0)",
          wait_for(lambda: count("feishu") >= 1) and verdicts["feishu"] and
          all(verdicts["feishu"]), str(verdicts["feishu"]))
    fs = json.loads(bodies["feishu"][0][1]) if bodies.get("feishu") else {}
    check("feishu: timestamp in seconds + sign in the body",
          len(fs.get("timestamp", "")) == 10 and fs.get("msg_type") == "text", str(fs)[:200])
    check("slack delivered", wait_for(lambda: count("slack") >= 1))
    wait_for(lambda: count("hook") >= 1)
    hook = bodies.get("hook", [("", "{}", 0)])[0][1]
    try:
        hookj = json.loads(hook)
    except ValueError:
        hookj = {}
    check("webhook: Alertmanager v4 body",
          hookj.get("version") == "4" and hookj.get("status") == "firing" and
          hookj["alerts"][0]["labels"]["target"] == "jobs-2026", hook[:400])
    check("retry on 500 until delivered", wait_for(lambda: count("flaky") >= 3, 20),
          str(count("flaky")))
    check("429 with Retry-After retried", wait_for(lambda: count("throttle") >= 2, 20))
    th = bodies.get("throttle", [])
    check("Retry-After honoured (>= 1 s between tries)",
          len(th) >= 2 and th[1][2] - th[0][2] >= 0.9, str([t for _, _, t in th]))
    def log_text():
        log.flush()
        with open(log.name) as f:
            return f.read()
    gave_up = wait_for(lambda: "receiver bad refused" in log_text())
    check("give-up is logged", gave_up, log_text()[-1500:])
    check("give up on 400 after one try",
          count("bad") == 1 and "receiver bad: " not in log_text(), str(count("bad")))
    # 45009 inside a 200: WeCom's rate limit, retried after a minute
    throttled = wait_for(lambda: "receiver wecom: " in log_text() and
                         "retrying in 60 s" in log_text().split("receiver wecom: ", 1)[1])
    check("throttling code inside a 200 is retried later, not dropped",
          throttled and count("wecom") == 1 and
          any("wecom" in k for k in rds.cmd("HKEYS", "ind:outbox") or []),
          f"{count('wecom')} {rds.cmd('HKEYS', 'ind:outbox')}")
    text = log_text()
    check("webhook URLs and tokens never logged",
          "SECRETTOKEN" not in text and "WECOMKEY" not in text and DT_SECRET not in text)

    # rate limit: 25 targets to one dingtalk robot (20/min)
    check("rate-limited receiver: every target reached",
          wait_for(lambda: all(any(f"RL target {i}:" in b for _, b, _ in bodies.get("rl", []))
                               for i in range(25)), 30),
          f"{count('rl')} requests")
    rl_times = [t for _, _, t in bodies.get("rl", [])]
    in_minute = max((sum(1 for x in rl_times if t0 <= x < t0 + 60) for t0 in rl_times), default=0)
    check("rate limit holds: at most 20 requests a minute (batched)", 1 <= in_minute <= 20,
          str(in_minute))

    # Alertmanager
    if am:
        # labels: the incident's identity; class and severity: annotations
        check("Alertmanager shows the alert with our labels",
              wait_for(lambda: any(a["labels"].get("target") == "jobs-2026" and
                                   a["labels"].get("incident", "").startswith("jobs-2026-") and
                                   a["labels"].get("alertname") == "IndicatorTarget" and
                                   a["annotations"].get("class") == "off_track" and
                                   a["annotations"].get("severity") == "critical"
                                   for a in (am_alerts() or [])), 20), str(am_alerts()))
        time.sleep(8)  # past resolve_timeout (5s)
        check("still active past Alertmanager's resolve timeout",
              any(a["labels"].get("target") == "jobs-2026" for a in (am_alerts() or [])))
    else:
        check("prometheus-alertmanager installed", False)

    # restart mid-delivery: the slow receiver answers after 2 s
    check("slow receiver got the open notification",
          wait_for(lambda: count("slow") >= 1, 20))

    # recovery: resolve. The slow receiver's resolve is in flight (it
    # answers after 2 s) when SIGTERM comes: the daemon must finish that
    # delivery, and the restarted daemon must not repeat it.
    n_slack, n_slow = count("slack"), count("slow")
    write_data(950)
    got_resolve = wait_for(lambda: count("slow") > n_slow)
    pending = count("slow") > len(slow_answered)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=60)
    check("SIGTERM while the slow receiver's resolve is in flight: exit 0",
          got_resolve and pending and rc == 0, f"{got_resolve} {pending} rc={rc}")
    slow_total = count("slow")
    # The restarted daemon re-judges every target and works off the outbox.
    # Once the slow target has been evaluated again and the outbox holds
    # nothing for the slow receiver, a repeat delivery would have shown:
    # as an outbox entry (kept until the 2 s answer) or as a request.
    rds.cmd("HDEL", "ind:t:slow-2026", "evaluated_at")
    p = start(log)
    settled = wait_for(lambda: rds.cmd("HGET", "ind:t:slow-2026", "evaluated_at") and
                       not any("slow" in k for k in (rds.cmd("HKEYS", "ind:outbox") or [])))
    check("restart mid-delivery: delivered exactly once",
          settled and count("slow") == slow_total and len(slow_answered) == slow_total,
          f"{count('slow')} vs {slow_total}: {rds.cmd('HKEYS', 'ind:outbox')}")
    # the other receivers' resolves: before the restart or after it
    check("resolved notification after recovery",
          wait_for(lambda: count("slack") > n_slack and "resolved" in bodies["slack"][-1][1]),
          bodies.get("slack", [])[-1][1][:200] if bodies.get("slack") else "")
    if am and am_same_clock:
        check("Alertmanager alert resolved on recovery",
              wait_for(lambda: am_alerts() is not None and
                       not any(a["labels"].get("target") == "jobs-2026" for a in am_alerts())),
              json.dumps([(a["labels"], a["endsAt"], a["status"]) for a in (am_alerts() or [])])[:600])
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    text = log_text()
    check("no sanitizer report", "Sanitizer" not in text, text[-2000:])
    ev = rds.cmd("XRANGE", "ind:events", "-", "+")
    check("sent notifications are in ind:events",
          any("notified" in e[1] for e in ev), str(ev[:3]))
finally:
    srv.close()
    rds.close()
    if am:
        am.terminate()
        am.wait(timeout=60)
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
