"""A private redis-server for the integration tests (loopback port or unix
socket, no persistence), plus a tiny RESP client so tests need no Python
Redis package."""
import os
import socket
import subprocess
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    def __init__(self, port=None, unix=False, extra=()):
        self.dir = tempfile.mkdtemp(prefix="indicatord-redis-")
        self.port = port or free_port()
        self.unix = os.path.join(self.dir, "redis.sock") if unix else None
        self.extra = list(extra)
        self.proc = None
        self.start()

    @property
    def url(self):
        if self.unix:
            return f"unix://{self.unix}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        persist = "--appendonly" in self.extra
        args = ["redis-server", "--port", "0" if self.unix else str(self.port),
                "--bind", "127.0.0.1", "--save", ""] + ([] if persist else ["--appendonly", "no"]) + [
                "--dir", self.dir, "--logfile", os.path.join(self.dir, "log")]
        if self.unix:
            args += ["--unixsocket", self.unix, "--unixsocketperm", "700"]
        self.proc = subprocess.Popen(args + self.extra)
        end = time.time() + 10
        while time.time() < end:
            try:
                if self.cmd("PING") == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def close(self):
        self.stop()
        subprocess.run(["rm", "-rf", self.dir])

    def connect(self):
        if self.unix:
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.unix)
        else:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.settimeout(10)
        return s

    def cmd(self, *args, auth=None):
        s = self.connect()
        try:
            f = s.makefile("rb")
            if auth:
                s.sendall(encode(["AUTH", *auth]))
                read(f)
            s.sendall(encode(args))
            return read(f)
        finally:
            s.close()


def encode(args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
    return b"".join(out)


class ReplyError(Exception):
    pass


def read(f):
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return ReplyError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [read(f) for _ in range(n)]
    raise OSError(f"bad reply {line!r}")
