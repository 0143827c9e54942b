#!/usr/bin/env python3
"""The plain-HTTP fast path through the real binary against a raw TCP
server on loopback that answers with exact bytes: chunked bodies,
HTTP/1.0 bodies that end at close, keep-alive reuse (connections counted),
a pooled connection the server dropped (retried, not a failure), garbage,
a refused port, and the hand-over to curl on a redirect.

usage: test_http1.py BINARY SOURCE_DIR
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redisd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

BIN, SRC = sys.argv[1], sys.argv[2]
ENV = dict(os.environ)
ENV.pop("JOURNAL_STREAM", None)
for k in ("http_proxy", "all_proxy", "ALL_PROXY"):
    ENV.pop(k, None)


def chunked(body):
    out = b""
    for i in range(0, len(body), 3):
        part = body[i:i + 3]
        out += b"%x;n=%d\r\n" % (len(part), i) + part + b"\r\n"
    return out + b"0\r\nX-Checksum: none\r\n\r\n"


class RawServer:
    """Answers GETs per path with canned bytes; counts connections and
    requests. Handlers get the path's request count (this one included) and
    return (bytes, action) where action is 'keep', 'close' (after the answer)
    or 'drop' (close without answering)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.routes = {}
        self.connections = 0
        self.requests = []  # (path, request number on its connection, head)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        buf, nth = b"", 0
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                nth += 1
                path = head.split(b" ")[1].decode()
                with self.lock:
                    self.requests.append((path, nth, head.decode()))
                    count = len(self.hits(path))
                answer, action = self.routes.get(
                    path.split("?")[0],
                    lambda n: (b"HTTP/1.1 404 Not Found\r\n"
                               b"Content-Length: 0\r\n\r\n", "keep"))(count)
                if action == "drop":
                    return
                try:
                    conn.sendall(answer)
                except OSError:
                    return
                if action == "close":
                    return

    def hits(self, path):
        """Requests for path (without query); call with or without the lock."""
        return [r for r in list(self.requests) if r[0].split("?")[0] == path]


def ok(body, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body) + extra +
            b"\r\n" + body)


tmp = tempfile.mkdtemp(prefix="indicatord-http1-")
rds = redisd.Redis()
srv = RawServer()


def write_config(name, feeds_yaml):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(f"timezone: Asia/Shanghai\nlisten: off\ninclude: []\n"
                f"redis: {{url: '{rds.url}'}}\nstate_dir: {tmp}\n"
                f"feeds:\n{feeds_yaml}")
    return path


def once(cfg):
    r = subprocess.run([BIN, "-c", cfg, "once", "--json"], capture_output=True,
                       text=True, env=ENV, timeout=60)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {"feeds": []}
    return r, {f["id"]: f for f in out["feeds"]}


def latest(got, fid):
    return got.get(fid, {}).get("series", [{}])[0].get("latest_value")


try:
    body = b'{"v": 41.5}'
    srv.routes["/chunked"] = lambda n: (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body), "keep")
    srv.routes["/http10"] = lambda n: (
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n 93.5\n", "close")
    srv.routes["/garbage"] = lambda n: (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "close")
    # The redirect's target is a path of its own: curl's requests must not
    # mix with http1's on /chunked, whose request head is checked below.
    srv.routes["/moved"] = lambda n: (
        b"HTTP/1.1 301 Moved\r\nLocation: /moved-here\r\nContent-Length: 0\r\n\r\n", "keep")
    srv.routes["/moved-here"] = srv.routes["/chunked"]
    srv.routes["/304"] = lambda n: (
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 11\r\n\r\n", "keep")
    # Bound but never listening: connections are refused, and no other
    # process can take the port while the test holds it.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    u = srv.url
    cfg = write_config("once.yaml", f"""  - {{id: chunked, url: {u}/chunked, series: {{h_chunked: $.v}}}}
  - {{id: http10, url: {u}/http10, format: text, series: {{h_text: ~}}}}
  - {{id: garbage, url: {u}/garbage, series: {{h_garbage: $.v}}}}
  - {{id: moved, url: {u}/moved, series: {{h_moved: $.v}}}}
  - {{id: refused, url: 'http://127.0.0.1:{dead_port}/x', series: {{h_refused: $.v}}}}
  - {{id: nxdomain, url: 'http://no-such-host.invalid/x', every: 10s, timeout: 5s, series: {{h_nx: $.v}}}}
""")
    r, got = once(cfg)
    check("once ran", set(got) == {"chunked", "http10", "garbage", "moved", "refused",
                                   "nxdomain"}, r.stdout + r.stderr)
    check("chunked body with extensions and trailer",
          got["chunked"].get("error") is None and latest(got, "chunked") == 41.5,
          str(got.get("chunked")))
    check("HTTP/1.0 body that ends at close", latest(got, "http10") == 93.5,
          str(got.get("http10")))
    err = got.get("garbage", {}).get("error") or ""
    check("garbage answer named with its byte offset",
          err == "bad HTTP response: byte 0: not an HTTP/1.x status line", err)
    check("redirect handed to curl and followed", latest(got, "moved") == 41.5,
          str(got.get("moved")))
    err = got.get("refused", {}).get("error") or ""
    check("refused port", err == "could not connect: connection refused", err)
    err = got.get("nxdomain", {}).get("error") or ""
    # Without a reachable DNS server the resolve may outlast the timeout.
    check("unresolvable host", err.startswith("could not resolve host no-such-host.invalid")
          or err == "timed out after 5.0 s", err)
    head = srv.hits("/chunked")[0][2]
    check("request head: Host, User-Agent, Accept-Encoding",
          f"Host: 127.0.0.1:{srv.port}" in head and "User-Agent: indicatord/" in head
          and "Accept-Encoding: gzip, deflate" in head, head)

    dead.close()
    # Keep-alive: six feeds polled every second reuse their connections; the
    # server drops every second request for one path without answering (a
    # pooled connection it had closed): retried on a fresh one, never a
    # failure. The daemon runs until each path has had its share of
    # requests, however long a loaded machine takes for it.
    srv.connections = 0
    srv.routes["/ka"] = lambda n: (ok(body), "keep")
    srv.routes["/flaky"] = lambda n: ((b"", "drop") if n % 2 == 0 else (ok(body), "keep"))
    feeds = "".join(f"  - {{id: ka{i}, url: {u}/ka?i={i}, every: 1s, series: {{ka{i}: $.v}}}}\n"
                    for i in range(4))
    feeds += f"  - {{id: flaky, url: {u}/flaky, every: 1s, series: {{flaky: $.v}}}}\n"
    feeds += f"  - {{id: nm, url: {u}/304, every: 1s, series: {{nm: $.v}}}}\n"
    cfg = write_config("run.yaml", feeds)
    log = open(os.path.join(tmp, "run.log"), "w+")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], stdout=subprocess.DEVNULL,
                         stderr=log, env=ENV)
    polled = tap.wait_for(lambda: len(srv.hits("/ka")) >= 12 and
                          len(srv.hits("/flaky")) >= 5 and
                          len(srv.hits("/304")) >= 3, 60)
    p.terminate()
    rc = p.wait(timeout=30)
    log.seek(0)
    text = log.read()
    ka = srv.hits("/ka")
    flaky = srv.hits("/flaky")
    check("daemon stopped cleanly", rc == 0, text[-2000:])
    check("keep-alive feeds polled", polled and len(ka) >= 12, str(len(ka)))
    # one connection per feed, plus one for each request the server dropped
    dropped = len(flaky) // 2
    check("connections reused (one per feed and per dropped request)",
          srv.connections <= 6 + dropped, f"{srv.connections} connections for "
          f"{len(ka) + len(flaky) + len(srv.hits('/304'))} requests, {dropped} dropped")
    check("dropped pooled connection retried, never a failure",
          len(flaky) >= 5 and "feed flaky: failing" not in text,
          f"{len(flaky)} requests; log: {text[-1500:]}")
    print(f"# {srv.connections} connections, {len(ka)} + {len(flaky)} requests, "
          f"{len(flaky) // 2} dropped")
    check("304 without a body keeps the connection usable",
          len(srv.hits("/304")) >= 3 and "feed nm: failing" not in text, text[-1500:])
finally:
    rds.close()
    subprocess.run(["rm", "-rf", tmp])
tap.finish()
