#!/usr/bin/env bash
# Fit speed side by side: criterion bench of meshcap's fit (10^6 x 3) and statsmodels OLS on the
# same data (benches/fit_statsmodels.py). Needs python3 with statsmodels for the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench fit -- --warm-up-time 1 --measurement-time 5 2>&1 | grep -E "params|bse|method|time:"
if python3 -c "import statsmodels" 2>/dev/null; then
  python3 benches/fit_statsmodels.py
else
  echo "statsmodels not installed: pip install statsmodels for the baseline"
fi
