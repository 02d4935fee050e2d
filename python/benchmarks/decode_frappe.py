"""Decoding Frappe's train split into numpy: nfm_shards beside the peers' formats, in one process.

Usage: python decode_frappe.py NFM_DATASET PANDAS_NPZ POLARS_TRAIN_PARQUET [--runs 30]

Runs the readers round-robin (so machine noise hits all alike) and prints wall-clock min / median / max
milliseconds and the process CPU time (summed over threads; polars decodes on several).
Each nfm_shards read checks the shards' SHA-256 against the manifest unless noted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("npz")
    parser.add_argument("parquet")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import nfm_shards
    import polars as pl

    ds = nfm_shards.open_dataset(args.dataset)
    unchecked = nfm_shards.open_dataset(args.dataset, check_sha256=False)

    def npz():
        with np.load(args.npz) as archive:
            return archive["X_train"], archive["y_train"]

    readers = {
        "nfm_shards read_split int64 (SHA-256 checked)": lambda: ds.read_split("train"),
        "nfm_shards read_split int64, 1 thread": lambda: ds.read_split("train", threads=1),
        "nfm_shards read_split int32 (SHA-256 checked)": lambda: ds.read_split("train", index_dtype=np.int32),
        "nfm_shards read_split int64 (no SHA-256)": lambda: unchecked.read_split("train"),
        "np.load pandas peer npz (X_train, y_train)": npz,
        "pl.read_parquet polars peer train.parquet": lambda: pl.read_parquet(args.parquet),
        "pl.read_parquet + to_numpy": lambda: pl.read_parquet(args.parquet).to_numpy(),
    }
    rows = {name: None for name in readers}
    times = {name: [] for name in readers}
    cpu = {name: [] for name in readers}
    for name, read in readers.items():  # warm-up, and row counts
        result = read()
        rows[name] = len(result[0]) if isinstance(result, tuple) else (result.rows if hasattr(result, "rows") and
                                                                        not callable(result.rows) else len(result))
    gc.disable()
    for _ in range(args.runs):
        for name, read in readers.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            read()
            times[name].append((time.perf_counter() - start) * 1e3)
            cpu[name].append((time.process_time() - start_cpu) * 1e3)
    gc.enable()
    print("| reader | rows | wall min / median / max ms | CPU (all threads) min / median ms |")
    print("|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {rows[name]:,} | {min(values):.1f} / {statistics.median(values):.1f} / "
              f"{max(values):.1f} | {min(cpu[name]):.1f} / {statistics.median(cpu[name]):.1f} |")


if __name__ == "__main__":
    main()
