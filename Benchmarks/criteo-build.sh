#!/usr/bin/env bash
# Criteo-shaped dataset builds, side by side in one run: `nfm build pipelines/criteo.json` against the polars and
# pandas peers doing the same job (Benchmarks/peers/criteo_*.py), on `nfm synth criteo --rows N`.
# Prints the machine, the input, then a markdown table: wall time and peak RSS (min / median / max of --runs runs,
# GNU time) and output size per tool. Benchmarks are not tests: nothing is asserted.
#
# Usage (from anywhere): bash Benchmarks/criteo-build.sh [--rows N] [--runs R] [--seed S] [--tools nfm,polars,pandas]
#                        [--keep] [--check]
#   --rows 10000000 (default; about 2.6 GB of CSV)   --runs 3   --seed 1 (of the synthetic log; peers use 2017)
#   --keep            leave the generated log and outputs in the work directory (default: delete them at the end)
#   --check           also check that nfm wrote the polars peer's rows (export-libfm, then criteo_compare.py; slow)
# Environment: NFM=path/to/nfm (default: bash scripts/build-release.sh), PYTHON=python with pandas/polars/numpy
# (default: .venv-peers/bin/python here or beside the repository; create it with ../shared/peers/setup_env.sh),
# BENCH_DIR (default /tmp/nfm-criteo-bench; never inside the repository).
# The log is generated once and read from the page cache by every run (warm cache for every tool).
# The nfm row is skipped when pipelines/criteo.json is absent, and marked failed when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=10000000 runs=3 seed=1 tools=nfm,polars,pandas keep=0 check=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) rows=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --tools) tools=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --check) check=1; shift ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
if [ -z "${PYTHON:-}" ]; then
    for candidate in .venv-peers/bin/python ../.venv-peers/bin/python; do
        [ -x "$candidate" ] && PYTHON="$(cd "$(dirname "$candidate")" && pwd)/python" && break  # not realpath: a venv's python is a symlink
    done
fi
nfm=${NFM:-$(bash scripts/build-release.sh)}
work=${BENCH_DIR:-/tmp/nfm-criteo-bench}
case "$(realpath -m "$work")/" in "$(pwd)"/*) echo "BENCH_DIR must be outside the repository" >&2; exit 2 ;; esac
mkdir -p "$work"
input="$work/criteo-$rows-seed$seed.csv"
results="$work/results.tsv"
: > "$results"

echo "## machine"
lscpu | grep -E "^Model name|^CPU family|^Model:|^CPU\(s\)|^Hypervisor" | sed 's/  */ /g' | paste -sd ';' | sed 's/;/; /g'
free -g | sed -n 2p | awk '{print "memory: " $2 " GiB total, " $7 " GiB available"}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nfm: $nfm"
[ -n "${PYTHON:-}" ] && "$PYTHON" -c "import polars, pandas, numpy, sys; print('python', sys.version.split()[0], 'polars', polars.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__)"

echo "## input"
if [ ! -s "$input" ]; then
    /usr/bin/time -f "%e %M" -o "$work/synth.time" "$nfm" synth criteo --rows "$rows" --seed "$seed" --out "$input" --force
    read -r seconds kib < "$work/synth.time"
    echo "nfm synth criteo --rows $rows --seed $seed: $seconds s, peak RSS $((kib / 1024)) MiB"
fi
echo "$input: $(stat -c %s "$input") bytes, $rows rows"

# run NAME OUTDIR COMMAND...: one timed run into a fresh OUTDIR; appends "NAME seconds KiB bytes" or returns 1.
run() {
    local name=$1 out=$2; shift 2
    rm -rf "$out"
    if ! /usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1; then
        echo "$name failed: $(grep -v '^Command exited' "$work/$name.log" | tail -3 | tr '\n' ' ')" >&2
        return 1
    fi
    local seconds kib user system
    read -r seconds kib user system < <(tail -1 "$work/$name.time")
    echo -e "$name\t$seconds\t$kib\t$(du -sb "$out" | cut -f1)\t$(awk "BEGIN { print $user + $system }")" >> "$results"
}

for tool in ${tools//,/ }; do
    echo "## $tool ($runs runs)"
    for ((r = 1; r <= runs; r++)); do
        case "$tool" in
            nfm)
                if [ ! -f pipelines/criteo.json ]; then echo "skipped: pipelines/criteo.json is not on this branch"; break; fi
                run nfm "$work/out-nfm" "$nfm" build pipelines/criteo.json --input "$input" --out "$work/out-nfm" --quiet \
                    || { echo "nfm build failed (see $work/nfm.log)"; echo -e "nfm\tfailed" >> "$results"; break; } ;;
            polars | pandas)
                [ -n "${PYTHON:-}" ] || { echo "skipped: no PYTHON with the peers' packages"; break; }
                run "$tool" "$work/out-$tool" "$PYTHON" "Benchmarks/peers/criteo_$tool.py" --input "$input" --out "$work/out-$tool" \
                    || { echo -e "$tool\tfailed" >> "$results"; break; } ;;
            *) echo "unknown tool $tool" >&2; exit 2 ;;
        esac
        tail -1 "$results" | awk -F'\t' '{printf "run: %s s wall, %s s CPU, %d MiB\n", $2, $5, $3 / 1024}'
    done
done
if [[ ",$tools," == *,polars,* && ",$tools," == *,pandas,* && -d "$work/out-polars" && -d "$work/out-pandas" ]]; then
    echo "## peers agree: $("$PYTHON" Benchmarks/peers/criteo_compare.py "$work/out-polars" "$work/out-pandas" | tail -1)"
fi

if [ "$check" = 1 ] && [ -f "$work/out-nfm/manifest.json" ] && [ -d "$work/out-polars" ]; then
    "$nfm" export-libfm "$work/out-nfm" --out "$work/out-nfm-libfm" --force > /dev/null
    echo "## nfm and polars agree: $("$PYTHON" Benchmarks/peers/criteo_compare.py "$work/out-polars" --libfm "$work/out-nfm-libfm" | tr '\n' ' ')"
fi

echo "## results ($rows rows, $(stat -c %s "$input") bytes of CSV)"
python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, *rest = line.rstrip("\n").split("\t")
    runs.setdefault(name, []).append(rest)
print("| tool | runs | wall s (min / median / max) | CPU s (median) | peak RSS MiB (min / median / max) | output MB |")
print("|---|---|---|---|---|---|")
for name, rs in runs.items():
    ok = [r for r in rs if r[0] != "failed"]
    if not ok:
        print(f"| {name} | failed | | | | |"); continue
    t = sorted(float(r[0]) for r in ok); m = sorted(int(r[1]) / 1024 for r in ok)
    fmt = lambda v: f"{min(v):.1f} / {statistics.median(v):.1f} / {max(v):.1f}"
    cpu = statistics.median(float(r[3]) for r in ok)
    print(f"| {name} | {len(ok)} | {fmt(t)} | {cpu:.1f} | {fmt(m)} | {int(ok[-1][2]) / 1e6:.0f} |")
PY
if [ "$keep" = 0 ]; then rm -rf "$input" "$work"/out-*; fi
