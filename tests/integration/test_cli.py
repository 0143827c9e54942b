#!/usr/bin/env python3
"""Runs the real indicatord binary: command line, check, signals, logging.

usage: test_cli.py BINARY SOURCE_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, wait_for  # noqa: E402

BIN, SRC = sys.argv[1], sys.argv[2]
DATA = os.path.join(SRC, "tests", "data")
ENV = dict(os.environ, TEST_AIR_TOKEN="air", TEST_JOBS_PASSWORD="pw",
           TEST_FEISHU_HOOK="hook", TEST_FEISHU_SECRET="sec")
ENV.pop("JOURNAL_STREAM", None)
ENV.pop("CREDENTIALS_DIRECTORY", None)


def run(*args, env=ENV, timeout=30):
    return subprocess.run([BIN, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


tmp = tempfile.mkdtemp(prefix="indicatord-cli-")
try:
    # --version, --help, usage errors
    r = run("--version")
    check("--version", r.returncode == 0 and r.stdout.startswith("indicatord "),
          r.stdout)
    r = run("--help")
    check("--help", r.returncode == 0 and "notify-test" in r.stdout)
    for args in (["bogus"], [], ["check", "extra"], ["--frob", "check"],
                 ["-c"], ["run", "--json"], ["once", "--fail-on", "nope"],
                 ["notify-test"]):
        r = run(*args)
        check(f"usage error {args} exits 2", r.returncode == 2,
              f"rc={r.returncode} {r.stderr}")
        check(f"usage error {args} explains", "indicatord:" in r.stderr)

    # check on the full sample of every key
    full = os.path.join(DATA, "full.yaml")
    r = run("-c", full, "check")
    check("check full.yaml", r.returncode == 0 and
          r.stdout.strip() == "configuration OK", r.stdout + r.stderr)
    r = run("check", "-c", full)
    check("options after the command", r.returncode == 0)
    demo_env = dict(ENV, INDICATORD_DEMO_REDIS="redis://127.0.0.1:6399/0",
                    INDICATORD_DEMO_STATE=tmp, INDICATORD_DEMO_LISTEN="127.0.0.1:9464",
                    INDICATORD_DEMO_PORTAL="http://127.0.0.1:8464",
                    INDICATORD_DEMO_CHAT="http://127.0.0.1:8465",
                    INDICATORD_DEMO_EVERY="15s", INDICATORD_DEMO_FROM="2026-02-01",
                    INDICATORD_DEMO_TO="2027-01-31")
    for shipped in ("indicatord.yaml", "demo.yaml", "liaoning-2026.yaml"):
        r = run("-c", os.path.join(SRC, "conf", shipped), "check", env=demo_env)
        check(f"shipped conf/{shipped} passes check", r.returncode == 0,
              r.stderr)

    # check never touches the network
    if shutil.which("strace"):
        log = os.path.join(tmp, "strace.log")
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=socket,connect",
                        "-o", log, BIN, "-c", full, "check"],
                       env=ENV, capture_output=True, timeout=60)
        with open(log) as f:
            calls = [l for l in f if "socket(" in l or "connect(" in l]
        check("check makes no socket calls", not calls, "".join(calls[:3]))
    else:
        print("# strace not installed; network check skipped")

    # a deliberately broken config: every seeded error with line and column
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("""timezone: Asia/Shanghia
redis:
  url: redis://127.0.0.1:99999
  prefx: "x"
listen: nowhere
feeds:
  - id: air
    url: https://x.org/y?token=SECRETTOKEN123
    evry: 1h
    format: jsn
    series:
      pm25: $.x
targets:
  - id: t1
    series: pm2_5
    rule: "totl >= 5"
    period: 2026-13
    notify: [opz]
receivers:
  - {id: ops, type: dingtalk, url: "https://h/x?access_token=DTSECRET"}
alerts: {digest: "9am"}
""")
    r = run("-c", bad, "check")
    want = ["1:11: timezone 'Asia/Shanghia'", "3:8: redis url: port",
            "4:3: unknown key 'prefx' in redis; did you mean 'prefix'?",
            "5:9: listen must be", "9:5: unknown key 'evry' in a feed; did you mean 'every'?",
            "10:13: format must be json", "15:13: target 't1': no feed produces series 'pm2_5'; did you mean 'pm25'?",
            "16:12: rule must start with a measure", "17:13: period must be",
            "18:14: target 't1': notify names unknown receiver 'opz'; did you mean 'ops'?",
            "21:18: digest must be"]
    check("broken config exits 2", r.returncode == 2, str(r.returncode))
    for w in want:
        check(f"reports {w.split(':')[0]}:{w.split(':')[1]}",
              f"{bad}:{w}" in r.stderr, r.stderr)
    check("reports the error count", "11 errors in the configuration" in r.stderr,
          r.stderr)
    check("no secret in the output", "SECRETTOKEN123" not in r.stderr and
          "DTSECRET" not in r.stderr)
    check("errors on stderr, nothing on stdout", r.stdout == "")
    r = run("-c", os.path.join(tmp, "missing.yaml"), "check")
    check("missing file exits 2 with its name", r.returncode == 2 and
          "missing.yaml: cannot open: No such file or directory" in r.stderr,
          r.stderr)

    # subcommands whose machinery is not built yet say so and exit 1
    r = run("-c", os.path.join(DATA, "run.yaml"), "notify-test", "nope")
    check("notify-test with an unknown receiver exits 2", r.returncode == 2 and
          "no receiver 'nope'" in r.stderr, r.stderr)
    r = run("-c", os.path.join(DATA, "run.yaml"), "status")
    check("status without Redis exits 1 and says so", r.returncode == 1 and
          "is not reachable" in r.stderr, r.stderr)

    # run: SIGHUP with a valid, then an invalid config; SIGTERM
    cfg = os.path.join(tmp, "run.yaml")
    runcfg = os.path.join(DATA, "run.yaml")
    shutil.copy(runcfg, cfg)
    errlog = open(os.path.join(tmp, "run.log"), "w+")
    p = subprocess.Popen([BIN, "-c", cfg, "run"], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=errlog)

    def log_text():
        errlog.flush()
        with open(errlog.name) as f:
            return f.read()

    check("run starts", wait_for(lambda: "running with" in log_text()),
          log_text())
    p.send_signal(signal.SIGHUP)
    check("SIGHUP reloads a valid config",
          wait_for(lambda: "configuration reloaded" in log_text()), log_text())
    with open(cfg, "a") as f:
        f.write("bogus_key: 1\n")
    p.send_signal(signal.SIGHUP)
    check("SIGHUP with a broken config keeps the old one",
          wait_for(lambda: "keeping the running configuration" in log_text()),
          log_text())
    check("the reload error names file:line:col",
          wait_for(lambda: f"{cfg}:" in log_text() and
                   "unknown key 'bogus_key'" in log_text()), log_text())
    check("still running after a failed reload", p.poll() is None)
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)  # a hang, not a speed limit
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    check("SIGTERM exits 0", rc == 0, f"rc={rc} {log_text()}")
    check("shutdown is logged", "stopped" in log_text())
    check("timestamps when not under the journal",
          log_text().startswith("20") and " info: " in log_text())
    check("no sanitizer report", "Sanitizer" not in log_text(), log_text())

    # SIGINT works the same way (sent once the daemon says it runs: its
    # signal handlers are in place by then)
    errlog = open(os.path.join(tmp, "sigint.log"), "w+")
    p = subprocess.Popen([BIN, "-c", runcfg, "run"], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=errlog)
    check("run starts again", wait_for(lambda: "running with" in log_text()),
          log_text())
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    check("SIGINT exits 0", p.returncode == 0, log_text())
    check("SIGINT is logged as such", "SIGINT, shutting down" in log_text(), log_text())

    # journal style: <N> prefixes, no timestamps, when stderr is the journal
    rfd, wfd = os.pipe()
    st = os.fstat(wfd)
    jenv = dict(ENV, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    p = subprocess.Popen([BIN, "-c", runcfg, "run"], env=jenv,
                         stdout=subprocess.DEVNULL, stderr=wfd)
    os.close(wfd)
    jtext = ""
    with os.fdopen(rfd) as f:
        # read until the daemon says it runs, then stop it and read the rest
        while "running with" not in jtext:
            line = f.readline()
            if not line:
                break
            jtext += line
        p.send_signal(signal.SIGTERM)
        jtext += f.read()
    p.wait(timeout=60)
    lines = [l for l in jtext.splitlines() if l]
    check("journal lines carry <N> priority prefixes",
          lines and all(l.startswith("<") for l in lines), jtext)
    check("journal lines have no timestamps",
          lines and not any(l[3:5] == "20" for l in lines), jtext)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

tap.finish()
