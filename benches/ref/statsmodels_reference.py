"""Reference values from statsmodels for meshcap's tests.

Run once (python3 with statsmodels 0.15: `pip install statsmodels`); the numbers it prints are
written into tests/fit.rs and tests/project.rs with a comment naming this script. cargo test
never runs Python.
"""
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

np.set_printoptions(precision=17)

def show(name, v):
    print(f"{name} = {np.array2string(np.asarray(v), separator=', ', precision=17)}")

# 1. Synthetic mixed data: memory ~ 1 + revisions + ports
d = pd.read_csv("tests/fixtures/mixed.csv", comment="#")
X = sm.add_constant(d[["revisions", "ports"]])
r = sm.OLS(d["memory"], X).fit()
print("# mixed.csv: OLS memory ~ 1 + revisions + ports")
show("params", r.params.values)
show("bse", r.bse.values)
show("tvalues", r.tvalues.values)
show("pvalues", r.pvalues.values)
show("conf_int_low", r.conf_int(0.05)[0].values)
show("conf_int_high", r.conf_int(0.05)[1].values)
print("rsquared =", repr(r.rsquared), " rsquared_adj =", repr(r.rsquared_adj))
print("fvalue =", repr(r.fvalue), " f_pvalue =", repr(r.f_pvalue), " scale_sqrt =", repr(np.sqrt(r.scale)))
print("condition_number =", repr(r.condition_number))

# 2. Seed data (OOM row excluded): memory ~ 1 + revisions; predictions at 500 and 1300.
s = pd.read_csv("data/knative-1.11-istio-1.18.csv", comment="#")
s = s[s["event"].isna()]
mi = 1024.0 ** 2
mem = s["memory"].str.rstrip("Mi").astype(float) * mi
Xs = sm.add_constant(s[["revisions"]].astype(float))
rs = sm.OLS(mem.values, Xs.values).fit()
print("# seed: OLS memory ~ 1 + revisions")
show("params", rs.params)
show("bse", rs.bse)
for rev in (500.0, 1300.0):
    f = rs.get_prediction(np.array([[1.0, rev]])).summary_frame(alpha=0.05)
    print(f"# get_prediction at revisions={rev} (alpha 0.05)")
    for col in ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"]:
        print(f"  {col} = {f[col].iloc[0]!r}")
    se_obs = np.sqrt(f["mean_se"].iloc[0] ** 2 + rs.scale)
    limit = 1024.0 * mi
    p_exceed = stats.t.sf((limit - f["mean"].iloc[0]) / se_obs, rs.df_resid)
    print(f"  p_exceed_1Gi = {p_exceed!r}")
