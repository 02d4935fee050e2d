#!/usr/bin/env python3
"""Peer of `nfm build pipelines/criteo.json` in polars: lazy scans, streaming engine, Parquet + zstd.

The job (the same in criteo_pandas.py, whose outputs are identical element for element):
  * input    : Criteo CSV with header `label,I1..I13,C1..C26` (DeepCTR's criteo_sample.txt, `nfm synth criteo`);
  * label    : the 0/1 `label` column (explicit, no negative sampling);
  * I1..I13  : numeric; a present cell x gives one feature with value sign(x)*log1p(|x|), an empty cell
               the column's "missing" indicator feature with value 1. Column j (0-based) owns features
               2j (value) and 2j+1 (missing);
  * C1..C26  : categorical; values indexed in order of first appearance in the file, values seen fewer
               than --min-count (10) times in the whole file and empty cells map to the column's OOV
               feature (its last index); fields follow the numeric ones, each after the previous one;
  * split    : 70/20/10 by a seeded random permutation of the rows (numpy default_rng(seed).permutation,
               positions [0, ceil(.7n)) train, [ceil(.7n), ceil(.9n)) validation, the rest test), each split
               stored in permutation order;
  * outputs  : OUT/{train,validation,test}.parquet (zstd level 3): label (f32), I1..I13, C1..C26 (global
               feature indices, u32), I1_value..I13_value (f32); OUT/vocab.parquet (field, index, value,
               count) and OUT/fields.json (offsets, cardinalities, counts).

Pass 1 (vocabularies) and pass 2 (encoding) are lazy queries run by the streaming engine; the encoded
rows (about 210 bytes a row) are then permuted in memory and written.
Usage: python criteo_polars.py --input criteo.csv --out OUTDIR [--seed 2017] [--min-count 10]
"""
import argparse, json, math, os, time
import numpy as np
import polars as pl

NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
SCHEMA = {"label": pl.Float32, **{c: pl.Float64 for c in NUMERIC}, **{c: pl.String for c in CATEGORICAL}}


def vocabularies(lf, min_count):
    """Pass 1: per categorical column, values with count >= min_count in first-appearance order."""
    indexed = lf.select(CATEGORICAL).with_row_index("row")
    queries = [indexed.group_by(c).agg(pl.len().alias("count"), pl.col("row").min().alias("first"))
               .filter(pl.col(c).is_not_null()) for c in CATEGORICAL]
    *tables, rows = pl.collect_all(queries + [lf.select(pl.len())], engine="streaming")
    kept = [t.filter(pl.col("count") >= min_count).sort("first").drop("first") for t in tables]
    return kept, rows.item()


def encode(lf, kept):
    """Pass 2: label, global feature index per field, value per numeric field."""
    exprs, fields, offset = [pl.col("label")], [], 0
    for c in NUMERIC:
        missing = pl.col(c).is_null()
        exprs.append(pl.when(missing).then(offset + 1).otherwise(offset).cast(pl.UInt32).alias(c))
        value = pl.col(c).sign() * pl.col(c).abs().log1p()
        exprs.append(pl.when(missing).then(1.0).otherwise(value).cast(pl.Float32).alias(f"{c}_value"))
        fields.append({"name": c, "type": "numeric", "offset": offset, "features": 2})
        offset += 2
    for c, table in zip(CATEGORICAL, kept):
        oov = table.height
        codes = pl.col(c).replace_strict(table[c], pl.int_range(oov, eager=True, dtype=pl.UInt32),
                                         default=oov, return_dtype=pl.UInt32)
        exprs.append((codes.fill_null(oov) + offset).alias(c))
        fields.append({"name": c, "type": "categorical", "offset": offset, "features": oov + 1, "oov": offset + oov})
        offset += oov + 1
    return lf.select(exprs).collect(engine="streaming"), fields, offset


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=2017)
    ap.add_argument("--min-count", type=int, default=10)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.perf_counter()
    lf = pl.scan_csv(a.input, schema=SCHEMA)
    kept, n = vocabularies(lf, a.min_count)
    t1 = time.perf_counter()
    data, fields, features = encode(lf, kept)
    t2 = time.perf_counter()
    perm = np.random.default_rng(a.seed).permutation(n)
    a7, a9 = math.ceil(0.7 * n), math.ceil(0.9 * n)
    counts = {}
    for name, idx in (("train", perm[:a7]), ("validation", perm[a7:a9]), ("test", perm[a9:])):
        data[idx].write_parquet(os.path.join(a.out, f"{name}.parquet"), compression="zstd", compression_level=3)
        counts[name] = len(idx)
    pl.concat([t.with_columns(pl.lit(c).alias("field"), pl.int_range(t.height, dtype=pl.UInt32).alias("index"))
               .select("field", "index", pl.col(c).alias("value"), pl.col("count").cast(pl.UInt32))
               for c, t in zip(CATEGORICAL, kept)]) \
        .write_parquet(os.path.join(a.out, "vocab.parquet"), compression="zstd", compression_level=3)
    with open(os.path.join(a.out, "fields.json"), "w") as f:
        json.dump({"features": features, "rows": n, "splits": counts, "fields": fields}, f, indent=1)
    t3 = time.perf_counter()
    print(json.dumps({"features": features, "instances": n, **counts, "vocab_s": round(t1 - t0, 2),
                      "encode_s": round(t2 - t1, 2), "write_s": round(t3 - t2, 2), "seconds": round(t3 - t0, 2)}))


if __name__ == "__main__":
    main()
