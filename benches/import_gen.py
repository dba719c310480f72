#!/usr/bin/env python3
"""Write the import benchmark's inputs: query_range responses as Prometheus prints them.

  mem.json    1 series x 10^6 samples of istio-proxy memory (30 s step, ~8.3 days)
  ports.json  1 series x 10^6 samples of envoy_cluster_manager_active_clusters
  mem100.json 100 series x 10^4 samples (100 pods; the shape --aggregate max reads)

Deterministic: the same bytes every run. Usage: import_gen.py OUTDIR
"""
import json
import os
import sys

T0 = 1767225600
STEP = 30


def body(series):
    result = []
    for labels, values in series:
        result.append({"metric": labels, "values": values})
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}, separators=(",", ":"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 10**6
    lbl = {"namespace": "shop", "pod": "cart-00001-deployment-7d9"}
    clusters = [16 + 8 * (k // 720) for k in range(n)]
    # Integer bytes with a little scatter, as cAdvisor reports them.
    mem = [[T0 + STEP * k, str(52428800 + 98304 * clusters[k] + (k * 7919) % 1048576)] for k in range(n)]
    ports = [[T0 + STEP * k, str(clusters[k])] for k in range(n)]
    with open(os.path.join(out, "mem.json"), "w") as f:
        f.write(body([(lbl, mem)]))
    with open(os.path.join(out, "ports.json"), "w") as f:
        f.write(body([(lbl, ports)]))
    pods = []
    for p in range(100):
        vals = [[T0 + STEP * k, str(52428800 + 98304 * clusters[k] + ((k + p) * 7919) % 1048576)] for k in range(10**4)]
        pods.append(({"namespace": "shop", "pod": "pod-%03d" % p}, vals))
    with open(os.path.join(out, "mem100.json"), "w") as f:
        f.write(body(pods))
    ports100 = [[T0 + STEP * k, str(clusters[k])] for k in range(10**4)]
    with open(os.path.join(out, "ports100.json"), "w") as f:
        f.write(body([({"namespace": "shop"}, ports100)]))


if __name__ == "__main__":
    main()
