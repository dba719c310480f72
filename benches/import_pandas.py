#!/usr/bin/env python3
"""The import baseline: what a user without meshcap writes with json + pandas.

Reads saved query_range responses for memory and ports, drops NaN/Inf points, (optionally)
takes the max over series per timestamp, aligns ports to memory with merge_asof (nearest
within half a step), and writes the canonical CSV (time, ports, memory). The same work as
`meshcap import prometheus --memory-file M --ports-file P [--aggregate max] -o OUT`.

Usage: import_pandas.py MEM.json PORTS.json OUT.csv [--aggregate-max] [--step 30]
"""
import json
import math
import sys
import time

import numpy as np
import pandas as pd


def frame(path, aggregate):
    with open(path) as f:
        doc = json.load(f)
    if doc.get("status") != "success":
        raise SystemExit("%s: Prometheus answered %s: %s" % (path, doc.get("errorType"), doc.get("error")))
    result = doc["data"]["result"]
    if len(result) > 1 and not aggregate:
        raise SystemExit("%s: %d series" % (path, len(result)))
    parts = []
    for s in result:
        v = np.array(s["values"], dtype=object)
        df = pd.DataFrame({"t": v[:, 0].astype(np.float64), "v": pd.to_numeric(v[:, 1])})
        parts.append(df)
    df = pd.concat(parts, ignore_index=True)
    df = df[np.isfinite(df["v"])]
    if len(result) > 1:
        df = df.groupby("t", as_index=False)["v"].max()
    return df.sort_values("t", kind="stable").reset_index(drop=True)


def main():
    args = sys.argv[1:]
    aggregate = "--aggregate-max" in args
    step = 30.0
    if "--step" in args:
        step = float(args[args.index("--step") + 1])
    mem_path, ports_path, out = [a for a in args if not a.startswith("--") and a != str(step)][:3]
    started = time.perf_counter()
    mem = frame(mem_path, aggregate).rename(columns={"v": "memory"})
    ports = frame(ports_path, aggregate).rename(columns={"v": "ports"})
    joined = pd.merge_asof(mem, ports, on="t", direction="nearest", tolerance=step / 2)
    joined = joined.dropna(subset=["ports"])
    joined["time"] = pd.to_datetime(joined["t"], unit="s", utc=True)
    joined[["time", "ports", "memory"]].to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    print("pandas import: %d rows in %.3f s" % (len(joined), time.perf_counter() - started), file=sys.stderr)


if __name__ == "__main__":
    main()
