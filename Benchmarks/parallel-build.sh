#!/usr/bin/env bash
# The parallel builder against its peers, measured in one run: real Frappe, a 3,000,000-row and a
# 10,000,000-row synthetic Frappe log; nfm build --threads 1 and 2 vs the pandas and polars scripts of
# ../shared/peers (the same job: user rule, compressed output). Prints min/median/max wall seconds, peak RSS
# and each ratio "peer median / this median" in one table, plus the CPU model.
#
# Usage: PYTHON=/path/to/peers-venv/bin/python bash Benchmarks/parallel-build.sh [options]
#   --frappe-runs N   hyperfine runs of every real-Frappe command (default 20)
#   --runs N          runs of nfm on the 3 M-row log (default 5)
#   --peer-runs N     runs of polars and pandas on the 3 M-row log (default 2; 0 skips them)
#   --rows-3m N       rows of the "3 M" log (default 3000000; smaller for a quick check)
#   --rows-10m N      rows of the "10 M" log (default 10000000; 0 skips the 10 M build)
#   --no-pandas       leave pandas out of the 3 M and 10 M builds (the slowest peer)
# Environment: PYTHON (required: an interpreter with pandas, polars and numpy, e.g. the venv of
# ../shared/peers/setup_env.sh), NFM (a built nfm; default: bash scripts/build-release.sh), FRAPPE (default
# ../shared/datasets/frappe/frappe.csv), PEERS (default ../shared/peers), BENCH_DIR (work dir, default
# /tmp/nfm-parallel-bench; the synthetic logs are generated once and kept there).
set -euo pipefail
# Paths given relative to the caller's directory stay valid after the cd below.
for var in PYTHON NFM FRAPPE PEERS BENCH_DIR; do
    value=${!var:-}
    if [ -n "$value" ] && [ "${value#/}" = "$value" ] && [[ "$value" == */* ]]; then
        printf -v "$var" '%s' "$PWD/$value"
    fi
done
cd "$(dirname "$0")/.."

frappe_runs=20 runs=5 peer_runs=2 rows_3m=3000000 rows_10m=10000000 pandas=1
while [ $# -gt 0 ]; do
    case "$1" in
        --frappe-runs) frappe_runs=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --peer-runs) peer_runs=$2; shift 2 ;;
        --rows-3m) rows_3m=$2; shift 2 ;;
        --rows-10m) rows_10m=$2; shift 2 ;;
        --no-pandas) pandas=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "parallel-build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "${PYTHON:-}" ]; then
    echo "parallel-build.sh: set PYTHON to an interpreter with pandas and polars" \
         "(e.g. bash ../shared/peers/setup_env.sh .venv-peers; PYTHON=.venv-peers/bin/python)" >&2
    exit 2
fi
"$PYTHON" -c "import pandas, polars, numpy" 2>/dev/null || {
    echo "parallel-build.sh: $PYTHON cannot import pandas, polars and numpy" >&2; exit 2; }
for tool in hyperfine /usr/bin/time lscpu; do
    command -v "$tool" >/dev/null || { echo "parallel-build.sh needs $tool (apt-get install hyperfine time)" >&2; exit 2; }
done
peers=${PEERS:-../shared/peers}
frappe=${FRAPPE:-../shared/datasets/frappe/frappe.csv}
for file in "$peers/frappe_pandas.py" "$peers/frappe_polars.py" "$frappe"; do
    [ -f "$file" ] || { echo "parallel-build.sh: $file not found (set PEERS / FRAPPE)" >&2; exit 2; }
done
peers=$(cd "$peers" && pwd)
if [ -z "${NFM:-}" ]; then nfm=$(bash scripts/build-release.sh); else nfm=$NFM; fi
work=${BENCH_DIR:-/tmp/nfm-parallel-bench}
mkdir -p "$work/rss"
rm -f "$work"/rss/* "$work"/*.json

synth() {   # synth ROWS FILE: generated once, reused by later runs
    [ -f "$2" ] || "$nfm" synth frappe --rows "$1" --out "$2"
}
# measure NAME RUNS COMMAND…: hyperfine (no shell), each run under /usr/bin/time appending its peak RSS (KiB)
measure() {
    local name=$1 count=$2; shift 2
    [ "$count" -gt 0 ] || { echo "  $name: skipped (0 runs)"; return 0; }
    local warmup=1; [ "$count" -le 2 ] && warmup=0
    hyperfine -N -w "$warmup" -r "$count" --export-json "$work/$name.json" \
        "/usr/bin/time -f %M -a -o $work/rss/$name $*" >/dev/null
    echo "  $name: done ($count runs)"
}
nfm_build() {   # nfm_build INPUT OUT THREADS
    echo "$nfm build pipelines/frappe.json --input $1 --out $2 --force --quiet --threads $3"
}
pandas_build() { echo "$PYTHON $peers/frappe_pandas.py --input $1 --out $2 --neg-rule user --no-libfm"; }
polars_build() { echo "$PYTHON $peers/frappe_polars.py --input $1 --out $2"; }

echo "## machine"
lscpu | grep -E "^Model name|^CPU\(s\)"
echo "nfm: $nfm ($("$nfm" --version))"

echo "## real Frappe ($frappe), $frappe_runs runs each"
measure frappe.nfm-t1 "$frappe_runs" $(nfm_build "$frappe" "$work/out/frappe-nfm" 1)
measure frappe.nfm-t2 "$frappe_runs" $(nfm_build "$frappe" "$work/out/frappe-nfm" 2)
measure frappe.polars "$frappe_runs" $(polars_build "$frappe" "$work/out/frappe-polars")
measure frappe.pandas "$frappe_runs" $(pandas_build "$frappe" "$work/out/frappe-pandas")

log3="$work/frappe-$rows_3m.tsv"
synth "$rows_3m" "$log3"
echo "## $rows_3m-row synthetic Frappe ($(du -h "$log3" | cut -f1)): nfm $runs runs, peers $peer_runs"
measure 3m.nfm-t1 "$runs" $(nfm_build "$log3" "$work/out/3m-nfm" 1)
measure 3m.nfm-t2 "$runs" $(nfm_build "$log3" "$work/out/3m-nfm" 2)
measure 3m.polars "$peer_runs" $(polars_build "$log3" "$work/out/3m-polars")
[ "$pandas" = 1 ] && measure 3m.pandas "$peer_runs" $(pandas_build "$log3" "$work/out/3m-pandas")

if [ "$rows_10m" != 0 ]; then
    log10="$work/frappe-$rows_10m.tsv"
    synth "$rows_10m" "$log10"
    echo "## $rows_10m-row synthetic Frappe ($(du -h "$log10" | cut -f1)): one run each"
    measure 10m.nfm-t1 1 $(nfm_build "$log10" "$work/out/10m-nfm" 1)
    measure 10m.nfm-t2 1 $(nfm_build "$log10" "$work/out/10m-nfm" 2)
    measure 10m.polars 1 $(polars_build "$log10" "$work/out/10m-polars")
fi
rm -rf "$work/out"

python3 - "$work" <<'PY'
import glob, json, os, statistics, sys
work = sys.argv[1]
rows = {}
order = {"frappe": 0, "3m": 1, "10m": 2}
for path in sorted(glob.glob(os.path.join(work, "*.json")), key=lambda p: (order[os.path.basename(p).split(".")[0]], p)):
    name = os.path.basename(path)[:-5]
    times = json.load(open(path))["results"][0]["times"]
    rss = [int(line) for line in open(os.path.join(work, "rss", name)) if line.strip().isdigit()]
    rows[name] = (min(times), statistics.median(times), max(times), max(rss) / 1024 if rss else float("nan"), len(times))
print("\n## results (wall seconds; peak RSS of the whole process; ratio = peer median / this median)")
print(f"{'build':<16} {'runs':>4} {'min':>8} {'median':>8} {'max':>8} {'RSS MiB':>8} {'vs pandas':>9} {'vs polars':>9}")
for name, (lo, mid, hi, rss, n) in rows.items():
    group = name.split(".")[0]
    ratios = []
    for peer in ("pandas", "polars"):
        other = rows.get(f"{group}.{peer}")
        ratios.append(f"{other[1] / mid:>8.2f}x" if other and not name.endswith(peer) else f"{'':>9}")
    print(f"{name:<16} {n:>4} {lo:>8.3f} {mid:>8.3f} {hi:>8.3f} {rss:>8.0f} {ratios[0]} {ratios[1]}")
PY
