"""Baseline for the Rust bench of `meshcap fit --errors levels`: statsmodels on the same data.

pip install statsmodels scipy; python3 benches/errors_statsmodels.py [--csv PATH]
Data (deterministic; the Rust bench builds it identically): n readings in levels of
size = max(5, n // 200) readings (200 levels at n = 10^6). Level k has its own revisions, ports and
services and a level effect u_k (sd 6Mi); readings carry noise e_i = 0.9 e_{i-1} + a_i with a_i a Weyl
sequence of sd 1.5Mi (deterministic, not white: sd(e) is 1.44Mi, its lag-1 autocorrelation 0.40).
Times (median over repeats, perf_counter, data generation excluded):
  (a) MixedLM REML, random intercept per level, X = [1, rev, ports, svc], n = 10^4, 10^5, 10^6;
      growth stops once a fit takes > 60 s or the measured scaling predicts > 120 s for the next n;
  (b) OLS with HAC (Bartlett, maxlags floor(4 (n/100)^(2/9)), use_correction) at 10^6;
  (c) plain OLS at 10^6, for reference.
Prints the estimates, to compare with the Rust bench's.
--csv PATH only writes the n = 10^6 data (header time,revisions,ports,services,memory; memory %.3f)
for timing `meshcap fit PATH --errors levels` as a whole process, then exits.
"""
import argparse
import time
import warnings

import numpy as np
import scipy.signal
import statsmodels
import statsmodels.api as sm

MiB = 1048576.0


def frac(x, a):
    return np.fmod(x * a, 1.0)


def data(n):
    """(time, rev, ports, svc, memory, level) for n readings, all float64 except level (int64)."""
    size = max(5, n // 200)
    level = np.arange(n) // size
    k = np.arange(level[-1] + 1, dtype=np.float64)  # per-level values, then spread to readings
    rev_k = np.floor(1500 * frac(k, 0.6180339887498949))
    ports_k = 8 * rev_k + np.floor(3000 * frac(k, 0.4142135623730951))
    svc_k = 2 * rev_k + np.floor(500 * frac(k, 0.7320508075688772))
    u_k = 6 * MiB * np.sqrt(12.0) * (frac(k, 0.6457513110645906) - 0.5)  # sqrt(7) - 2: not tied to rev_k
    i = np.arange(n, dtype=np.float64)
    a = 1.5 * MiB * np.sqrt(12.0) * (frac(i, 0.5772156649015329) - 0.5)
    e = scipy.signal.lfilter([1.0], [1.0, -0.9], a)  # e_i = 0.9 e_{i-1} + a_i, e_{-1} = 0
    rev, ports, svc, u = rev_k[level], ports_k[level], svc_k[level], u_k[level]
    memory = 5e7 + 7.5e5 * rev + 9e4 * ports + 1e4 * svc + u + e
    return 1.7e9 + 30 * i, rev, ports, svc, memory, level


def bench(f, reps=7, budget=30.0):
    """Median seconds of f() over up to reps runs (fewer once the runs exceed budget s), last result."""
    times = []
    while len(times) < reps and (not times or sum(times) + times[-1] <= budget):
        t0 = time.perf_counter()
        r = f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), len(times), r


def show(name, v):
    print(f"  {name} = [{', '.join(f'{float(x):.17g}' for x in np.ravel(v))}]")


def mixed(y, X, level):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = sm.MixedLM(y, X, groups=level).fit(reml=True)
        _ = (r.bse_fe, r.tvalues, r.pvalues, r.conf_int())
    r.caught = sorted({f"{x.category.__name__}: {x.message}" for x in w})
    return r


def ols(y, X, **kw):
    r = sm.OLS(y, X).fit(**kw)
    _ = (r.bse, r.tvalues, r.pvalues, r.conf_int())
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", metavar="PATH", help="write the n = 10^6 data as CSV and exit")
    args = ap.parse_args()
    if args.csv:
        t, rev, ports, svc, mem, _ = data(10**6)
        np.savetxt(args.csv, np.column_stack([t, rev, ports, svc, mem]), fmt=["%d", "%d", "%d", "%d", "%.3f"],
                   delimiter=",", header="time,revisions,ports,services,memory", comments="")
        print(f"wrote {args.csv}: 10^6 readings, 200 levels of 5000")
        return

    print(f"# statsmodels {statsmodels.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    print("\n# (a) MixedLM(y, X, groups=level).fit(reml=True), X = [1, rev, ports, svc]")
    scaling = []
    for n in (10**4, 10**5, 10**6):
        if len(scaling) >= 2:
            (n0, t0), (n1, t1) = scaling[-2:]
            predicted = t1 * (n / n1) ** (np.log(t1 / t0) / np.log(n1 / n0))
            if t1 > 60 or predicted > 120:
                print(f"n = {n}: skipped (last fit {t1:.1f} s; scaling predicts {predicted:.0f} s)")
                break
        _, rev, ports, svc, y, level = data(n)
        X = np.column_stack([np.ones(n), rev, ports, svc])
        med, reps, r = bench(lambda: mixed(y, X, level), budget=60.0)
        scaling.append((n, med))
        print(f"n = {n} ({level[-1] + 1} levels of {max(5, n // 200)}): median {med:.3f} s over {reps} "
              f"({med / n * 1e6:.2f} us/reading), method {r.method}, converged {r.converged}")
        show("fe_params", r.fe_params)
        show("bse_fe", r.bse_fe)
        print(f"  scale = {r.scale:.17g}\n  cov_re = {float(np.asarray(r.cov_re)[0, 0]):.17g}\n  llf = {r.llf:.17g}")
        for c in r.caught:
            print("  warning:", c.replace("\n", " "))
    if len(scaling) >= 2:
        print("scaling: " + ", ".join(f"x{n1 // n0}: time x{t1 / t0:.1f} (exponent "
                                      f"{np.log(t1 / t0) / np.log(n1 / n0):.2f})"
                                      for (n0, t0), (n1, t1) in zip(scaling, scaling[1:])))

    n = 10**6
    _, rev, ports, svc, y, _ = data(n)
    X = np.column_stack([np.ones(n), rev, ports, svc])
    m = int(np.floor(4 * (n / 100) ** (2 / 9)))
    print(f"\n# (b) OLS(y, X).fit(cov_type='HAC', maxlags={m}, use_correction=True), n = {n}")
    med, reps, r = bench(lambda: ols(y, X, cov_type="HAC", cov_kwds={"maxlags": m, "use_correction": True}))
    print(f"median {med * 1e3:.1f} ms over {reps}")
    show("params", r.params)
    show("bse", r.bse)
    print(f"  scale = {r.scale:.17g}")
    print(f"\n# (c) plain OLS(y, X).fit(), n = {n}")
    med, reps, r = bench(lambda: ols(y, X))
    print(f"median {med * 1e3:.1f} ms over {reps}")
    show("params", r.params)
    show("bse", r.bse)
    print(f"  scale = {r.scale:.17g}")


if __name__ == "__main__":
    main()
