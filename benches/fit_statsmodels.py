"""Baseline for benches/fit.rs: statsmodels OLS on the same 10^6 x 3 data.

pip install statsmodels; python3 benches/fit_statsmodels.py
Prints the median fit time over repeats and the estimates (compare with the Rust bench's).
"""
import time
import numpy as np
import statsmodels.api as sm

n = 1_000_000
i = np.arange(n, dtype=np.float64)
frac = lambda a: np.fmod(i * a, 1.0)
rev = 2000.0 * frac(0.6180339887498949)
ports = 20000.0 * frac(0.4142135623730951)
svc = 5000.0 * frac(0.7320508075688772)
noise = 3e6 * (frac(0.2360679774997898) - 0.5)
y = 5e7 + 7.5e5 * rev + 9e4 * ports + 1e4 * svc + noise
X = np.column_stack([np.ones(n), rev, ports, svc])

times = []
for _ in range(7):
    t0 = time.perf_counter()
    r = sm.OLS(y, X).fit()
    _ = (r.bse, r.tvalues, r.pvalues, r.conf_int(), r.rsquared_adj, r.fvalue, r.f_pvalue)
    times.append(time.perf_counter() - t0)
print(f"statsmodels OLS 1e6x3: median {np.median(times)*1e3:.1f} ms (min {min(times)*1e3:.1f})")
np.set_printoptions(precision=17)
print("params", repr(r.params))
print("bse", repr(r.bse))
