#!/usr/bin/env python3
"""Checks that criteo_polars.py and criteo_pandas.py wrote the same dataset: per split, equal labels,
feature indices and values (element for element), and equal fields.json.
Usage: python criteo_compare.py POLARS_OUT PANDAS_OUT   (exit 1 on any difference)
"""
import json, sys
import numpy as np
import polars as pl

NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]


def main():
    polars_out, pandas_out = sys.argv[1], sys.argv[2]
    same = json.load(open(f"{polars_out}/fields.json")) == json.load(open(f"{pandas_out}/fields.json"))
    for split in ("train", "validation", "test"):
        df = pl.read_parquet(f"{polars_out}/{split}.parquet")
        z = np.load(f"{pandas_out}/{split}.npz")
        checks = [np.array_equal(df["label"].to_numpy(), z["label"]),
                  np.array_equal(df.select(NUMERIC + CATEGORICAL).to_numpy().astype(np.int64), z["index"]),
                  np.array_equal(df.select([f"{c}_value" for c in NUMERIC]).to_numpy(), z["value"])]
        print(f"{split}: {df.height} rows, labels/indices/values equal: {checks}")
        same = same and all(checks)
    print("identical" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
