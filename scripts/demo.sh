#!/usr/bin/env bash
# The main job end to end on the bundled synthetic Frappe fixture: build shards, verify, train FM, train
# NFM pre-trained from FM, evaluate, predict. Installs system dependencies when missing.
# Usage: bash scripts/demo.sh [output directory, default demo-out]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
nfm=$(bash scripts/build-release.sh)
out=${1:-demo-out}
mkdir -p "$out"

echo "== build the dataset (shards, vocabularies, manifest)"
$nfm build pipelines/frappe.json --input fixtures/frappe-synthetic.tsv --out "$out/dataset" --force
$nfm verify "$out/dataset"
$nfm inspect "$out/dataset"

echo "== train FM, then NFM initialised from it"
$nfm train "$out/dataset" --model fm --epochs 30 --out "$out/fm"
$nfm train "$out/dataset" --model nfm --epochs 30 --init-from "$out/fm/model.nfmc" --out "$out/nfm"

echo "== evaluate the saved NFM and predict raw rows"
$nfm evaluate "$out/nfm/model.nfmc" "$out/dataset"
$nfm predict "$out/nfm/model.nfmc" --input fixtures/frappe-synthetic.tsv --output "$out/predictions.tsv"
head -5 "$out/predictions.tsv"
echo "== report: $out/nfm/summary.json, $out/nfm/metrics.csv, $out/nfm/curve.svg"
