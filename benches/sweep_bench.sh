#!/usr/bin/env bash
# Analytic sweep side by side: `meshcap sweep SPEC --summary` at 1 and 2 threads (median of
# RUNS runs each, default 7; peak RSS from /usr/bin/time -v) against the numpy implementation
# of the same evaluation (benches/sweep_numpy.py, one run; its summary is checked against
# meshcap's, number by number).
#
#   benches/sweep_bench.sh                         # the 2 x 10^8 benchmark grid
#   RUNS=9 benches/sweep_bench.sh data/scenarios/gc-policies.toml
#   NUMPY_IDS=0:20000000 benches/sweep_bench.sh    # time numpy on a slice, extrapolate linearly
#   NUMPY_LAZY=1 ...                               # also time numpy with meshcap's days shortcut
#   NUMPY=0 MESHCAP=/tmp/old-meshcap ...           # another binary, no numpy (before/after)
#
# On a shared machine it waits (up to WAIT seconds) for other rustc/cargo processes to finish
# before each timed run. Needs python3 with numpy (scipy optional) and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEC=${1:-benches/specs/sweep-1e8.toml}
RUNS=${RUNS:-7}
WAIT=${WAIT:-600}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ -n "${MESHCAP:-}" ]; then
  BIN=$MESHCAP
else
  cargo build --release --quiet
  BIN=target/release/meshcap
fi

quiet_machine() {
  local waited=0
  while pgrep -x rustc >/dev/null || pgrep -x cargo >/dev/null; do
    if [ "$waited" -ge "$WAIT" ]; then
      echo "warning: other builds still running after ${WAIT}s; timing anyway" >&2
      return
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

calc() { awk "BEGIN {print $*}"; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

size=$($BIN sweep "$SPEC" --summary -q --shard 0/1000000000 | python3 -c 'import json, sys; print(json.load(sys.stdin)["grid_size"])')
echo "grid: $SPEC, $size scenarios; meshcap median of $RUNS runs per thread count"

declare -A WALL RSS
for threads in 1 2; do
  : >"$OUT/walls"
  : >"$OUT/rss"
  for _ in $(seq "$RUNS"); do
    quiet_machine
    # Wall time to the microsecond (GNU time's is to 10 ms); GNU time for the peak RSS.
    start=$EPOCHREALTIME
    RAYON_NUM_THREADS=$threads /usr/bin/time -v -o "$OUT/time" \
      "$BIN" sweep "$SPEC" --summary -q -o "$OUT/summary-$threads.json"
    calc "$EPOCHREALTIME - $start" >>"$OUT/walls"
    awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time" >>"$OUT/rss"
  done
  WALL[$threads]=$(median <"$OUT/walls")
  RSS[$threads]=$(sort -g "$OUT/rss" | tail -1)
  printf "meshcap %d thread(s): median %.3f s  (runs: %s)  %.3g scenarios/s  peak RSS %.1f MiB\n" \
    "$threads" "${WALL[$threads]}" "$(xargs printf '%.3f ' <"$OUT/walls")" \
    "$(calc "$size / ${WALL[$threads]}")" "$(calc "${RSS[$threads]} / 1024")"
done
if cmp -s "$OUT/summary-1.json" "$OUT/summary-2.json"; then
  echo "summaries at 1 and 2 threads: byte-identical"
else
  echo "summaries at 1 and 2 threads DIFFER" && exit 1
fi
printf "2 threads vs 1: %.2fx\n" "$(calc "${WALL[1]} / ${WALL[2]}")"

numpy_run() { # extra args...; prints seconds for the whole grid
  local ids=${NUMPY_IDS:-0:$size} check=()
  # The whole grid is checked against meshcap's summary; a slice has nothing to check against.
  [ -z "${NUMPY_IDS:-}" ] && check=(--check "$OUT/summary-2.json")
  quiet_machine
  python3 benches/sweep_numpy.py "$SPEC" --ids "$ids" "${check[@]}" "$@" | tee "$OUT/numpy" >&2
  local secs n
  secs=$(sed -n 's/.* in \([0-9.]*\) s = .*/\1/p' "$OUT/numpy")
  n=$((${ids#*:} - ${ids%%:*}))
  calc "$secs * $size / $n"
}

[ "${NUMPY:-1}" = 0 ] && exit 0
numpy=$(numpy_run)
note=""
[ -n "${NUMPY_IDS:-}" ] && note=" (ids ${NUMPY_IDS} timed, extrapolated linearly to $size)"
printf "numpy (1 thread): %.2f s%s = %.3g scenarios/s\n" "$numpy" "$note" "$(calc "$size / $numpy")"
printf "meshcap vs numpy: %.0fx at 2 threads, %.0fx at 1 thread\n" \
  "$(calc "$numpy / ${WALL[2]}")" "$(calc "$numpy / ${WALL[1]}")"
if [ -n "${NUMPY_LAZY:-}" ]; then
  lazy=$(numpy_run --lazy-days)
  printf "numpy --lazy-days (1 thread): %.2f s = %.3g scenarios/s; meshcap vs it: %.0fx at 2 threads\n" \
    "$lazy" "$(calc "$size / $lazy")" "$(calc "$lazy / ${WALL[2]}")"
fi
