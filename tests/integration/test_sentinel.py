#!/usr/bin/env python3
"""Redis Sentinel failovers under two instances of a cluster (contract §8,
issue 16), with real processes on loopback: three redis-servers (a master
and two replicas), three sentinels (`redis-server FILE --sentinel`, quorum
2), the real binary twice and an HTTP server that records every observation
it serves (a time and a value per request, so each one is a distinct stream
entry).

- `SENTINEL FAILOVER`: the instances follow the master (+switch-master, or
  -READONLY from the demoted one), and every observation served before and
  during the failover is on the new master;
- the new master killed with SIGKILL: the sentinels promote a replica, and
  again every observation served is on it (redis.min_replicas: a write
  counts once a replica has it, so what the dead master took is re-sent);
- both instances keep their leases through it and stop cleanly.

usage: test_sentinel.py BINARY SOURCE_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

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
tmp = tempfile.mkdtemp(prefix="indicatord-sentinel-")
NAME = "indicatord-test"
NFEEDS = 6


class Sentinel(redisd.Redis):
    """A sentinel watching master_port (quorum 2, failing over fast)."""

    def __init__(self, master_port, name=NAME, quorum=2):
        self.master_port, self.name, self.quorum = master_port, name, quorum
        super().__init__()

    def start(self, give_up_if_taken=False):
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"logfile {os.path.join(self.dir, 'log')}\n"
                    f"sentinel monitor {self.name} 127.0.0.1 "
                    f"{self.master_port} {self.quorum}\n"
                    f"sentinel down-after-milliseconds {self.name} 1000\n"
                    f"sentinel failover-timeout {self.name} 10000\n"
                    f"sentinel parallel-syncs {self.name} 2\n")
        end = time.monotonic() + 30
        while time.monotonic() < end:
            self.proc = subprocess.Popen(["redis-server", conf, "--sentinel"])
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    if f"process_id:{self.proc.pid}\r" in self.cmd("INFO",
                                                                    "server"):
                        return True
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                break
            self.proc = None
            if give_up_if_taken:
                return False
            time.sleep(0.2)
        raise RuntimeError("the sentinel did not start")


# ---- the feeds: each answer a new observation, recorded
srv = httpd.Server()
lock = threading.Lock()
served = {i: [] for i in range(NFEEDS)}  # (time ms, value)


def feed_route(i):
    def route(req, n):
        with lock:
            t = int(time.time() * 1000)
            if served[i] and served[i][-1][0] >= t:
                t = served[i][-1][0] + 1
            served[i].append((t, n))
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"t": t, "v": n})
    return route


for i in range(NFEEDS):
    srv.route(f"/f/{i}", feed_route(i))

servers, sentinels, insts = [], [], []
try:
    master = redisd.Redis()
    servers.append(master)
    for _ in range(2):
        servers.append(redisd.Redis(
            extra=["--replicaof", "127.0.0.1", str(master.port)]))
    by_port = {s.port: s for s in servers}
    for _ in range(3):
        sentinels.append(Sentinel(master.port))

    def master_port():
        """The master as the sentinels that answer see it (a majority)."""
        seen = []
        for sn in sentinels:
            if sn.proc is None:
                continue
            try:
                r = sn.cmd("SENTINEL", "get-master-addr-by-name", NAME)
                if isinstance(r, list):
                    seen.append(int(r[1]))
            except OSError:
                pass
        best = max(set(seen), key=seen.count) if seen else None
        return best if best and seen.count(best) >= 2 else None

    def replicas_synced(port):
        try:
            info = by_port[port].cmd("INFO", "replication")
        except OSError:
            return False
        return "role:master" in info and \
            info.count("state=online") >= sum(
                1 for s in servers if s.proc is not None) - 1

    ok = wait_for(lambda: master_port() == master.port and
                  replicas_synced(master.port), 60)
    check("three sentinels see the master and its two replicas", ok)

    feeds = "".join(
        f"  - {{id: f{i}, url: '{srv.url}/f/{i}', every: 1s, time: $.t, "
        f"time_format: epoch_ms, series: {{s{i}: $.v}}}}\n"
        for i in range(NFEEDS))
    addrs = ", ".join(f"'127.0.0.1:{sn.port}'" for sn in sentinels)
    cfg = os.path.join(tmp, "sentinel.yaml")
    with open(cfg, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
listen: "off"
state_dir: ${{STATE}}
log_level: debug
redis:
  sentinel: {{addresses: [{addrs}], master: {NAME}}}
  min_replicas: 1
cluster:
  instance: ${{INSTANCE}}
  lease: 3s
feeds:
{feeds}""")

    class Instance:
        def __init__(self, name):
            self.name = name
            state = os.path.join(tmp, "state-" + name)
            os.makedirs(state, exist_ok=True)
            self.logpath = os.path.join(tmp, name + ".log")
            self.log = open(self.logpath, "w")
            self.p = subprocess.Popen(
                [BIN, "-c", cfg, "run"],
                env=dict(ENV, STATE=state, INSTANCE=name),
                stdout=subprocess.DEVNULL, stderr=self.log)

        def text(self):
            with open(self.logpath) as f:
                return f.read()

    insts = [Instance("a"), Instance("b")]

    def holders(port):
        out = {}
        for i in range(NFEEDS):
            try:
                v = by_port[port].cmd("GET", f"ind:lease:f:f{i}")
            except OSError:
                return {}
            if v:
                out[f"f{i}"] = v
        return out

    def spread(port):
        h = holders(port)
        return len(h) == NFEEDS and sorted(
            list(h.values()).count(n) for n in ("a", "b")) == [3, 3]

    ok = wait_for(lambda: spread(master.port), 30)
    check("two instances share the feeds through the sentinels' master", ok,
          str(holders(master.port)))

    def missing_on(port, upto):
        """Observations served up to index upto[i] that the server at port
        does not have."""
        miss = []
        for i in range(NFEEDS):
            try:
                entries = by_port[port].cmd("XRANGE", f"ind:s:s{i}", "-", "+")
            except OSError:
                return ["(no answer)"]
            if not isinstance(entries, list):
                return [f"s{i}: {entries}"]
            have = {e[0]: e[1][1] for e in entries}
            for t, v in served[i][:upto[i]]:
                if have.get(f"{t}-0") != str(v):
                    miss.append((i, t, v))
        return miss

    def snapshot():
        with lock:
            return {i: len(served[i]) for i in range(NFEEDS)}

    def all_served_on(port, what, upto=None):
        upto = upto or snapshot()
        ok = wait_for(lambda: not missing_on(port, upto), 40)
        n = sum(upto.values())
        check(f"{what}: all {n} observations served are on the master", ok,
              str(missing_on(port, upto)[:10]))

    # ---- a commanded failover
    ok = wait_for(lambda: all(len(served[i]) >= 3 for i in range(NFEEDS)), 30)
    check("the feeds are polled", ok)
    all_served_on(master.port, "before the failover")
    old = master.port
    r = sentinels[0].cmd("SENTINEL", "FAILOVER", NAME)
    check("SENTINEL FAILOVER is accepted", r == "OK", str(r))
    ok = wait_for(lambda: master_port() not in (None, old), 60)
    new = master_port()
    check("the sentinels promote a replica", ok, str(new))
    during = snapshot()
    # observations served after the switch reach the new master
    later = {i: during[i] + 3 for i in range(NFEEDS)}
    wait_for(lambda: all(len(served[i]) >= later[i] for i in range(NFEEDS)),
             30)
    all_served_on(new, "after SENTINEL FAILOVER", later)
    check("the leases are on the new master", wait_for(lambda: spread(new), 30),
          str(holders(new)))

    # ---- the master killed
    ok = wait_for(lambda: replicas_synced(new), 60)
    check("the demoted master follows the new one", ok)
    before_kill = snapshot()
    by_port[new].kill()
    t_kill = time.monotonic()
    ok = wait_for(lambda: master_port() not in (None, new), 90)
    newest = master_port()
    print(f"# the sentinels promoted {newest} "
          f"{time.monotonic() - t_kill:.1f} s after the kill")
    check("the sentinels fail over from a killed master", ok, str(newest))
    later = {i: before_kill[i] + 4 for i in range(NFEEDS)}
    wait_for(lambda: all(len(served[i]) >= later[i] for i in range(NFEEDS)),
             60)
    all_served_on(newest, "after the master was killed", later)
    check("the leases are on the newest master",
          wait_for(lambda: spread(newest), 30), str(holders(newest)))

    for inst in insts:
        inst.p.send_signal(signal.SIGTERM)
        try:
            rc = inst.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            inst.p.kill()
            rc = inst.p.wait()
        check(f"instance {inst.name} stops cleanly", rc == 0, str(rc))
        text = inst.text()
        check(f"instance {inst.name}: no sanitizer report",
              "Sanitizer" not in text and "runtime error" not in text,
              text[-2000:])
        bad = [ln for ln in text.splitlines()
               if "store: Redis refused" in ln or " error: store:" in ln]
        check(f"instance {inst.name}: no write refused or lost", not bad,
              str(bad[:5]))

    # A master without replicas under the default min_replicas (1 with
    # sentinels): writes can never be confirmed, and the log says why.
    lone = redisd.Redis()
    servers.append(lone)
    lone_sentinel = Sentinel(lone.port, name="lone", quorum=1)
    sentinels.append(lone_sentinel)
    lone_cfg = os.path.join(tmp, "lone.yaml")
    with open(lone_cfg, "w") as f:
        f.write(f"""timezone: Asia/Shanghai
include: []
listen: "off"
state_dir: {tmp}/state-lone
redis:
  sentinel: {{addresses: ['127.0.0.1:{lone_sentinel.port}'], master: lone}}
feeds:
  - {{id: f0, url: '{srv.url}/f/0', every: 1s, time: $.t, time_format: epoch_ms, series: {{lone0: $.v}}}}
""")
    lone_log = os.path.join(tmp, "lone.log")
    with open(lone_log, "w") as log:
        d = subprocess.Popen([BIN, "-c", lone_cfg, "run"], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=log)
    want = (f"has 0 replica(s) connected, min_replicas is 1: writes wait "
            f"until that many acknowledge them")

    def lone_text():
        with open(lone_log) as f:
            return f.read()
    ok = wait_for(lambda: want in lone_text(), 30)
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(timeout=30)
    except subprocess.TimeoutExpired:
        d.kill()
        rc = d.wait()
    check("a master without replicas under min_replicas 1 is said in the log",
          ok, lone_text()[-1500:])
    check("that daemon stops cleanly", rc == 0 and "Sanitizer" not in lone_text(),
          lone_text()[-1500:])
finally:
    for inst in insts:
        if inst.p.poll() is None:
            inst.p.kill()
            inst.p.wait()
    for s in sentinels + servers:
        s.close()
    srv.close()
    if os.environ.get("KEEP_TMP"):
        print(f"# kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
tap.finish()
