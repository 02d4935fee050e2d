#!/usr/bin/env bash
# Training benchmarks, side by side in one run (release build):
#   1. the NFM Frappe epoch (k=64, one hidden layer of 64, batch norm, dropout 0.5/0.2, batch 128) with
#      --threads 1 and 2 — min/median/max training seconds per epoch over EPOCHS epochs — and a check that
#      both thread counts wrote the same checkpoint bytes;
#   2. torchfm's NFM (../shared/peers/train_nfm.py) on the same data and the same 2 threads;
#   (the core-to-core round trip of Benchmarks/core-latency.c is printed before and after step 1);
#   3. time to validation RMSE ≤ TARGET with --threads 2 and --stop-at: batch 128 (lr 0.05, the paper's)
#      and BIG_BATCH with BIG_LR — the epoch that reached it and the training seconds up to it (summary.json's
#      target; evaluation excluded), and the whole run's wall time.
# Usage: bash Benchmarks/train-parallel.sh [path/to/frappe.csv]
#   NFM=path/to/nfm uses another build; PEERS_PYTHON (default ../.venv-peers/bin/python, see
#   ../shared/peers/README.md) runs torchfm, SKIP_TORCH=1 skips it; EPOCHS (5), TARGET (0.310),
#   BIG_BATCH (384), BIG_LR (0.05), BENCH_DIR (/tmp/nfm-train-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${NFM:-}" ]; then nfm=$(bash scripts/build-release.sh); else nfm=$NFM; fi
frappe=${1:-../shared/datasets/frappe/frappe.csv}
peers=${PEERS_DIR:-../shared/peers}
python=${PEERS_PYTHON:-../.venv-peers/bin/python}
work=${BENCH_DIR:-/tmp/nfm-train-bench}
epochs=${EPOCHS:-5}
target=${TARGET:-0.310}
big_batch=${BIG_BATCH:-384}
big_lr=${BIG_LR:-0.05}
mkdir -p "$work"

# min/median/max of the per-epoch training seconds of a summary.json.
epoch_stats() {
    python3 - "$1" <<'PY'
import json, statistics, sys
s = json.load(open(sys.argv[1]))
t = [e["trainSeconds"] for e in s["epochs"]]
print(f"min {min(t):.3f} s, median {statistics.median(t):.3f} s, max {max(t):.3f} s over {len(t)} epochs")
PY
}

# The core-to-core round trip (Benchmarks/core-latency.c), which decides what a second thread can gain;
# printed before and after the epochs, since some hosts move their vCPUs while a run goes on.
latency() {
    if command -v cc >/dev/null && cc -O2 -pthread Benchmarks/core-latency.c -o "$work/core-latency" 2>/dev/null; then
        "$work/core-latency"
    else
        echo "core-to-core round trip: not measured (no C compiler)"
    fi
}

echo "## machine"; lscpu | grep -E "Model name|^CPU\(s\)"; uptime; latency
$nfm build pipelines/frappe.json --input "$frappe" --out "$work/frappe" --force --quiet

echo "## NFM Frappe epoch (k=64, [64], batch norm, dropout, batch 128)"
for threads in 1 2; do
    $nfm train "$work/frappe" --epochs "$epochs" --no-early-stop --threads $threads --quiet --json \
        --out "$work/nfm-t$threads" --force > "$work/nfm-t$threads.json"
    echo "nfm --threads $threads: $(epoch_stats "$work/nfm-t$threads.json")"
done
if cmp -s "$work/nfm-t1/model.nfmc" "$work/nfm-t2/model.nfmc" \
    && diff -q <(cut -d, -f1-5 "$work/nfm-t1/metrics.csv") <(cut -d, -f1-5 "$work/nfm-t2/metrics.csv") >/dev/null; then
    echo "threads 1 and 2: identical checkpoint bytes and metrics"
else
    echo "threads 1 and 2: DIFFERENT results" >&2
    exit 1
fi

latency
if [ -z "${SKIP_TORCH:-}" ]; then
    echo "## torchfm NFM, same data, 2 threads"
    if [ ! -f "$work/frappe.npz" ]; then
        $nfm export-libfm "$work/frappe" --out "$work/libfm" --force >/dev/null
        $python "$peers/libfm_to_npz.py" "$work/libfm" "$work/frappe.npz" >/dev/null
    fi
    $python "$peers/train_nfm.py" --data "$work/frappe.npz" --model nfm --epochs 3 --early-stop 0 --threads 2 \
        > "$work/torch.jsonl"
    python3 - "$work/torch.jsonl" "$work/nfm-t2.json" <<'PY'
import json, statistics, sys
torch = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["median_train_s"]
nfm = statistics.median(e["trainSeconds"] for e in json.load(open(sys.argv[2]))["epochs"])
print(f"torchfm --threads 2: median {torch:.3f} s per epoch; nfm --threads 2 is {torch / nfm:.1f}x faster")
PY
fi

echo "## time to validation RMSE <= $target (--threads 2, --stop-at $target)"
for config in "128 0.05" "$big_batch $big_lr"; do
    set -- $config
    start=$(date +%s.%N)
    $nfm train "$work/frappe" --batch-size $1 --lr $2 --stop-at "$target" --threads 2 --quiet --json \
        --out "$work/tta-b$1" --force > "$work/tta-b$1.json"
    wall=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    python3 - "$work/tta-b$1.json" "$1" "$2" "$wall" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t, best = s.get("target") or {}, s["best"]
reached = f"epoch {t['epoch']}, {t['trainSeconds']:.1f} s of training" if t.get("epoch") else "not reached"
print(f"batch {sys.argv[2]} lr {sys.argv[3]}: {reached}; best validation {best['validation']['rmse']:.4f} "
      f"(epoch {best['epoch']}); median epoch {s['timing']['trainSecondsMedian']:.3f} s; run wall {sys.argv[4]} s")
PY
done
