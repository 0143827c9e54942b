#!/usr/bin/env python3
"""The collectors against a real HTTP server on loopback, through the real
binary: status codes, conditional GET, timeouts, size limits, redirects,
gzip, failure logging once per state change, and 1,000 feeds in one pass.

usage: test_collect.py BINARY SOURCE_DIR
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402
import redisd  # noqa: E402

BIN, SRC = sys.argv[1], sys.argv[2]


tmp = tempfile.mkdtemp(prefix="indicatord-collect-")
srv = httpd.Server()
rds = redisd.Redis()
ENV = dict(os.environ)
ENV.pop("JOURNAL_STREAM", None)


def write_config(name, feeds_yaml, extra=""):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(f"timezone: Asia/Shanghai\nlisten: off\ninclude: []\n"
                f"redis: {{url: '{rds.url}'}}\nstate_dir: {tmp}\n"
                f"{extra}feeds:\n{feeds_yaml}")
    return path


def once(cfg):
    r = subprocess.run([BIN, "-c", cfg, "once", "--json"], capture_output=True,
                       text=True, env=ENV, timeout=120)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {"feeds": []}
    return r, {f["id"]: f for f in out["feeds"]}


try:
    srv.route("/ok.json", lambda req, n: (
        304, {"ETag": '"v1"'}, b"") if req.headers.get("If-None-Match") == '"v1"'
        else (200, {"ETag": '"v1"', "Content-Type": "application/json"},
              '{"v": 41.5, "t": "2026-11-27T10:00:00+08:00"}'))
    srv.static("/500", "oops", status=500)
    srv.static("/garbage.json", "{not json")
    srv.static("/big.json", '{"v": 1, "pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    slow = httpd.HangRoute()  # never answers: only the client's timeout ends it
    srv.route("/slow.json", slow)
    srv.static("/to-file", "", status=302, headers={"Location": "file:///etc/passwd"})
    srv.static("/to-ok", "", status=301, headers={"Location": "/ok.json"})
    srv.route("/gzip.json", httpd.gzip_route('{"v": 7}'))
    srv.static("/data.csv", "month,value\r\n2026-09,10\r\n2026-10,20\r\n")
    srv.static("/metrics", 'm{k="a"} 3\nm{k="b"} 4\n')
    srv.static("/num.txt", " 93.5\n")

    u = srv.url
    feeds = f"""  - {{id: ok, url: {u}/ok.json, time: $.t, series: {{s_ok: $.v}}}}
  - {{id: notfound, url: {u}/nope, series: {{s_404: $.v}}}}
  - {{id: err500, url: {u}/500, series: {{s_500: $.v}}}}
  - {{id: garbage, url: {u}/garbage.json, series: {{s_garbage: $.v}}}}
  - {{id: big, url: {u}/big.json, max_body: 1MiB, series: {{s_big: $.v}}}}
  - {{id: slow, url: {u}/slow.json, every: 1s, timeout: 1s, series: {{s_slow: $.v}}}}
  - {{id: tofile, url: {u}/to-file, series: {{s_tofile: $.v}}}}
  - {{id: redirect, url: {u}/to-ok, series: {{s_redirect: $.v}}}}
  - {{id: gz, url: {u}/gzip.json, series: {{s_gz: $.v}}}}
  - {{id: csv, url: {u}/data.csv, format: csv, time: month, time_format: "%Y-%m", series: {{s_csv: {{column: value, kind: cumulative}}}}}}
  - {{id: prom, url: {u}/metrics, format: prometheus, series: {{s_prom: 'm{{k="b"}}'}}}}
  - {{id: text, url: {u}/num.txt, format: text, series: {{s_text: ~}}}}
  - {{id: file, url: "file://{tmp}/local.json", series: {{s_file: $.v}}}}
  - {{id: nofile, url: "file://{tmp}/missing.json", series: {{s_nofile: $.v}}}}
"""
    with open(os.path.join(tmp, "local.json"), "w") as f:
        f.write('{"v": 12}')
    cfg = write_config("formats.yaml", feeds)
    r, got = once(cfg)
    # feeds failed: exit 1, each named on stderr, the report still printed
    check("once exits 1 when feeds fail", r.returncode == 1, r.stderr)
    check("once names the failed feeds", "feed notfound failed: HTTP 404" in r.stderr and
          "feed nofile failed:" in r.stderr and "feed ok failed" not in r.stderr, r.stderr)
    check("once reports every feed", len(got) == 14, str(list(got)))

    def series(fid):
        return got.get(fid, {}).get("series", [{}])[0]

    s = series("ok")
    check("200 with a time path", s.get("observations") == 1 and
          s.get("latest_value") == 41.5 and
          s.get("latest_time") == "2026-11-27T10:00:00+08:00", str(s))
    check("404 is a failure with the status", got["notfound"]["error"] == "HTTP 404",
          str(got["notfound"]))
    check("500 is a failure with the status", got["err500"]["error"] == "HTTP 500")
    check("unparsable body", "unusable body: invalid JSON" in (got["garbage"]["error"] or ""),
          str(got["garbage"]))
    check("body over max_body refused",
          got["big"]["error"] == "body larger than max_body (1048576 bytes)",
          str(got["big"]))
    check("slow response times out", got["slow"]["error"] == "timed out after 1.0 s",
          str(got["slow"]))
    others = ["/ok.json", "/nope", "/500", "/garbage.json", "/big.json", "/to-file",
              "/to-ok", "/gzip.json", "/data.csv", "/metrics", "/num.txt"]
    first = {o: min(srv.arrivals(o), default=None) for o in others}
    gave_up = slow.abandoned[0] if slow.abandoned else None
    check("the client gave up on the server that never answers",
          len(slow.abandoned) == 1 and slow.pending == 0, str(slow.abandoned))
    check("the timeout does not hold up the others: each was requested while "
          "the slow one was still waiting",
          gave_up is not None and all(t is not None and t < gave_up for t in first.values()),
          str({o: None if t is None or gave_up is None else round(t - gave_up, 3)
               for o, t in first.items()}))
    check("redirect to file:// refused",
          got["tofile"]["error"] == "redirect to a protocol other than http or https refused",
          str(got["tofile"]))
    check("redirect to http followed", series("redirect").get("latest_value") == 41.5)
    check("gzip body decoded", series("gz").get("latest_value") == 7)
    gz_hits = srv.hits("/gzip.json")
    check("Accept-Encoding sent", gz_hits and "gzip" in gz_hits[0].get("Accept-Encoding", ""))
    s = series("csv")
    check("csv feed", s.get("observations") == 2 and s.get("latest_value") == 20 and
          s.get("latest_time") == "2026-10-31T23:59:59+08:00", str(s))
    check("prometheus feed", series("prom").get("latest_value") == 4)
    check("text feed", series("text").get("latest_value") == 93.5)
    check("file:// feed", series("file").get("latest_value") == 12)
    check("missing file:// is a failure", got["nofile"]["ok"] is False)
    check("one clear log line per broken feed",
          r.stderr.count("feed err500: failing: HTTP 500") == 1, r.stderr)
    check("healthy feeds log nothing", "feed ok:" not in r.stderr, r.stderr)
    ua = srv.hits("/ok.json")[0].get("User-Agent", "")
    check("User-Agent names indicatord", ua.startswith("indicatord/"), ua)
    check("no sanitizer report", "Sanitizer" not in r.stderr, r.stderr[-2000:])

    # run: conditional GET, failing once per state change, recovery
    flip = {"ok": False}
    srv.route("/flaky.json", lambda req, n: (200, {}, '{"v": 1}') if flip["ok"]
              else (503, {}, "busy"))
    feeds = f"""  - {{id: etag, url: {u}/ok.json, every: 1s, series: {{e: $.v}}}}
  - {{id: flaky, url: {u}/flaky.json, every: 1s, series: {{f: $.v}}}}
"""
    cfg = write_config("run.yaml", feeds, "log_level: debug\n")
    before = len(srv.hits("/ok.json"))
    log = open(os.path.join(tmp, "run.log"), "w+")

    def log_text():
        log.flush()
        with open(log.name) as f:
            return f.read()

    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=log)
    # four failed tries of the flaky feed (1 + 2 + 4 s of backoff), then it
    # recovers; the run lasts until each of those has happened
    failed4 = tap.wait_for(lambda: len(srv.hits("/flaky.json")) >= 4, 60)
    flip["ok"] = True
    recovered = tap.wait_for(lambda: "feed flaky: recovered" in log_text(), 60)
    polled7 = tap.wait_for(lambda: len(srv.hits("/ok.json")) - before >= 7, 60)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=60)
    text = log_text()
    hits = srv.hits("/ok.json")[before:]
    ok_times = srv.arrivals("/ok.json")[before:]
    check("run polls again and again", polled7, str(len(hits)))
    span = ok_times[-1] - ok_times[0] if ok_times else 0
    check("run polls no more often than every second",
          len(ok_times) <= span + 2, f"{len(ok_times)} polls in {span:.1f} s")
    check("ETag sent back", any(h.get("If-None-Match") == '"v1"' for h in hits[1:]))
    check("304 handled as nothing new", "feed etag: not modified" in text)
    check("failing logged once", failed4 and text.count("feed flaky: failing") == 1, text)
    check("recovery logged once", recovered and text.count("feed flaky: recovered") == 1, text)
    # Backoff while failing: every (1 s) doubled per failure, +-10% jitter.
    # A try can only come later than its delay (the previous answer's time
    # and a loaded machine add to it), so the gaps have floors only; the
    # exact delays and the 4x cap are unit-tested (test_collector).
    ft = srv.arrivals("/flaky.json")[:4]
    gaps = [b - a for a, b in zip(ft, ft[1:])]
    floors = [0.9 * 1, 0.9 * 2, 0.9 * 4]
    check("backoff while failing: 1 s, 2 s, 4 s (floors)",
          len(gaps) == 3 and all(g >= f - 0.05 for g, f in zip(gaps, floors)),
          str([round(g, 2) for g in gaps]))
    check("run exits 0 on SIGTERM", rc == 0, text[-2000:])
    check("no sanitizer report in run", "Sanitizer" not in text, text[-2000:])

    # 1,000 feeds against one server complete in one pass
    srv.route("/many/*", lambda req, n: (200, {}, '{"v": %d}' % int(req.path.split("/")[-1].split(".")[0])))
    lines = "".join(f"  - {{id: m{i}, url: {u}/many/{i}.json, series: {{m{i}: $.v}}}}\n"
                    for i in range(1000))
    cfg = write_config("many.yaml", lines)
    t0 = time.monotonic()
    r, got = once(cfg)
    elapsed = time.monotonic() - t0
    okc = sum(1 for f in got.values() if f["ok"])
    right = sum(1 for i in range(1000)
                if got.get(f"m{i}", {}).get("series", [{}])[0].get("latest_value") == i)
    check("1,000 feeds all fetched in one pass", okc == 1000, f"{okc} ok; {r.stderr[-500:]}")
    check("each of the 1,000 got its own value", right == 1000, str(right))
    print(f"# 1,000 feeds in {elapsed:.2f} s (informational)")
finally:
    slow.release()
    srv.close()
    rds.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
