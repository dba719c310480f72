"""Writes the 10^6-row, 3-predictor CSV of the whole-process fit benchmark (BENCHMARKS.md).

python3 benches/fit1e6_gen.py OUT.csv
The same low-discrepancy design as benches/fit_statsmodels.py: revisions, ports and services spread
over their ranges, memory linear in them plus bounded noise, written as integer bytes.
"""
import sys
import numpy as np

n = 1_000_000
i = np.arange(n, dtype=np.float64)
frac = lambda a: np.fmod(i * a, 1.0)
rev = np.floor(2000.0 * frac(0.6180339887498949))
ports = np.floor(20000.0 * frac(0.4142135623730951))
svc = np.floor(5000.0 * frac(0.7320508075688772))
noise = 3e6 * (frac(0.2360679774997898) - 0.5)
y = np.round(5e7 + 7.5e5 * rev + 9e4 * ports + 1e4 * svc + noise)
with open(sys.argv[1], "w") as f:
    f.write("revisions,ports,services,memory\n")
    np.savetxt(f, np.column_stack([rev, ports, svc, y]), fmt="%d", delimiter=",")
