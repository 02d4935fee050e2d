#!/usr/bin/env bash
# Dataset-builder benchmarks (release build). Prints min/median/max wall time and peak RSS.
# Usage: bash Benchmarks/build.sh [path/to/frappe.csv]   (default: ../shared/datasets/frappe/frappe.csv)
set -euo pipefail
cd "$(dirname "$0")/.."
# Installs nothing: it needs hyperfine and GNU time (e.g. `apt-get install hyperfine time`).
for tool in hyperfine /usr/bin/time; do
    command -v $tool >/dev/null || { echo "Benchmarks/build.sh needs $tool (see Benchmarks/README.md)" >&2; exit 1; }
done
if [ -z "${NFM:-}" ]; then nfm=$(bash scripts/build-release.sh); else nfm=$NFM; fi   # NFM=path/to/nfm benchmarks another build
frappe=${1:-../shared/datasets/frappe/frappe.csv}
work=${BENCH_DIR:-/tmp/nfm-bench}
mkdir -p "$work"

peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }

echo "## machine"; lscpu | grep -E "Model name|^CPU\(s\)"; free -g | sed -n 2p
echo "## real Frappe build (all cores, then --threads 1)"
hyperfine -N -w 2 -r 20 --export-json "$work/frappe.json" \
    "$nfm build pipelines/frappe.json --input $frappe --out $work/frappe --force --quiet" | grep -E "Time|Range"
hyperfine -N -w 2 -r 20 \
    "$nfm build pipelines/frappe.json --input $frappe --out $work/frappe1 --force --quiet --threads 1" | grep -E "Time|Range"
echo "peak RSS KiB: $(peak $nfm build pipelines/frappe.json --input $frappe --out $work/frappe --force --quiet)"

echo "## 3-million-row synthetic Frappe build (--threads 1 and 2), byte-identical"
[ -f "$work/frappe-3m.tsv" ] || $nfm synth frappe --rows 3000000 --out "$work/frappe-3m.tsv"
for threads in 1 2; do
    /usr/bin/time -f "threads $threads: %e s wall, %U s user, %M KiB peak RSS" \
        $nfm build pipelines/frappe.json --input "$work/frappe-3m.tsv" --out "$work/f3m-$threads" --force --quiet --threads $threads
done
for threads in 1 2; do (cd "$work/f3m-$threads" && find . -type f | sort | xargs sha256sum | sha256sum); done | uniq | wc -l \
    | grep -qx 1 && echo "threads 1 and 2: identical files" || echo "threads 1 and 2: OUTPUTS DIFFER"

echo "## MovieLens-sized synthetic build (668,953 tag rows)"
[ -f "$work/ml.csv" ] || $nfm synth movielens --rows 668953 --out "$work/ml.csv"
hyperfine -N -w 1 -r 10 --export-json "$work/ml.json" \
    "$nfm build pipelines/movielens.json --input $work/ml.csv --out $work/ml --force --quiet" | grep -E "Time|Range"
echo "peak RSS KiB: $(peak $nfm build pipelines/movielens.json --input $work/ml.csv --out $work/ml --force --quiet)"

echo "## 10-million-row synthetic Frappe build"
[ -f "$work/frappe-10m.tsv" ] || $nfm synth frappe --rows 10000000 --out "$work/frappe-10m.tsv"
for memory in 256 64; do
    /usr/bin/time -f "memory-mib $memory: %e s wall, %M KiB peak RSS" \
        $nfm build pipelines/frappe.json --input "$work/frappe-10m.tsv" --out "$work/f10m" --force --quiet --memory-mib $memory
done
python3 - "$work" <<'PY'
import json, statistics, sys
for name in ("frappe", "ml"):
    times = json.load(open(f"{sys.argv[1]}/{name}.json"))["results"][0]["times"]
    print(f"{name}: min {min(times)*1000:.1f} ms, median {statistics.median(times)*1000:.1f} ms, max {max(times)*1000:.1f} ms")
PY
