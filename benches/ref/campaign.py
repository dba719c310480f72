"""A simulated Prometheus campaign, saved as /api/v1/query_range responses, for README's
time-series fit and `meshcap report --data data/campaign.csv`.

SIMULATED, NOT MEASURED. It has the shape issue 10 describes for a real import: 7 levels of
Envoy clusters held for 80 scrapes each at 30 s, truth 48Mi + 94Ki per cluster (8 clusters per
revision), a per-level offset with sd 6Mi (allocator state after each config push) and AR(1)
noise with rho 0.95 and marginal sd 2Mi. Run once:

  python3 benches/ref/campaign.py
  meshcap import prometheus --memory-file data/campaign/memory.json \
      --ports-file data/campaign/ports.json --limit 1Gi -o data/campaign.csv
"""
import json

import numpy as np

MI, KI = 1024.0**2, 1024.0
rng = np.random.default_rng(20261202)
revisions = [25, 50, 100, 150, 200, 300, 400]
start, step, per_level = 1_764_633_600, 30, 80  # 2025-12-02T00:00:00Z
rho, sd = 0.95, 2.0 * MI
t, mem, ports = [], [], []
e = sd * rng.standard_normal()
for r in revisions:
    u = 6.0 * MI * rng.standard_normal()
    for _ in range(per_level):
        e = rho * e + sd * np.sqrt(1 - rho * rho) * rng.standard_normal()
        t.append(start + step * len(t))
        ports.append(8 * r + 20)  # 20 clusters of plain Services and istiod
        mem.append(48.0 * MI + 94.0 * KI * ports[-1] + u + e)


def response(values, name):
    series = {"metric": {"namespace": "shop", "pod": "cart-00001-deployment-7d9", "__name__": name},
              "values": [[ti, f"{v:.0f}"] for ti, v in zip(t, values)]}
    return {"status": "success", "data": {"resultType": "matrix", "result": [series]}}


for file, values, name in [("memory", mem, "container_memory_working_set_bytes"),
                           ("ports", ports, "envoy_cluster_manager_active_clusters")]:
    with open(f"data/campaign/{file}.json", "w") as f:
        json.dump(response(values, name), f, separators=(",", ":"))
        f.write("\n")
print(f"{len(t)} readings, {len(revisions)} levels")
