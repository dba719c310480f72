#!/usr/bin/env python3
"""The fleet baseline: what a user without meshcap writes with json + pandas + statsmodels.

Reads the saved query_range responses of benches/fleet_gen.py (memory per container, ports,
limit), splices each proxy's containers (per timestamp the container that started last, never
a sum), joins the columns on (namespace, pod, time), fits statsmodels MixedLM (memory ~ ports,
a random intercept per proxy, REML), then per proxy: growth of ports per day with Garwood's
interval on the steps, the ports where its BLUP line plus a 95% upper bound meets its limit, and
the days to get there; ranks by days. The same work as

  meshcap import prometheus --memory-file mem.json --ports-file ports.json --limit-file limit.json --by namespace,pod -o f.csv
  meshcap fleet f.csv

With RE_FORMULA=~ports in the environment the MixedLM has a random slope per proxy as well
(issue 19: re_formula="~ports"), and each proxy is dated from its own slope.

Usage: fleet_statsmodels.py DIR   (prints seconds per stage and the top 5)
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats


def frame(path, value):
    with open(path) as f:
        doc = json.load(f)
    parts = []
    for s in doc["data"]["result"]:
        m = s["metric"]
        v = np.array(s["values"], dtype=object)
        parts.append(pd.DataFrame({
            "proxy": m["namespace"] + "/" + m["pod"],
            "container": m.get("id", ""),
            "time": v[:, 0].astype(float),
            value: v[:, 1].astype(float),
        }))
    return pd.concat(parts, ignore_index=True)


def splice(df, value):
    start = df.groupby(["proxy", "container"])["time"].transform("min")
    df = df.assign(start=start).sort_values(["proxy", "time", "start"])
    return df.drop_duplicates(["proxy", "time"], keep="last")[["proxy", "time", value]]


def main():
    d = sys.argv[1]
    t0 = time.time()
    mem = splice(frame(d + "/mem.json", "memory"), "memory")
    ports = frame(d + "/ports.json", "ports")[["proxy", "time", "ports"]]
    limit = frame(d + "/limit.json", "limit")[["proxy", "time", "limit"]]
    df = mem.merge(ports, on=["proxy", "time"]).merge(limit, on=["proxy", "time"])
    t1 = time.time()
    re_formula = os.environ.get("RE_FORMULA") or None
    fit = smf.mixedlm("memory ~ ports", df, groups=df["proxy"], re_formula=re_formula).fit(reml=True)
    t2 = time.time()
    b0, b1 = fit.fe_params["Intercept"], fit.fe_params["ports"]
    sd = np.sqrt(fit.scale)
    re = {k: v.iloc[0] for k, v in fit.random_effects.items()}
    slope = {k: (v.iloc[1] if len(v) > 1 else 0.0) for k, v in fit.random_effects.items()}
    rows = []
    for proxy, g in df.groupby("proxy", sort=False):
        g = g.sort_values("time")
        span = (g["time"].iloc[-1] - g["time"].iloc[0]) / 86400.0
        steps = np.diff(g["ports"].to_numpy())
        net, sq = steps.sum(), (steps ** 2).sum()
        if net > 0 and sq > 0 and span > 0:
            unit = sq / net
            n = net / unit
            lo = unit * stats.gamma.ppf(0.025, n) / span
            hi = unit * stats.gamma.ppf(0.975, n + 1) / span
            growth = net / span
        else:
            growth, lo, hi = 0.0, 0.0, np.nan
        now = g["ports"].iloc[-1]
        cross = (g["limit"].iloc[-1] - b0 - re[proxy] - 1.645 * sd) / (b1 + slope[proxy])
        days = (cross - now) / growth if growth > 0 else np.inf
        rows.append((proxy, growth, lo, hi, max(days, 0.0)))
    rank = pd.DataFrame(rows, columns=["proxy", "growth", "lo", "hi", "days"]).sort_values("days")
    t3 = time.time()
    print("read+splice+join %.3f s  MixedLM %.3f s  rank %.3f s  total %.3f s" % (t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    print(rank.head(5).to_string(index=False))


if __name__ == "__main__":
    main()
