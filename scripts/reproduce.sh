#!/usr/bin/env bash
# Reproduces the paper's experiments on a raw log: builds the dataset, then runs every table and figure.
# Usage: bash scripts/reproduce.sh frappe path/to/frappe.csv [out-dir] [extra nfm experiment options…]
#        bash scripts/reproduce.sh movielens path/to/tags.csv [out-dir] [extra options…]
# Interrupt it at any time; running it again resumes (finished runs are kept in out-dir/<experiment>/runs).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:?dataset: frappe or movielens}
input=${2:?raw input file}
out=${3:-experiments/$dataset}
shift $(( $# < 3 ? $# : 3 ))
bash scripts/install-deps.sh
nfm=$(bash scripts/build-release.sh)
mkdir -p "$out"
[ -f "$out/data/manifest.json" ] || $nfm build "pipelines/$dataset.json" --input "$input" --out "$out/data" --force
$nfm verify "$out/data"
for experiment in table2 table3 fig3 fig4 fig5 fig6 fig7; do
    /usr/bin/time -f "$experiment: %e s wall" $nfm experiment "$experiment" "$out/data" --out "$out/$experiment" "$@" \
        > "$out/$experiment.md"
done
