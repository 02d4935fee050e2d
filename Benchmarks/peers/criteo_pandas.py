#!/usr/bin/env python3
"""Peer of `nfm build pipelines/criteo.json` in pandas + numpy: two chunked passes, npz (deflate) output.

The job is criteo_polars.py's (see its docstring), with identical vocabularies, feature indices, values
and split order. pandas reads the CSV in chunks of --chunk-rows (the documented way to stream a file larger
than memory): pass 1 reads the categorical columns and merges per-chunk first-appearance codes and counts
(pd.factorize) into per-column vocabularies; pass 2 encodes each chunk into int32 indices and float32
values with Index.get_indexer. The encoded rows (about 210 bytes a row) are then permuted in memory and
written as OUT/{train,validation,test}.npz (label f32, index int32 [n, 39], value f32 [n, 13]), with
OUT/vocab.json (per column: values and counts, in index order) and OUT/fields.json.
Usage: python criteo_pandas.py --input criteo.csv --out OUTDIR [--seed 2017] [--min-count 10]
"""
import argparse, json, math, os, time
import numpy as np
import pandas as pd

NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
DTYPES = {"label": np.float32, **{c: np.float64 for c in NUMERIC}, **{c: str for c in CATEGORICAL}}


def vocabularies(path, min_count, chunk_rows):
    """Pass 1: per column, values with count >= min_count in first-appearance order; and the row count."""
    seen = {c: pd.Index([], dtype=object) for c in CATEGORICAL}
    counts = {c: np.zeros(0, np.int64) for c in CATEGORICAL}
    rows = 0
    for chunk in pd.read_csv(path, usecols=CATEGORICAL, dtype=str, chunksize=chunk_rows, keep_default_na=False):
        rows += len(chunk)
        for c in CATEGORICAL:
            codes, uniques = pd.factorize(chunk[c].to_numpy(object), use_na_sentinel=True)
            local = np.bincount(codes, minlength=len(uniques))
            where = seen[c].get_indexer(uniques)
            new = where < 0
            where[new] = len(seen[c]) + np.arange(new.sum())
            seen[c] = seen[c].append(pd.Index(uniques[new], dtype=object))
            counts[c] = np.concatenate([counts[c], np.zeros(new.sum(), np.int64)])
            np.add.at(counts[c], where, local)
    vocab = {}
    for c in CATEGORICAL:
        keep = (counts[c] >= min_count) & (seen[c] != "")
        vocab[c] = (pd.Index(seen[c][keep], dtype=object), counts[c][keep])
    return vocab, rows


def encode(path, vocab, rows, chunk_rows):
    """Pass 2: labels, global feature indices (n x 39) and numeric values (n x 13)."""
    offsets, fields, offset = [], [], 0
    for c in NUMERIC:
        offsets.append(offset); fields.append({"name": c, "type": "numeric", "offset": offset, "features": 2})
        offset += 2
    for c in CATEGORICAL:
        oov = len(vocab[c][0])
        offsets.append(offset)
        fields.append({"name": c, "type": "categorical", "offset": offset, "features": oov + 1, "oov": offset + oov})
        offset += oov + 1
    label = np.empty(rows, np.float32)
    index = np.empty((rows, 39), np.int32)
    value = np.empty((rows, 13), np.float32)
    start = 0
    for chunk in pd.read_csv(path, dtype=DTYPES, chunksize=chunk_rows, keep_default_na=False, na_values={c: [""] for c in NUMERIC}):
        stop = start + len(chunk)
        label[start:stop] = chunk["label"].to_numpy()
        for j, c in enumerate(NUMERIC):
            x = chunk[c].to_numpy()
            missing = np.isnan(x)
            index[start:stop, j] = offsets[j] + missing
            value[start:stop, j] = np.where(missing, 1.0, np.sign(x) * np.log1p(np.abs(x)))
        for j, c in enumerate(CATEGORICAL, start=13):
            codes = vocab[c][0].get_indexer(chunk[c].to_numpy(object))
            codes[codes < 0] = len(vocab[c][0])  # rare, unseen or empty: the OOV feature
            index[start:stop, j] = offsets[j] + codes
        start = stop
    return label, index, value, fields, offset


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=2017)
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.perf_counter()
    vocab, n = vocabularies(a.input, a.min_count, a.chunk_rows)
    t1 = time.perf_counter()
    label, index, value, fields, features = encode(a.input, vocab, n, a.chunk_rows)
    t2 = time.perf_counter()
    perm = np.random.default_rng(a.seed).permutation(n)
    a7, a9 = math.ceil(0.7 * n), math.ceil(0.9 * n)
    counts = {}
    for name, idx in (("train", perm[:a7]), ("validation", perm[a7:a9]), ("test", perm[a9:])):
        np.savez_compressed(os.path.join(a.out, f"{name}.npz"), label=label[idx], index=index[idx], value=value[idx])
        counts[name] = len(idx)
    with open(os.path.join(a.out, "vocab.json"), "w") as f:
        json.dump({c: {"values": list(v), "counts": k.tolist()} for c, (v, k) in vocab.items()}, f)
    with open(os.path.join(a.out, "fields.json"), "w") as f:
        json.dump({"features": features, "rows": n, "splits": counts, "fields": fields}, f, indent=1)
    t3 = time.perf_counter()
    print(json.dumps({"features": features, "instances": n, **counts, "vocab_s": round(t1 - t0, 2),
                      "encode_s": round(t2 - t1, 2), "write_s": round(t3 - t2, 2), "seconds": round(t3 - t0, 2)}))


if __name__ == "__main__":
    main()
