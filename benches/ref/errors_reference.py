"""Reference values from statsmodels for meshcap's error models (mixed models, HAC, cluster, lack of fit).

Run once (python3 with statsmodels 0.15, numpy, pandas, scipy) from the repository root:

    python3 benches/ref/errors_reference.py

It (a) writes the seeded, deterministic fixtures tests/fixtures/levels.csv, fleet-groups.csv and
fleet-nested.csv, and (b) prints reference values (17 significant digits) that are written into the
Rust tests with a comment naming this script. cargo test never runs Python.
"""
import warnings

import numpy as np
import pandas as pd
import scipy.optimize
import statsmodels
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

KI, MI = 1024.0, 1024.0**2
rng = np.random.default_rng(20240611)


def g(x):
    return f"{float(x):.17g}"


def show(name, v):
    print(f"{name} = [{', '.join(g(x) for x in np.ravel(np.asarray(v, dtype=float)))}]")


def write(path, comment, df):
    with open(path, "w") as f:
        f.write(f"# {comment}\n")
        df.to_csv(f, index=False)


# ---------------------------------------------------------------- fixtures
# 1. levels.csv: 8 configuration levels, unbalanced replication, level effect + iid noise.
rev = np.array([0, 120, 310, 480, 700, 910, 1180, 1500])
ports = 8 * rev + rng.integers(0, 3000, 8)  # plain-Service ports vary independently of revisions
sizes = rng.choice(np.arange(4, 31), 8, replace=False)
u = rng.normal(0, 6 * MI, 8)
rows = []
for r_, p_, n_, u_ in zip(rev, ports, sizes, u):
    mem = 50 * MI + 700 * KI * r_ + 10 * KI * p_ + u_ + rng.normal(0, 1.5 * MI, n_)
    rows += [(r_, p_, int(round(m_))) for m_ in mem]
write("tests/fixtures/levels.csv",
      "Synthetic: 8 (revisions, ports) levels, 4-30 readings each; memory = 50Mi + 700Ki*revisions + "
      "10Ki*ports + level effect (sd 6Mi) + noise (sd 1.5Mi). benches/ref/errors_reference.py",
      pd.DataFrame(rows, columns=["revisions", "ports", "memory"]))

# 2. fleet-groups.csv: 12 proxies, one reading at each of 5-9 distinct revision counts per proxy.
rows = []
for i in range(12):
    k = rng.integers(5, 10)
    revs = np.sort(rng.choice(np.arange(0, 1501, 5), k, replace=False))
    b = rng.normal(0, 8 * MI)
    mem = 55 * MI + 750 * KI * revs + b + rng.normal(0, 2 * MI, k)
    rows += [(f"shop/cart-{i + 1:05d}", r_, int(round(m_))) for r_, m_ in zip(revs, mem)]
write("tests/fixtures/fleet-groups.csv",
      "Synthetic: 12 proxies x 5-9 revision counts; memory = 55Mi + 750Ki*revisions + proxy effect "
      "(sd 8Mi) + noise (sd 2Mi). benches/ref/errors_reference.py",
      pd.DataFrame(rows, columns=["proxy", "revisions", "memory"]))

# 3. fleet-nested.csv: 6 proxies x 3-5 revision levels x 3-10 replicates; proxy and level effects.
rows = []
for i in range(6):
    k = rng.integers(3, 6)
    revs = np.sort(rng.choice(np.arange(0, 1501, 25), k, replace=False))
    b = rng.normal(0, 8 * MI)
    for r_ in revs:
        c = rng.normal(0, 4 * MI)
        n_ = rng.integers(3, 11)
        mem = 55 * MI + 750 * KI * r_ + b + c + rng.normal(0, 1 * MI, n_)
        rows += [(f"mesh/gateway-{i + 1:05d}", r_, int(round(m_))) for m_ in mem]
write("tests/fixtures/fleet-nested.csv",
      "Synthetic: 6 proxies x 3-5 revision levels x 3-10 readings; memory = 55Mi + 750Ki*revisions + "
      "proxy effect (sd 8Mi) + level effect (sd 4Mi) + noise (sd 1Mi). benches/ref/errors_reference.py",
      pd.DataFrame(rows, columns=["proxy", "revisions", "memory"]))


# ---------------------------------------------------------------- tight REML fits
def fit_all(model):
    """Fit with several optimizers, then polish by solving score == 0 from the best one.

    MixedLM.fit in statsmodels 0.15 only forwards gtol, maxiter, eps, maxcor, ftol, tol, disp,
    maxls; lbfgs accepts none of the tolerance ones (pgtol/factr get dropped), nm/powell get only
    ftol (xtol dropped), bfgs gets gtol. Hence the polish step.
    """
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs["lbfgs"] = model.fit(reml=True, method=["lbfgs"], maxiter=10000)
        runs["bfgs"] = model.fit(reml=True, method=["bfgs"], gtol=1e-12, maxiter=10000)
        nm = model.fit(reml=True, method=["nm"], ftol=1e-15, maxiter=20000)
        runs["nm+lbfgs"] = model.fit(reml=True, method=["lbfgs"], maxiter=10000,
                                     start_params=packed(model, nm))
        runs["powell"] = model.fit(reml=True, method=["powell"], ftol=1e-15, maxiter=10000)
        best = max(runs.values(), key=lambda r: r.llf)
        root = scipy.optimize.root(lambda p: model.score(p), packed(model, best), tol=1e-15)
        runs["polished"] = model.fit(reml=True, method=["bfgs"], gtol=1e-12, start_params=root.x)
    return runs


def packed(model, res):
    return res.params_object.get_packed(use_sqrt=model.use_sqrt, has_fe=False)


def spread(model, runs):
    # Reference = the polished fit: |score| ~1e-14, and its llf ties the highest llf to ~1e-13
    # (float noise; the llf surface is flat at the optimum, so llf alone cannot rank the runs).
    b = runs["polished"]
    print(f"# convergence spread vs polished (max llf over runs = {g(max(r.llf for r in runs.values()))});"
          " rel = max |x - ref| / |ref|")
    for k, r in runs.items():
        rel = lambda a, c: np.max(np.abs(np.asarray(a) - np.asarray(c)) / np.abs(np.asarray(c)))
        print(f"  {k:9s} llf-ref={r.llf - b.llf: .3e} |score|={np.max(np.abs(model.score(packed(model, r)))):.2e}"
              f" fe={rel(r.fe_params, b.fe_params):.2e} bse_fe={rel(r.bse_fe, b.bse_fe):.2e}"
              f" scale={rel(r.scale, b.scale):.2e} cov_re={rel(np.diag(r.cov_re), np.diag(b.cov_re)):.2e}"
              + (f" vcomp={rel(r.vcomp, b.vcomp):.2e}" if len(b.vcomp) else ""))
    return b


def show_mixed(r):
    show("fe_params", r.fe_params)
    show("bse_fe", r.bse_fe)
    print("scale =", g(r.scale))
    print("cov_re =", g(r.cov_re.iloc[0, 0] if hasattr(r.cov_re, "iloc") else r.cov_re[0, 0]))
    if len(r.vcomp):
        show("vcomp", r.vcomp)
    print("llf =", g(r.llf))


def show_gls_by_hand(r, X, y, Zs):
    """Plain GLS at statsmodels' own variance components, V = scale*I + sum_j var_j Z_j Z_j' (absolute
    units; Zs = [(var_j, indicator matrix Z_j)]): beta = inv(X'V^-1X) X'V^-1y, se = sqrt(diag(inv(X'V^-1X)))."""
    V = r.scale * np.eye(len(y)) + sum(v * Z @ Z.T for v, Z in Zs)
    XtViX = X.T @ np.linalg.solve(V, X)
    beta_gls = np.linalg.solve(XtViX, X.T @ np.linalg.solve(V, y))
    se_gls = np.sqrt(np.diag(np.linalg.inv(XtViX)))
    show("beta_gls_by_hand", beta_gls)
    show("se_gls_by_hand", se_gls)
    show("bse_fe / se_gls - 1", r.bse_fe.values / se_gls - 1)


def indicators(codes):
    """n x K 0/1 matrix of a grouping column (one column per distinct value)."""
    _, inv = np.unique(np.asarray(codes), return_inverse=True)
    return (inv[:, None] == np.arange(inv.max() + 1)[None, :]).astype(float)


print(f"# statsmodels {statsmodels.__version__}, numpy {np.__version__}, pandas {pd.__version__}")

# ---------------------------------------------------------------- A. levels.csv MixedLM
d = pd.read_csv("tests/fixtures/levels.csv", comment="#")
d["level"] = d.groupby(["revisions", "ports"], sort=False).ngroup()
n = len(d)
print(f"\n# A. levels.csv (n = {n}, levels = {d['level'].nunique()}): MixedLM REML memory ~ revisions + ports, groups = level")
ma = smf.mixedlm("memory ~ revisions + ports", d, groups=d["level"])
ra = spread(ma, fit_all(ma))
show_mixed(ra)
# Hand GLS: V = scale*I + cov_re*Z Z' (absolute units), cov(beta) = inv(X' V^-1 X).
X = ma.exog
Z = (d["level"].values[:, None] == np.arange(8)[None, :]).astype(float)
V = ra.scale * np.eye(n) + float(np.asarray(ra.cov_re)[0, 0]) * Z @ Z.T
XtViX = X.T @ np.linalg.solve(V, X)
beta_gls = np.linalg.solve(XtViX, X.T @ np.linalg.solve(V, d["memory"].values))
se_gls = np.sqrt(np.diag(np.linalg.inv(XtViX)))
show("beta_gls_by_hand", beta_gls)
show("se_gls_by_hand", se_gls)
show("bse_fe / se_gls - 1", ra.bse_fe.values / se_gls - 1)
# statsmodels' bse_fe = sqrt(diag(inv(-H)))[:p], H = observed Hessian of the scale-profiled REML
# llf l(beta, g) = -1/2 [(n-p) log q + log|Vg| + log|X'Vg^-1 X|], Vg = I + g Z Z', g = cov_re/scale,
# q = r'Vg^-1 r, at the REML optimum. Its beta block is exactly -X'V^-1X (plain GLS), but the
# beta-g cross terms are nonzero in a finite sample, so bse_fe is not the plain GLS SE. By hand:
hess, _ = ma.hessian(ra.params_object)
gam, A, p = float(np.asarray(ra.cov_re_unscaled)[0, 0]), Z @ Z.T, X.shape[1]
Vi = np.linalg.inv(np.eye(n) + gam * A)
res = d["memory"].values - X @ ra.fe_params.values
q, M = res @ Vi @ res, X.T @ Vi @ X
Mi, M1, M2 = np.linalg.inv(M), -X.T @ Vi @ A @ Vi @ X, 2 * X.T @ Vi @ A @ Vi @ A @ Vi @ X
s1, s2 = res @ Vi @ A @ Vi @ res, res @ Vi @ A @ Vi @ A @ Vi @ res
H = np.zeros((p + 1, p + 1))
H[:p, :p] = -(n - p) * M / q
H[p, :p] = H[:p, p] = -(n - p) * X.T @ Vi @ A @ Vi @ res / q
H[p, p] = -0.5 * ((n - p) * (2 * s2 / q - s1**2 / q**2) - np.trace(Vi @ A @ Vi @ A)
                  - np.trace(Mi @ M1 @ Mi @ M1) + np.trace(Mi @ M2))
show("hess_statsmodels_cross_and_gg", hess[p, :])
show("hess_by_hand_cross_and_gg", H[p, :])
show("bse_full_hessian_by_hand", np.sqrt(np.diag(np.linalg.inv(-H)))[:p])
show("bse_full_hessian_by_hand / bse_fe - 1", np.sqrt(np.diag(np.linalg.inv(-H)))[:p] / ra.bse_fe.values - 1)

# ---------------------------------------------------------------- B. HAC
m = int(np.floor(4 * (n / 100) ** (2 / 9)))
print(f"\n# B. levels.csv OLS memory ~ 1 + revisions + ports, HAC (Bartlett), use_correction=True, n = {n}, maxlags m = {m}")
ols = smf.ols("memory ~ revisions + ports", d)
rh = ols.fit(cov_type="HAC", cov_kwds={"maxlags": m, "use_correction": True})
show("params", rh.params)
show("bse", rh.bse)
rk = ols.fit(cov_type="HAC", cov_kwds={"maxlags": m, "use_correction": True, "kernel": "bartlett"})
show("bse_kernel_bartlett_explicit", rk.bse)
print("explicit bartlett identical:", bool(np.array_equal(rh.bse.values, rk.bse.values)))
show("bse_plain_ols (for comparison)", ols.fit().bse)

# ---------------------------------------------------------------- C. cluster
print("\n# C. levels.csv OLS, cov_type=cluster by level, use_correction=True, use_t=True")
rc = ols.fit(cov_type="cluster", cov_kwds={"groups": d["level"].values, "use_correction": True}, use_t=True)
show("params", rc.params)
show("bse", rc.bse)
print("df_resid_inference =", getattr(rc, "df_resid_inference", None), " df_resid =", rc.df_resid)
ci = rc.conf_int(0.05)
show("conf_int_low", ci[0])
show("conf_int_high", ci[1])
show("tvalues", rc.tvalues)
show("pvalues", rc.pvalues)

# ---------------------------------------------------------------- D. lack of fit
print("\n# D. levels.csv lack-of-fit: anova_lm(OLS linear, OLS memory ~ C(level))")
sat = smf.ols("memory ~ C(level)", d).fit()
lin = ols.fit()
t = anova_lm(lin, sat)
print("F =", g(t["F"].iloc[1]), " df_num =", g(t["df_diff"].iloc[1]), " df_den =", g(t["df_resid"].iloc[1]),
      " p =", g(t["Pr(>F)"].iloc[1]))
print("pure_error_SS =", g(t["ssr"].iloc[1]), " lack_of_fit_SS =", g(t["ss_diff"].iloc[1]),
      " linear_SSE =", g(t["ssr"].iloc[0]))

# ---------------------------------------------------------------- E. fleet-groups.csv
fg = pd.read_csv("tests/fixtures/fleet-groups.csv", comment="#")
print(f"\n# E. fleet-groups.csv (n = {len(fg)}, proxies = {fg['proxy'].nunique()}): MixedLM REML memory ~ revisions, groups = proxy")
me = smf.mixedlm("memory ~ revisions", fg, groups=fg["proxy"])
re_ = spread(me, fit_all(me))
show_mixed(re_)
show_gls_by_hand(re_, me.exog, fg["memory"].values.astype(float),
                 [(float(np.asarray(re_.cov_re)[0, 0]), indicators(fg["proxy"]))])
print("# random effects (BLUP of proxy intercept) and conditional variance")
for k in sorted(re_.random_effects):
    print(f"  {k}: blup = {g(re_.random_effects[k].iloc[0])}  cond_var = {g(np.asarray(re_.random_effects_cov[k])[0, 0])}")

# ---------------------------------------------------------------- F. fleet-nested.csv
fn = pd.read_csv("tests/fixtures/fleet-nested.csv", comment="#")
fn["level"] = fn["proxy"] + "@" + fn["revisions"].astype(str)
print(f"\n# F. fleet-nested.csv (n = {len(fn)}, proxies = {fn['proxy'].nunique()}, levels = {fn['level'].nunique()}): "
      "MixedLM REML memory ~ revisions, groups = proxy, re_formula=1, vc_formula level = 0 + C(level)")
mf = smf.mixedlm("memory ~ revisions", fn, groups=fn["proxy"], re_formula="1",
                 vc_formula={"level": "0 + C(level)"})
rf = spread(mf, fit_all(mf))
show_mixed(rf)
show_gls_by_hand(rf, mf.exog, fn["memory"].values.astype(float),
                 [(float(np.asarray(rf.cov_re)[0, 0]), indicators(fn["proxy"])),
                  (float(rf.vcomp[0]), indicators(fn["level"]))])

# Sanity: truths in MiB / KiB units.
print("\n# sanity (truth in brackets)")
print(f"  A: intercept {ra.fe_params.iloc[0] / MI:.2f}Mi [50], revisions {ra.fe_params.iloc[1] / KI:.1f}Ki [700], "
      f"ports {ra.fe_params.iloc[2] / KI:.1f}Ki [10], sd_between {np.sqrt(np.asarray(ra.cov_re)[0, 0]) / MI:.2f}Mi [6], "
      f"sd_within {np.sqrt(ra.scale) / MI:.2f}Mi [1.5]")
print(f"  E: intercept {re_.fe_params.iloc[0] / MI:.2f}Mi [55], revisions {re_.fe_params.iloc[1] / KI:.1f}Ki [750], "
      f"sd_proxy {np.sqrt(np.asarray(re_.cov_re)[0, 0]) / MI:.2f}Mi [8], sd_noise {np.sqrt(re_.scale) / MI:.2f}Mi [2]")
print(f"  F: intercept {rf.fe_params.iloc[0] / MI:.2f}Mi [55], revisions {rf.fe_params.iloc[1] / KI:.1f}Ki [750], "
      f"sd_proxy {np.sqrt(np.asarray(rf.cov_re)[0, 0]) / MI:.2f}Mi [8], sd_level {np.sqrt(rf.vcomp[0]) / MI:.2f}Mi [4], "
      f"sd_noise {np.sqrt(rf.scale) / MI:.2f}Mi [1]")
