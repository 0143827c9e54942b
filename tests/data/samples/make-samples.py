#!/usr/bin/env python3
"""Writes the ILLUSTRATIVE sample feeds in this folder (not official data),
frozen in 2026 for tests/integration/test_targets.py (demo-2026.yaml).

They are shaped like real publications (an environment agency's daily JSON, a
statistics bureau's monthly CSV, an energy department's monthly JSON) and
chosen so that, as of 2026-11-28, the demo's three targets fall in three
different classes: PM2.5 at risk, new urban jobs on track, household chargers
off track. Deterministic: re-running gives the same files.
"""
import datetime as dt
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(2026)

# PM2.5 for Shenyang, daily means through 2026-11-27, around an annual level
# of 35.5 µg/m³ shaped by the heating-season factors of conf/demo.yaml.
factors = [1.46, 1.31, 1.16, 0.96, 0.76, 0.71, 0.66, 0.61, 0.71, 0.96, 1.26,
           1.46]
level = 36.5
days = []
d = dt.date(2026, 1, 1)
missing = {dt.date(2026, 2, 11), dt.date(2026, 5, 3), dt.date(2026, 8, 19),
           dt.date(2026, 8, 20), dt.date(2026, 10, 2)}
while d <= dt.date(2026, 11, 27):
    if d not in missing:
        mean = level * factors[d.month - 1]
        v = max(3, round(rng.gauss(mean, mean * 0.35)))
        days.append({"date": d.isoformat(), "pm25": v, "hours": 24})
    d += dt.timedelta(days=1)
air = {"source": "示例数据 / illustrative sample, not official",
       "station": "沈阳市", "pollutant": "PM2.5", "unit": "µg/m³",
       "data": {"updated": "2026-11-28T08:00:00+08:00", "days": days}}
with open(os.path.join(HERE, "air-shenyang-2026.json"), "w") as f:
    json.dump(air, f, ensure_ascii=False, indent=1)
    f.write("\n")

# New urban jobs, Liaoning, cumulative Jan..Oct (published mid-November).
monthly = [30500, 33000, 45500, 36000, 40500, 58000, 37500, 35000, 52000,
           44000]
cum = 0
rows = ["月份,城镇新增就业累计,当月新增,说明"]
for m, add in enumerate(monthly, start=1):
    cum += add
    rows.append(f"2026-{m:02d},{cum},{add},示例数据")
with open(os.path.join(HERE, "jobs-liaoning-2026.csv"), "w",
          encoding="utf-8-sig", newline="") as f:
    f.write("\r\n".join(rows) + "\r\n")

# Household EV chargers installed, Liaoning, cumulative Jan..Oct.
added = [900, 700, 2100, 9800, 12600, 13800, 14100, 13400, 14300, 16300]
cum = 0
recs = []
for m, a in enumerate(added, start=1):
    cum += a
    recs.append({"month": f"2026-{m:02d}", "added": a, "cumulative": cum})
with open(os.path.join(HERE, "chargers-liaoning-2026.json"), "w") as f:
    json.dump({"source": "示例数据 / illustrative sample, not official",
               "province": "辽宁", "indicator": "居民充电桩安装",
               "monthly": recs}, f, ensure_ascii=False, indent=1)
    f.write("\n")
