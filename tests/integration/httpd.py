"""A real HTTP server on loopback for the integration tests.

Routes are plain functions of the request; every request is recorded so that
tests can assert what the daemon sent (conditional headers, counts).
"""
import gzip
import http.server
import select
import socket
import threading
import time


class Server:
    def __init__(self):
        self.requests = []  # (path, headers dict)
        self.arrived = []   # (time.monotonic(), path) per request
        self.lock = threading.Lock()
        self.routes = {}
        self.counts = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                with outer.lock:
                    outer.requests.append((path, dict(self.headers)))
                    outer.arrived.append((time.monotonic(), path))
                    outer.counts[path] = outer.counts.get(path, 0) + 1
                    n = outer.counts[path]
                route = outer.routes.get(path)
                if route is None:
                    for prefix, r in outer.routes.items():
                        if prefix.endswith("*") and path.startswith(prefix[:-1]):
                            route = r
                            break
                if route is None:
                    status, headers, body = 404, {}, b"not found\n"
                else:
                    status, headers, body = route(self, n)
                if isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body and status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Threaded(http.server.ThreadingHTTPServer):
            request_queue_size = 1024
            daemon_threads = True

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def route(self, path, fn):
        self.routes[path] = fn

    def static(self, path, body, status=200, headers=None):
        self.routes[path] = lambda req, n: (status, headers or {}, body)

    def hits(self, path):
        with self.lock:
            return [h for p, h in self.requests if p == path]

    def arrivals(self, path):
        """When each request for path arrived (time.monotonic())."""
        with self.lock:
            return [t for t, p in self.arrived if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def gzip_route(body):
    def fn(req, n):
        if "gzip" in req.headers.get("Accept-Encoding", ""):
            return 200, {"Content-Encoding": "gzip"}, gzip.compress(body.encode())
        return 200, {}, body
    return fn


def slow_route(seconds, body):
    def fn(req, n):
        time.sleep(seconds)
        return 200, {}, body
    return fn


class HangRoute:
    """A route that never answers: each request waits until its client
    gives up (closes the connection) or release() is called. `abandoned`
    holds when each client gave up (time.monotonic()), `pending` how many
    requests wait right now. Tests decide by these events, not by how long
    something took."""

    def __init__(self, body='{"v": 1}'):
        self.body = body
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.abandoned = []
        self.pending = 0

    def __call__(self, req, n):
        conn = req.connection
        with self.lock:
            self.pending += 1
        try:
            while not self.released.is_set():
                ready, _, _ = select.select([conn], [], [], 0.05)
                if not ready:
                    continue
                try:
                    gone = conn.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    with self.lock:
                        self.abandoned.append(time.monotonic())
                    return 499, {}, ""
                time.sleep(0.05)  # bytes of a next request: not an answer
            return 200, {}, self.body
        finally:
            with self.lock:
                self.pending -= 1

    def release(self):
        self.released.set()
