"""The statsmodels equivalent of `meshcap whatif --revisions 1000 --limit 1Gi` on the seed data.

Fits OLS on data/knative-1.11-istio-1.18.csv (OOM row dropped), predicts at 1000 revisions with
confidence and prediction intervals, and the Student t probability of exceeding 1Gi.
"""
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

s = pd.read_csv("data/knative-1.11-istio-1.18.csv", comment="#")
s = s[s["event"].isna()]
mem = s["memory"].str.rstrip("Mi").astype(float) * 1024.0**2
r = sm.OLS(mem.values, sm.add_constant(s[["revisions"]].astype(float)).values).fit()
f = r.get_prediction(np.array([[1.0, 1000.0]])).summary_frame(alpha=0.05)
se_obs = np.sqrt(f["mean_se"].iloc[0] ** 2 + r.scale)
p = stats.t.sf((1024.0**3 - f["mean"].iloc[0]) / se_obs, r.df_resid)
print(f["mean"].iloc[0], f["obs_ci_lower"].iloc[0], f["obs_ci_upper"].iloc[0], p)
