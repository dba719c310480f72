#!/usr/bin/env bash
# Import speed side by side: meshcap import prometheus against json + pandas
# (benches/import_pandas.py) on the same saved query_range responses (benches/import_gen.py):
#   1 series x 10^6 samples of memory + 10^6 of ports -> a 10^6-row canonical CSV
#   100 series x 10^4 samples, --aggregate max         -> a 10^4-row CSV
# Both outputs are checked to be byte-identical (comment lines aside). Medians of RUNS runs
# (default 7 for meshcap, 3 for pandas). Needs python3 with pandas (pip install pandas).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
PANDAS_RUNS=${PANDAS_RUNS:-3}
cargo build --release -q
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
python3 benches/import_gen.py "$DIR"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wall() { # command... -> seconds
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
for case in one hundred; do
  if [ $case = one ]; then
    M="$DIR/mem.json"; P="$DIR/ports.json"; AGG=(); PAGG=()
  else
    M="$DIR/mem100.json"; P="$DIR/ports100.json"; AGG=(--aggregate max); PAGG=(--aggregate-max)
  fi
  m=$(for i in $(seq "$RUNS"); do wall target/release/meshcap import prometheus --memory-file "$M" --ports-file "$P" "${AGG[@]}" -o "$DIR/m.csv"; done | median)
  if python3 -c "import pandas" 2>/dev/null; then
    p=$(for i in $(seq "$PANDAS_RUNS"); do wall python3 benches/import_pandas.py "$M" "$P" "$DIR/p.csv" "${PAGG[@]}"; done | median)
    cmp <(grep -v '^#' "$DIR/m.csv") "$DIR/p.csv" && same="identical" || same="DIFFERENT"
    printf '%-8s meshcap %.3f s   pandas %.3f s   ratio %.1fx   outputs %s\n' "$case" "$m" "$p" "$(echo "$p / $m" | bc -l)" "$same"
  else
    printf '%-8s meshcap %.3f s   (pandas not installed: pip install pandas)\n' "$case" "$m"
  fi
done
cargo bench --bench import -- --warm-up-time 1 --measurement-time 5 2>&1 | grep -E "^import/|time:"
