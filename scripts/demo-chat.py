#!/usr/bin/env python3
"""A local chat for the indicatord demo: it takes the notifications a chat
service would (POST /slack: Slack's incoming-webhook {"text": ...}, answered
"ok"; POST /webhook: the generic webhook, Alertmanager's webhook v4 JSON)
and prints each one to the terminal as the chat would show it.

With --log FILE every notification is also appended to FILE as one JSON line
({"format", "title", "text"}) for tests.

usage: demo-chat.py [--port N] [--log FILE]

--port 0 picks a free port. The first line printed is
"chat: listening on http://127.0.0.1:PORT".
"""
import argparse
import datetime as dt
import http.server
import json
import os
import signal
import sys
import threading
from zoneinfo import ZoneInfo

BAR = "─" * 60
TZ = ZoneInfo("Asia/Shanghai")  # conf/demo.yaml's timezone, as the daemon logs


def show(title, text, link=None):
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    bold, off = ("\033[1m", "\033[0m") if colour else ("", "")
    lines = [f"chat ┌{BAR}", f"chat │ #indicatord  {dt.datetime.now(TZ):%H:%M:%S}",
             f"chat │ {bold}{title}{off}"]
    lines += [f"chat │ {line}" for line in text.splitlines()]
    if link:
        lines.append(f"chat │ {link}")
    lines.append(f"chat └{BAR}")
    print("\n".join(lines), flush=True)


def from_slack(body):
    """Slack's text is the title, a newline, the message (and the link)."""
    title, _, text = body.get("text", "").partition("\n")
    return title, text


def from_webhook(body):
    parts = []
    for alert in body.get("alerts", []):
        ann = alert.get("annotations", {})
        parts.append((f"[{alert.get('status', '?')}] {ann.get('summary', '')}",
                      ann.get("description", "")))
    title = "\n".join(p[0] for p in parts)
    text = "\n".join(p[1] for p in parts)
    return title, text


def serve(port, log):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            fmt = self.path.split("?")[0].strip("/")
            try:
                body = json.loads(raw)
                title, text = {"slack": from_slack,
                               "webhook": from_webhook}[fmt](body)
            except (ValueError, KeyError, AttributeError) as e:
                self.answer(400, f"bad notification: {e}\n")
                return
            with lock:
                show(title, text)
                if log:
                    with open(log, "a", encoding="utf-8") as f:
                        f.write(json.dumps({"format": fmt, "title": title,
                                            "text": text}, ensure_ascii=False) + "\n")
            self.answer(200, "ok" if fmt == "slack" else "")

        def answer(self, status, text):
            body = text.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    print(f"chat: listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    return httpd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8465)
    ap.add_argument("--log")
    args = ap.parse_args()
    httpd = serve(args.port, args.log)
    # Ctrl-C and SIGTERM (scripts/demo's cleanup) end it quietly, even where
    # the shell started it with SIGINT ignored (a background job).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: sys.exit(0))
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
