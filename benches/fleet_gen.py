#!/usr/bin/env python3
"""Write the fleet benchmark's inputs: saved query_range responses for a fleet of proxies.

  mem.json    PROXIES x SAMPLES of the raw cAdvisor working set, one series per container
              (every 100th proxy restarts halfway, its old container reported 3 more steps)
  ports.json  PROXIES x SAMPLES of envoy_cluster_manager_active_clusters
  limit.json  PROXIES x SAMPLES of kube_pod_container_resource_limits

Proxies spread over up to 20 namespaces (one per 10 proxies, at least 3); revisions arrive at 0 to 10 a day (8 ports each); memory
is 55Mi + 96Ki per port + a per-proxy offset + scatter. 5 minute steps (2016 = 7 days).
With SLOPE_SD (a fraction, e.g. 0.1) each proxy also has its own slope, sd SLOPE_SD x 96Ki per
port (issue 19's random-slopes benchmark); 0, the default, writes the same bytes as before.
Deterministic: the same bytes every run. Usage: fleet_gen.py OUTDIR [PROXIES] [SAMPLES] [SLOPE_SD]
"""
import os
import random
import sys

T0 = 1767225600
STEP = 300


def main():
    out = sys.argv[1]
    proxies = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 2016
    slope_sd = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    # A second generator, so the default (no slope spread) keeps its bytes.
    slopes = random.Random(19)
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(12)
    head = '{"status":"success","data":{"resultType":"matrix","result":['
    tail = "]}}"
    times = [str(T0 + STEP * k) for k in range(samples)]
    files = {n: open(os.path.join(out, n + ".json"), "w") for n in ("mem", "ports", "limit")}
    for f in files.values():
        f.write(head)
    namespaces = min(20, max(3, proxies // 10))
    for p in range(proxies):
        ns, pod = "ns%02d" % (p % namespaces), "svc%05d-00001-deployment" % p
        rate = rnd.uniform(0.0, 10.0) * STEP / 86400.0
        ports0 = 8 * rnd.randint(10, 120)
        offset = rnd.gauss(0.0, 8.0) * 1048576
        limit = 1073741824 if p % 3 else 536870912
        ports, k = [], 0
        x = ports0
        for k in range(samples):
            if rnd.random() < rate:
                x += 8
            ports.append(x)
        slope = 98304 * (1.0 + slope_sd * slopes.gauss(0.0, 1.0)) if slope_sd else 98304
        mem = [int(57671680 + slope * ports[k] + offset + rnd.randint(-524288, 524288)) for k in range(samples)]
        sep = "," if p else ""
        lbl = '"namespace":"%s","pod":"%s"' % (ns, pod)
        restart = samples // 2 if p % 100 == 7 else None
        def series(labels, ks, vals):
            return '{"metric":{%s},"values":[%s]}' % (labels, ",".join('[%s,"%d"]' % (times[k], vals[k]) for k in ks))
        cont = lbl + ',"container":"istio-proxy"'
        if restart is None:
            files["mem"].write(sep + series(cont + ',"id":"/kubepods/%d-a"' % p, range(samples), mem))
        else:
            old = range(0, min(samples, restart + 4))
            stale = mem[:restart + 1] + [mem[restart]] * 3
            files["mem"].write(sep + series(cont + ',"id":"/kubepods/%d-a"' % p, old, stale))
            files["mem"].write("," + series(cont + ',"id":"/kubepods/%d-b"' % p, range(restart + 1, samples), mem))
        files["ports"].write(sep + series(lbl, range(samples), ports))
        files["limit"].write(sep + series(cont + ',"resource":"memory"', range(samples), [limit] * samples))
    for f in files.values():
        f.write(tail)
        f.close()


if __name__ == "__main__":
    main()
