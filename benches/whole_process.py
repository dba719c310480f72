"""Whole-process timings, side by side: meshcap commands against their Python baselines.

python3 benches/whole_process.py   (after `cargo build --release`)
Runs each command 30 times (after 3 warm-ups) and prints median wall times and ratios.
"""
import statistics
import subprocess
import time

def median_ms(cmd, runs=30):
    for _ in range(3):
        subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)

M = "./target/release/meshcap"
rows = [
    ("whatif --revisions 1000 --limit 1Gi", [M, "whatif", "--revisions", "1000", "--limit", "1Gi"],
     ["python3", "benches/whatif_statsmodels.py"]),
    ("fit data/knative-1.11-istio-1.18.csv", [M, "fit", "data/knative-1.11-istio-1.18.csv"], None),
]
for name, cmd, base in rows:
    ours = median_ms(cmd)
    if base:
        theirs = median_ms(base, runs=10)
        print(f"meshcap {name}: {ours:.2f} ms | python statsmodels: {theirs:.1f} ms | ratio {theirs / ours:.0f}x")
    else:
        print(f"meshcap {name}: {ours:.2f} ms")
