#!/usr/bin/env bash
# Fleet scale side by side: saved-response import (--by namespace,pod) + pooled fit + ranking
# (meshcap import prometheus ... --by, then meshcap fleet; and meshcap fleet --memory-file ...
# importing in the same process) against json + pandas + statsmodels
# MixedLM doing the same (benches/fleet_statsmodels.py), on the responses benches/fleet_gen.py
# writes: PROXIES x 2016 samples (7 days at 5 m) per column, memory per container with restarts.
# Wall time and peak RSS (GNU time) per command; the baseline runs while it finishes within
# BASELINE_CAP seconds. SLOPE_SD=0.1 gives each proxy its own slope (sd 10%: the pooled fit then
# chooses random slopes). Usage: benches/fleet_bench.sh [SIZES...] (default 100 1000 3000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${*:-100 1000 3000 10000}
BASELINE_CAP=${BASELINE_CAP:-60}
cargo build --release -q
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
run() { # label command... -> "label seconds MB"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" >/dev/null 2>"$DIR/err" || { cat "$DIR/err"; return 1; }
  read -r s kb <"$DIR/time"
  printf '%s %s %d\n' "$label" "$s" "$((kb / 1024))"
}
baseline=1
for n in $SIZES; do
  rm -rf "$DIR/in"; python3 benches/fleet_gen.py "$DIR/in" "$n" 2016 "${SLOPE_SD:-0}"
  size=$(du -sm "$DIR/in" | cut -f1)
  echo "== $n proxies x 2016 samples ($((n * 2016)) per column, ${size} MB of JSON)"
  run "  meshcap import --by" target/release/meshcap import prometheus --memory-file "$DIR/in/mem.json" \
    --ports-file "$DIR/in/ports.json" --limit-file "$DIR/in/limit.json" --by namespace,pod -o "$DIR/f.csv"
  run "  meshcap fleet      " target/release/meshcap fleet "$DIR/f.csv" --format csv -o "$DIR/rank.csv"
  run "  meshcap fleet --memory-file (one process)" target/release/meshcap fleet --memory-file "$DIR/in/mem.json" \
    --ports-file "$DIR/in/ports.json" --limit-file "$DIR/in/limit.json" --format csv -o "$DIR/rank1.csv"
  cmp -s "$DIR/rank.csv" "$DIR/rank1.csv" || echo "  the two paths rank differently"
  if [ $baseline = 1 ] && python3 -c "import pandas, statsmodels" 2>/dev/null; then
    if out=$(timeout "$BASELINE_CAP" /usr/bin/time -f "%e %M" -o "$DIR/time" python3 benches/fleet_statsmodels.py "$DIR/in"); then
      read -r s kb <"$DIR/time"
      echo "  pandas+statsmodels  $s $((kb / 1024))   ($(echo "$out" | head -1))"
    else
      echo "  pandas+statsmodels  did not finish in ${BASELINE_CAP} s"; baseline=0
    fi
  fi
  rm -f "$DIR/f.csv"
done
