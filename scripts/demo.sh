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
$nfm train "$out/dataset" --model fm --epochs 30 --out "$out/fm" --force
$nfm train "$out/dataset" --model nfm --epochs 30 --init-from "$out/fm/model.nfmc" --out "$out/nfm" --force

echo "== evaluate the saved NFM, predict raw rows and the test split, export the model"
$nfm evaluate "$out/nfm/model.nfmc" "$out/dataset"
$nfm predict "$out/nfm/model.nfmc" --input fixtures/frappe-synthetic.tsv --out "$out/predictions.tsv" --force
head -5 "$out/predictions.tsv"
echo "== report: $out/nfm/summary.json, $out/nfm/metrics.csv, $out/nfm/curve.svg"
$nfm predict "$out/nfm/model.nfmc" --dataset "$out/dataset" --split test --out "$out/test-predictions.txt" --force
$nfm export-model "$out/nfm/model.nfmc" --out "$out/nfm-export" --force
echo "== exported: $out/nfm-export (model.safetensors, config.json, vocab/)"
