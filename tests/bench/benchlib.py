"""What the benchmarks share: ports, a process's CPU time, and nginx serving
the feeds' files on loopback."""
import os
import socket
import subprocess


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    """utime + stime of every thread of pid."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_nginx(tmp, n, value):
    """Serves /f/<i>.json = {"v": value(i)} for i < n from tmp/www on a free
    loopback port; returns the port (nginx -s stop with tmp/nginx.conf
    ends it)."""
    root = os.path.join(tmp, "www")
    os.makedirs(os.path.join(root, "f"))
    os.chmod(tmp, 0o755)  # nginx workers run as www-data
    for i in range(n):
        with open(os.path.join(root, "f", f"{i}.json"), "w") as f:
            f.write('{"v": %d}' % value(i))
    port = free_port()
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(f"""worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx.err;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  # Each poll is a new reading, as with a live sensor: no 304s.
  etag off;
  if_modified_since off;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    subprocess.run(["nginx", "-c", os.path.join(tmp, "nginx.conf")], check=True)
    return port
