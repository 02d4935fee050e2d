#!/usr/bin/env python3
"""Checks that the Criteo peers and nfm built the same dataset.

  python criteo_compare.py POLARS_OUT PANDAS_OUT
      per split, equal labels, feature indices and values (element for element), equal fields.json;
  python criteo_compare.py POLARS_OUT --libfm NFM_LIBFM_DIR
      against `nfm export-libfm` of an nfm build: equal split sizes, and equal rows (label, 39 feature
      indices, 13 values as float32) as a multiset over all splits (nfm's permutation differs from numpy's).
Exit status 1 on any difference.
"""
import json, sys
import numpy as np
import polars as pl

NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
SPLITS = ("train", "validation", "test")


def polars_split(out, split):
    df = pl.read_parquet(f"{out}/{split}.parquet")
    return (df["label"].to_numpy(), df.select(NUMERIC + CATEGORICAL).to_numpy().astype(np.int64),
            df.select([f"{c}_value" for c in NUMERIC]).to_numpy())


def libfm_split(path):
    labels, index, value = [], [], []
    with open(path) as f:
        for line in f:
            label, *pairs = line.split()
            pairs = [p.split(":") for p in pairs]
            labels.append(float(label))
            index.append([int(i) for i, _ in pairs])
            value.append([float(pairs[j][1]) for j in range(13)])
    return np.array(labels, np.float32), np.array(index, np.int64), np.array(value, np.float32)


def sorted_rows(label, index, value):
    keys = np.column_stack([label.astype(np.float64), index, value.astype(np.float64)])
    return keys[np.lexsort(keys.T[::-1])]


def main():
    polars_out = sys.argv[1]
    same = True
    if sys.argv[2] == "--libfm":
        ours = [polars_split(polars_out, s) for s in SPLITS]
        theirs = [libfm_split(f"{sys.argv[3]}/{s}.libfm") for s in SPLITS]
        sizes = [(len(a[0]), len(b[0])) for a, b in zip(ours, theirs)]
        same = all(a == b for a, b in sizes)
        rows = [sorted_rows(*(np.concatenate([part[k] for part in group]) for k in range(3))) for group in (ours, theirs)]
        equal = rows[0].shape == rows[1].shape and np.array_equal(rows[0], rows[1])
        print(f"split sizes (peer, nfm): {sizes}; rows equal as a multiset: {equal}")
        same = same and equal
    else:
        pandas_out = sys.argv[2]
        same = json.load(open(f"{polars_out}/fields.json")) == json.load(open(f"{pandas_out}/fields.json"))
        for split in SPLITS:
            label, index, value = polars_split(polars_out, split)
            z = np.load(f"{pandas_out}/{split}.npz")
            checks = [np.array_equal(label, z["label"]), np.array_equal(index, z["index"]), np.array_equal(value, z["value"])]
            print(f"{split}: {len(label)} rows, labels/indices/values equal: {checks}")
            same = same and all(checks)
    print("identical" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
