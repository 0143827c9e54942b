"""The integration tests' reporting: TAP-like lines, and a closing line
'N passed, N failed' with the exit code to match."""
import sys
import time

counts = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        counts["passed"] += 1
        print(f"ok - {name}")
    else:
        counts["failed"] += 1
        print(f"not ok - {name} {detail}")


def wait_for(pred, timeout=10.0):
    """Polls pred until it is true or timeout seconds have passed (on the
    monotonic clock: the wall clock may be moved, see clock_ahead.py). The
    deadline only decides when to give up on something that never came."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def finish():
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)
