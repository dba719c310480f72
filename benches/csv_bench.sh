#!/usr/bin/env bash
# The canonical series reader against pandas' read_csv on the same file: the 10^6-row CSV
# `meshcap import prometheus` writes from benches/import_gen.py's responses (time, ports,
# memory; the file `fit` reads). pandas: median of RUNS calls of read_csv(parse_dates=["time"])
# in one process (no interpreter start); meshcap: criterion `import/read_csv_1e6_rows`
# (Series::load: read, UTF-8 check, parse, validate). Needs python3 with pandas.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
cargo build --release -q
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
python3 benches/import_gen.py "$DIR"
target/release/meshcap import prometheus --memory-file "$DIR/mem.json" --ports-file "$DIR/ports.json" -o "$DIR/s.csv" >/dev/null
echo "file: $(wc -l <"$DIR/s.csv") lines, $(du -m "$DIR/s.csv" | cut -f1) MB"
python3 - "$DIR/s.csv" "$RUNS" <<'PY'
import sys, time
import pandas as pd
path, runs = sys.argv[1], int(sys.argv[2])
for label, kw in (("read_csv", {}), ("read_csv(parse_dates=[time])", {"parse_dates": ["time"]})):
    t = []
    for _ in range(runs):
        s = time.perf_counter(); df = pd.read_csv(path, comment="#", **kw); t.append(time.perf_counter() - s)
    t.sort()
    print("pandas %-30s median %.3f s (%d rows)" % (label, t[len(t) // 2], len(df)))
PY
cargo bench --bench import -- read_csv --warm-up-time 1 --measurement-time 5 2>&1 | grep -E "^import/|time:"
