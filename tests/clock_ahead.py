#!/usr/bin/env python3
"""Runs every other test of the suite again with the wall clock a year ahead,
so that no test can be bound to the calendar: a test that fixes its data at
dates near today turns red here long before the calendar gets there.

The clock moves through a preloaded shim (tests/clockshift.c) in every
process of a test: the daemon, the Python test, redis-server. Only the wall
clock moves; the monotonic clock of timers and timeouts does not.
Alertmanager (Go) reads the clock without libc and keeps the real date;
test_alerts notices and skips the one check that needs both clocks to agree.
Tests are taken from ctest itself, with their command and environment, so a
test added later is covered too.

usage: clock_ahead.py BUILD_DIR SHIM [NAME_REGEX]
environment: INDICATORD_TEST_CLOCK, the shift: days ahead ("365", the
default) or the date to run at ("2028-02-29" or "2027-12-31T23:59:00Z")
"""
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
SHIM = os.path.abspath(sys.argv[2])
ONLY = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
SELF = "clock_ahead"
WHEN = os.environ.get("INDICATORD_TEST_CLOCK", "365")
if re.fullmatch(r"[0-9]+", WHEN):
    SHIFT = int(WHEN) * 86400
else:
    at = dt.datetime.fromisoformat(WHEN.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    SHIFT = int(at.timestamp() - time.time())


def list_tests():
    """ctest's list of tests, read from a copy of the build's test files:
    ctest run on the build itself would rewrite Testing/Temporary/LastTest.log
    while the ctest that runs this test is still writing it."""
    with tempfile.TemporaryDirectory(prefix="indicatord-clock-") as copy:
        for root, dirs, files in os.walk(BUILD):
            dirs[:] = [d for d in dirs if d not in ("Testing", "CMakeFiles")]
            if "CTestTestfile.cmake" in files:
                dest = os.path.join(copy, os.path.relpath(root, BUILD))
                os.makedirs(dest, exist_ok=True)
                shutil.copy(os.path.join(root, "CTestTestfile.cmake"), dest)
        out = subprocess.run(["ctest", "--test-dir", copy, "--show-only=json-v1"],
                             capture_output=True, text=True, check=True).stdout
        # the tests' default working directories are in the build
        return json.loads(out.replace(copy, BUILD))


info = list_tests()
logdir = os.path.join(BUILD, "Testing", "clock_ahead")
os.makedirs(logdir, exist_ok=True)


def props(test):
    return {p["name"]: p["value"] for p in test.get("properties", [])}


shifted = dt.datetime.fromtimestamp(time.time() + SHIFT, dt.timezone.utc)
print(f"# clock shifted {SHIFT / 86400:.1f} days: tests start at "
      f"{shifted:%Y-%m-%dT%H:%M:%SZ} (logs in {logdir})")
passed = failed = 0
for test in info["tests"]:
    name = test["name"]
    if name == SELF or (ONLY and not ONLY.search(name)):
        continue
    p = props(test)
    env = dict(os.environ)
    for kv in p.get("ENVIRONMENT", []):
        k, _, v = kv.partition("=")
        env[k] = v
    env["LD_PRELOAD"] = " ".join(filter(None, [SHIM, env.get("LD_PRELOAD")]))
    env["INDICATORD_TEST_CLOCK_SHIFT"] = str(SHIFT)
    # the shim comes before the sanitizer runtime, which otherwise insists
    # on coming first
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))
    log = os.path.join(logdir, name + ".log")
    t0 = time.monotonic()
    with open(log, "w") as out:
        try:
            rc = subprocess.run(test["command"], env=env,
                                stdout=out, stderr=subprocess.STDOUT,
                                cwd=p.get("WORKING_DIRECTORY", BUILD),
                                timeout=float(p.get("TIMEOUT", 1500))).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    took = time.monotonic() - t0
    if rc == 0:
        passed += 1
        print(f"ok - {name} ({took:.1f} s)")
    else:
        failed += 1
        with open(log) as f:
            lines = f.read().splitlines()
        bad = [l for l in lines if l.startswith("not ok") or "FAILED" in l or "ERROR" in l]
        print(f"not ok - {name}: exit {rc} ({took:.1f} s)")
        for l in (bad or lines)[-15:]:
            print(f"#   {l}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
