"""Baseline of the whole-process fit benchmark: what a Python user runs for the same answer.

python3 benches/fit1e6_pandas.py FILE.csv   (the file from benches/fit1e6_gen.py)
Reads the CSV with pandas, fits OLS with statsmodels' formula API and prints the summary
(coefficients, standard errors, intervals, R^2, F): the work `meshcap fit FILE --x ...` does.
"""
import sys
import pandas as pd
import statsmodels.formula.api as smf

df = pd.read_csv(sys.argv[1])
r = smf.ols("memory ~ revisions + ports + services", data=df).fit()
print(r.summary())
