"""A private redis-server for the integration tests (loopback port or unix
socket, no persistence), plus a tiny RESP client so tests need no Python
Redis package."""
import os
import random
import socket
import subprocess
import tempfile
import time

_rnd = random.SystemRandom()


def _port_span():
    """Ports outside the kernel's ephemeral range: one of these is never
    handed to an outgoing connection between the moment a test picks it
    and the moment its server binds it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = map(int, f.read().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    return (10000, lo - 1) if lo - 1 - 10000 >= 1000 else (hi + 1, 65535)


def free_port():
    """A loopback TCP port that nothing is bound to right now. Other tests
    running at the same time may pick the same one: whoever starts a server
    on it must retry with another port when the bind fails (see
    start_with_port)."""
    lo, hi = _port_span()
    for _ in range(200):
        port = _rnd.randint(lo, hi)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port found")


def start_with_port(start, attempts=10):
    """Calls start(port) with fresh ports until it returns something other
    than None (None: the port turned out to be taken); returns that."""
    for _ in range(attempts):
        got = start(free_port())
        if got is not None:
            return got
    raise RuntimeError(f"no port could be bound in {attempts} attempts")


class Redis:
    def __init__(self, port=None, unix=False, extra=()):
        self.dir = tempfile.mkdtemp(prefix="indicatord-redis-")
        self.unix = os.path.join(self.dir, "redis.sock") if unix else None
        self.extra = list(extra)
        self.proc = None
        if port or unix:
            self.port = port or 0
            self.start()
        else:
            # the port is ours to choose: another one if it was taken
            def attempt(p):
                self.port = p
                return True if self.start(give_up_if_taken=True) else None
            start_with_port(attempt)

    @property
    def url(self):
        if self.unix:
            return f"unix://{self.unix}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, give_up_if_taken=False):
        """Starts redis-server; returns True once it answers. When the port
        is taken: False with give_up_if_taken, else retries (a restart must
        keep its port) until a deadline."""
        persist = "--appendonly" in self.extra
        args = ["redis-server", "--port", "0" if self.unix else str(self.port),
                "--bind", "127.0.0.1", "--save", ""] + ([] if persist else ["--appendonly", "no"]) + [
                "--dir", self.dir, "--logfile", os.path.join(self.dir, "log")]
        if self.unix:
            args += ["--unixsocket", self.unix, "--unixsocketperm", "700"]
        end = time.monotonic() + 30
        while time.monotonic() < end:
            self.proc = subprocess.Popen(args + self.extra)
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    # ours, not another test's server on a port it took
                    if f"process_id:{self.proc.pid}\r" in self.cmd("INFO", "server"):
                        return True
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                break
            # exited at once: the port is taken (by another test's server)
            self.proc = None
            if give_up_if_taken:
                return False
            time.sleep(0.2)
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
