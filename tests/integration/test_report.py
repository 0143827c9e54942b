#!/usr/bin/env python3
"""conf/liaoning-2026.yaml holds every quantified target of its source
document and invents none: the real binary loads it (`check`), and its own
`once --json` lists exactly TARGETS targets, ids unique, each with a group
and a source quoted verbatim from docs/sources/liaoning-2026-report.txt.
Then the group and source keys themselves: `once --json` and `status --json`
carry them exactly where configured, and the text table prints each group
under its heading, groups in order of first appearance, config order within.

usage: test_report.py BINARY SOURCE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redisd  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

BIN, SRC = sys.argv[1], os.path.abspath(sys.argv[2])
CONF = os.path.join(SRC, "conf", "liaoning-2026.yaml")
REPORT = os.path.join(SRC, "docs", "sources", "liaoning-2026-report.txt")
# The count established by reading the whole document (see the header of
# conf/liaoning-2026.yaml); change it only together with the document.
TARGETS = 95
GROUPS = {"科技创新", "营商环境", "对外开放", "区域发展", "农业农村", "生态环境",
          "社会事业", "安全发展", "民生实事"}
CONTRACT = {"id", "title", "status", "actual", "expected", "projected", "goal",
            "score", "remaining_budget", "required_rate", "valid_days", "message", "required_rate_per"}
NOW = "2026-06-30T12:00:00+08:00"
ENV = dict(os.environ, NO_COLOR="1")
ENV.pop("JOURNAL_STREAM", None)


def ind(cfg, *args):
    return subprocess.run([BIN, "-c", cfg, *args], capture_output=True,
                          text=True, env=ENV, timeout=120)


def private(text, redis_url, state):
    """The shipped file, pointed at the test's Redis and state directory."""
    redis_line = "  url: redis://127.0.0.1:6379/0\n"
    listen_line = "listen: 127.0.0.1:9464\n"
    if text.count(redis_line) != 1 or text.count(listen_line) != 1:
        return None
    return (text.replace(redis_line, f"  url: '{redis_url}'\n")
                .replace(listen_line, f"listen: off\ninclude: []\nstate_dir: {state}\n"))


tmp = tempfile.mkdtemp(prefix="indicatord-report-")
r = redisd.Redis()
try:
    # --- the shipped file against its document ------------------------------
    res = ind(CONF, "check")
    check("check loads conf/liaoning-2026.yaml",
          res.returncode == 0 and res.stdout.strip() == "configuration OK",
          res.stdout + res.stderr)
    with open(REPORT, encoding="utf-8") as f:
        report = f.read()
    with open(CONF, encoding="utf-8") as f:
        conf_text = f.read()
    check("the YAML header names the copy of its document",
          "docs/sources/liaoning-2026-report.txt" in conf_text)
    placeholders = [line for line in conf_text.splitlines()
                    if "file:///var/lib/indicatord/feeds/" in line]
    check("every placeholder feed is marked as one",
          placeholders and all(re.search(r"#\s*PLACEHOLDER", line) for line in placeholders),
          "\n".join(line for line in placeholders if "PLACEHOLDER" not in line))

    cfg = os.path.join(tmp, "liaoning.yaml")
    state = os.path.join(tmp, "state-liaoning")
    os.makedirs(state)
    text = private(conf_text, r.url, state)
    check("the shipped file has the redis and listen lines the test rewrites",
          text is not None)
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(text or "")
    # The placeholder files do not exist: once names each feed as failed
    # (exit 1) and still prints every target as the binary parsed it.
    res = ind(cfg, "once", "--json", "--now", NOW)
    try:
        targets = json.loads(res.stdout)["targets"]
    except (ValueError, KeyError):
        targets = []
    check("once --json lists the targets", targets, res.stderr[-2000:])
    check(f"exactly {TARGETS} targets", len(targets) == TARGETS, str(len(targets)))
    ids = [t["id"] for t in targets]
    check("target ids are unique", len(set(ids)) == len(ids),
          str(sorted({i for i in ids if ids.count(i) > 1})))
    check("every target has a group and a source",
          all(t.get("group") and t.get("source") for t in targets),
          str([t["id"] for t in targets if not (t.get("group") and t.get("source"))]))
    missing = [t["id"] for t in targets if t.get("source") and t["source"] not in report]
    check("every source appears verbatim in the document", not missing, str(missing))
    check("every group is one of the report's sections",
          {t.get("group") for t in targets} == GROUPS,
          str({t.get("group") for t in targets} ^ GROUPS))
    check("every target has a title", all(t.get("title") and t["title"] != t["id"]
                                          for t in targets))

    # --- group and source in once, status and the table ----------------------
    data = os.path.join(tmp, "data.json")
    with open(data, "w") as f:
        json.dump({"data": [{"month": f"2026-{m:02d}", "a": 10 * m, "b": m}
                            for m in range(1, 6)]}, f)
    source_d = "“引号”与换行\n- 第二行: 100个"
    small = os.path.join(tmp, "small.yaml")
    with open(small, "w", encoding="utf-8") as f:
        f.write(f"""timezone: Asia/Shanghai
listen: off
include: []
state_dir: {os.path.join(tmp, "state-small")}
redis: {{url: '{r.url}'}}
feeds:
  - id: f
    url: file://{data}
    records: $.data[*]
    time: "@.month"
    time_format: "%Y-%m"
    series:
      a: {{path: "@.a", kind: cumulative}}
      b: {{path: "@.b", kind: cumulative}}
targets:
  - {{id: t-a, title: 甲一, series: a, rule: total >= 100, period: 2026, group: 甲, source: 甲一的句子}}
  - {{id: t-b, title: 无组, series: b, rule: total >= 10, period: 2026, source: 无组的句子}}
  - {{id: t-c, title: 乙一, series: a, rule: total >= 120, period: 2026, group: 乙}}
  - {{id: t-d, title: 甲二, series: b, rule: total >= 12, period: 2026, group: 甲, source: {json.dumps(source_d, ensure_ascii=False)}}}
  - {{id: t-e, title: 无组无源, series: a, rule: total >= 130, period: 2026}}
""")
    os.makedirs(os.path.join(tmp, "state-small"))
    want = {"t-a": ("甲", "甲一的句子"), "t-b": (None, "无组的句子"),
            "t-c": ("乙", None), "t-d": ("甲", source_d), "t-e": (None, None)}

    def keys_match(targets):
        bad = []
        for t in targets:
            group, source = want[t["id"]]
            extra = ({"group"} if group else set()) | ({"source"} if source else set())
            if set(t) != CONTRACT | extra or t.get("group") != group or \
                    t.get("source") != source:
                bad.append(t)
        return not bad and len(targets) == len(want), str(bad)

    res = ind(small, "once", "--json", "--now", NOW)
    check("once --json exits 0", res.returncode == 0, res.stderr[-2000:])
    out = json.loads(res.stdout) if res.returncode == 0 else {"targets": []}
    ok, detail = keys_match(out["targets"])
    check("once --json: group and source exactly where configured, the "
          "contract's fields otherwise", ok, detail)
    check("once --json keeps config order",
          [t["id"] for t in out["targets"]] == list(want))

    def table_order(stdout):
        """Headings and titles in the order the table prints them."""
        titles = {"甲一", "无组", "乙一", "甲二", "无组无源"}
        seq = []
        for line in stdout.splitlines():
            if line.startswith("== "):
                seq.append(line)
            elif line.split("  ")[0].strip() in titles:
                seq.append(line.split("  ")[0].strip())
        return seq

    grouped = ["无组", "无组无源", "== 甲 (2 targets) ==", "甲一", "甲二",
               "== 乙 (1 target) ==", "乙一"]
    res = ind(small, "once", "--now", NOW)
    check("once table: ungrouped first, then each group under its heading",
          res.returncode == 0 and table_order(res.stdout) == grouped, res.stdout)
    check("the table does not print sources", "句子" not in res.stdout, res.stdout)

    # status reads what once stored: once without --now stores the judgement.
    res = ind(small, "once")
    check("once (stored) exits 0", res.returncode == 0, res.stderr[-2000:])
    res = ind(small, "status", "--json")
    check("status --json exits 0", res.returncode == 0, res.stderr[-2000:])
    out = json.loads(res.stdout) if res.returncode == 0 else {"targets": []}
    ok, detail = keys_match(out["targets"])
    check("status --json: group and source exactly where configured", ok, detail)
    res = ind(small, "status")
    check("status table grouped the same way",
          res.returncode == 0 and table_order(res.stdout) == grouped, res.stdout)

    # Without any group the table has no headings.
    with open(small, encoding="utf-8") as f:
        ungrouped = re.sub(r", group: [^,}]+", "", f.read())
    plain = os.path.join(tmp, "plain.yaml")
    with open(plain, "w", encoding="utf-8") as f:
        f.write(ungrouped)
    res = ind(plain, "once", "--now", NOW)
    check("no groups: no headings, config order",
          res.returncode == 0 and
          table_order(res.stdout) == ["甲一", "无组", "乙一", "甲二", "无组无源"],
          res.stdout)
finally:
    r.close()
    shutil.rmtree(tmp, ignore_errors=True)
tap.finish()
