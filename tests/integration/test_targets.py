#!/usr/bin/env python3
"""End to end: `once --now` on the frozen 2026 demo (tests/data/samples/,
conf/demo.yaml before it went live) against a real redis-server gives the
expected classes as a what-if (observations stored, no target state);
`status --now` judges the stored observations the same way; `once` (the
daemon's pass) writes exactly the contract's keys, `status` reads them
back, a second run neither forgets nor repeats; and every panel of the
shipped Grafana dashboard gets well-formed data from that Redis.

usage: test_targets.py BINARY SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redisd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

BIN, SRC = sys.argv[1], os.path.abspath(sys.argv[2])


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


tmp = tempfile.mkdtemp(prefix="indicatord-targets-")
r = redisd.Redis()
SAMPLES = os.path.join(SRC, "tests", "data", "samples")
ENV = dict(os.environ, INDICATORD_DEMO_REDIS=r.url, INDICATORD_DEMO_STATE=tmp,
           INDICATORD_DEMO_DIR=SAMPLES)
ENV.pop("JOURNAL_STREAM", None)
ENV.pop("NO_COLOR", None)
CFG = os.path.join(SAMPLES, "demo-2026.yaml")
NOW = "2026-11-28T09:00:00+08:00"


def ind(*args, **kw):
    return subprocess.run([BIN, "-c", CFG, *args], capture_output=True,
                          text=True, env=ENV, timeout=120, **kw)


try:
    res = ind("once", "--now", NOW, "--json")
    check("once exits 0", res.returncode == 0, res.stderr[-2000:])
    out = json.loads(res.stdout)
    check("JSON has now and targets", out.get("now") == NOW and
          len(out.get("targets", [])) == 3, res.stdout[:500])
    cls = {t["id"]: t["status"] for t in out["targets"]}
    check("classes as of 2026-11-28", cls == {"pm25-2026": "at_risk",
                                              "jobs-2026": "on_track",
                                              "chargers-2026": "off_track"}, str(cls))
    fields = {"id", "title", "status", "actual", "expected", "projected", "goal",
              "score", "remaining_budget", "required_rate", "valid_days", "message",
              "required_rate_per"}
    check("every target has the contract's JSON fields (and the rate's unit)",
          all(set(t) == fields for t in out["targets"]), str(out["targets"][0].keys()))
    pm = next(t for t in out["targets"] if t["id"] == "pm25-2026")
    jobs = next(t for t in out["targets"] if t["id"] == "jobs-2026")
    check("mean target: budget and valid days, no required rate",
          isinstance(pm["remaining_budget"], float) and pm["valid_days"] == 326 and
          pm["required_rate"] is None and pm["required_rate_per"] is None, str(pm))
    check("total target: required rate per month, no budget",
          isinstance(jobs["required_rate"], float) and jobs["remaining_budget"] is None and
          jobs["required_rate_per"] == "month" and f"per month" in jobs["message"] and
          jobs["valid_days"] is None and jobs["actual"] == 412000, str(jobs))
    check("every target explains itself", all(t["message"] for t in out["targets"]))

    series = ["chargers_household", "jobs_new_urban", "pm25_shenyang"]
    targets = ["chargers-2026", "jobs-2026", "pm25-2026"]
    facts = sorted([f"ind:s:{s}" for s in series] + [f"ind:m:{s}" for s in series] +
                   ["ind:series", "ind:latest"])
    keys = sorted(r.cmd("KEYS", "*"))
    check("--now is a what-if: observations stored, no target state", keys == facts,
          f"{keys}")
    check("--fail-on off_track exits 3 (and still writes nothing)",
          ind("once", "--now", NOW, "--fail-on", "off_track").returncode == 3 and
          sorted(r.cmd("KEYS", "*")) == facts)
    res = ind("status", "--now", NOW, "--json")
    st = json.loads(res.stdout) if res.returncode == 0 else {"targets": []}
    check("status --now judges the stored observations as once --now did",
          st.get("now") == NOW and {t["id"]: t["status"] for t in st["targets"]} == cls,
          res.stdout[:300] + res.stderr)

    # text table: CJK titles align by display width, no colour off a terminal
    res = ind("once", "--now", NOW)
    lines = [l for l in res.stdout.splitlines() if "_track" in l or "at_risk" in l]
    cols = set()
    for l in lines:
        for word in ("on_track", "at_risk", "off_track"):
            i = l.find(word)
            if i >= 0:
                cols.add(width(l[:i]))
    check("status column aligned by display width", len(lines) == 3 and len(cols) == 1,
          "\n".join(lines))
    check("no colour codes when not a terminal", "\033[" not in res.stdout)

    # once without --now: one pass of the daemon, judged at the wall clock
    res = ind("once", "--json")
    check("once exits 0", res.returncode == 0, res.stderr[-2000:])
    out = json.loads(res.stdout) if res.returncode == 0 else {"targets": []}
    cls = {t["id"]: t["status"] for t in out["targets"]}
    keys = sorted(r.cmd("KEYS", "*"))
    want = sorted(facts + [f"ind:t:{t}" for t in targets] + [f"ind:p:{t}" for t in targets] +
                  ["ind:targets", "ind:status", "ind:events"])
    check("exactly the contract's keys", keys == want, f"{keys}")
    t = r.cmd("HGETALL", "ind:t:jobs-2026")
    t = dict(zip(t[::2], t[1::2]))
    contract = {"title", "status", "since", "actual", "expected", "projected", "goal",
                "pace", "remaining_budget", "required_rate", "deadline", "valid_days",
                "message", "evaluated_at"}
    check("ind:t has the contract's fields", contract <= set(t), str(sorted(t)))
    check("ind:t values", t.get("status") == cls["jobs-2026"] and t.get("goal") == "450000" and
          t.get("deadline", "").startswith("2026-12-31T23:59:59"), str(t))
    st = r.cmd("HGETALL", "ind:status")
    check("ind:status", dict(zip(st[::2], st[1::2])) == cls, str(st))
    check("ind:targets", sorted(r.cmd("SMEMBERS", "ind:targets")) == targets)
    ev = r.cmd("XRANGE", "ind:events", "-", "+")
    check("one event per target on the first evaluation", len(ev) == 3, str(ev))
    p = r.cmd("XRANGE", "ind:p:jobs-2026", "-", "+")
    ids = [int(e[0].split("-")[0]) for e in r.cmd("XRANGE", "ind:s:jobs_new_urban", "-", "+")]
    check("ind:p: one entry per observation time, with actual, expected, projected",
          [int(e[0].split("-")[0]) for e in p] == ids and
          all(e[1][::2] == ["actual", "expected", "projected"] for e in p) and
          p[-1][0] == "1793462399999-0", str(p[-3:]))
    res2 = ind("once")
    ev2 = r.cmd("XRANGE", "ind:events", "-", "+")
    check("a second run neither forgets nor repeats (no new events)",
          res2.returncode == 0 and len(ev2) == 3, str(ev2))

    res = ind("status", "--json")
    st = json.loads(res.stdout) if res.returncode == 0 else {"targets": []}
    check("status reads the stored table",
          {t["id"]: t["status"] for t in st["targets"]} == cls, res.stdout[:300] + res.stderr)

    # Grafana: run every panel's command as the plugin would
    with open(os.path.join(SRC, "conf", "grafana", "dashboards", "indicatord.json")) as f:
        dash = json.load(f)
    def interpolate(text, values):
        for name, value in values.items():
            text = text.replace("${%s}" % name, value)
        return text

    # The key prefix is a variable (a textbox, default indicatord's "ind:")
    # that every key name and variable query starts from.
    tvars = dash["templating"]["list"]
    prefix = next((v for v in tvars if v["name"] == "prefix"), {})
    check("dashboard: a textbox variable prefix, default ind:, listed first",
          prefix.get("type") == "textbox" and prefix.get("query") == "ind:" and
          prefix.get("current", {}).get("value") == "ind:" and tvars[0] is prefix,
          str(prefix))
    queries = [v["query"] for v in tvars if v["type"] == "query"]
    keys = [t["keyName"] for p in dash["panels"] for t in p.get("targets", [])]
    check("dashboard: every key and variable query starts from ${prefix}",
          all(k.startswith("${prefix}") for k in keys) and
          all(q.split()[1].startswith("${prefix}") for q in queries) and
          "ind:" not in json.dumps({"q": queries, "k": keys}), f"{queries} {keys}")
    fixed = {"prefix": prefix.get("query", "")}
    variables = {}
    for v in tvars:
        if v["type"] == "query":
            variables[v["name"]] = r.cmd(*interpolate(v["query"], fixed).split())
    check("dashboard variables resolve", all(variables.values()), str(variables))
    checked = 0
    for panel in dash["panels"]:
        for tgt in panel.get("targets", []):
            check(f"panel '{panel['title']}': query model",
                  tgt.get("type") == "command" and tgt.get("query") == "" and
                  "count" not in tgt and tgt["datasource"]["type"] == "redis-datasource",
                  str(tgt))
            keys = [interpolate(tgt["keyName"], fixed)]
            for name, vals in variables.items():
                if f"${name}" in tgt["keyName"]:
                    keys = [k.replace(f"${name}", v) for k in keys for v in vals]
            for key in keys:
                if tgt["command"] == "xrange":
                    entries = r.cmd("XRANGE", key, "-", "+")
                    ms = [int(e[0].split("-")[0]) for e in entries]
                    fsets = {tuple(e[1][::2]) for e in entries}
                    nums = all(float(x) == float(x) for e in entries for x in e[1][1::2])
                    ok = entries and ms == sorted(ms) and len(fsets) == 1 and nums
                    check(f"xrange {key}: ascending, every field, numeric", ok,
                          str(entries[:3]))
                elif tgt["command"] == "hgetall":
                    h = r.cmd("HGETALL", key)
                    check(f"hgetall {key}: non-empty", bool(h))
                else:
                    check(f"unknown command {tgt['command']}", False)
                checked += 1
    check("every panel query ran", checked >= 1 + 3 * 2 + 3, str(checked))
    # IDs are observation times: the jobs stream holds month ends
    ids = [int(e[0].split("-")[0]) for e in r.cmd("XRANGE", "ind:s:jobs_new_urban", "-", "+")]
    check("stream IDs are observation times (month ends, +08:00)",
          ids[-1] == 1793462399999 and len(ids) == 10, str(ids[-3:]))
finally:
    r.close()
    subprocess.run(["rm", "-rf", tmp])

tap.finish()
