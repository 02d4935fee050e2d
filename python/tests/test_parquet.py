"""to-parquet: one zstd Parquet file per split whose columns read back to the shards' arrays."""

from __future__ import annotations

import numpy as np
import pytest

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install 'nfm-shards[parquet]')")

import nfm_shards  # noqa: E402
from nfm_shards.cli import main  # noqa: E402


def test_fixed_round_trip(fixture_ds, tmp_path):
    assert main(["to-parquet", str(fixture_ds), str(tmp_path / "pq")]) == 0
    ds = nfm_shards.open_dataset(str(fixture_ds))
    for split in ("train", "validation", "test"):
        path = tmp_path / "pq" / f"{split}.parquet"
        metadata = pq.ParquetFile(path).metadata
        assert metadata.row_group(0).column(0).compression == "ZSTD"
        table = pq.read_table(path)
        assert table.column_names == ["label"] + ds.fields
        block = ds.read_split(split)
        assert np.array_equal(table.column("label").to_numpy(), block.labels)
        stacked = np.stack([table.column(name).to_numpy() for name in ds.fields], axis=1)
        assert stacked.dtype == np.uint32 and np.array_equal(stacked, block.indices)
    assert main(["to-parquet", str(fixture_ds), str(tmp_path / "pq")]) == 2


def test_sparse_round_trip(sparse_ds, tmp_path):
    assert main(["to-parquet", str(sparse_ds), str(tmp_path / "pq")]) == 0
    ds = nfm_shards.open_dataset(str(sparse_ds))
    for split in ("train", "validation", "test"):
        table = pq.read_table(tmp_path / "pq" / f"{split}.parquet")
        block = ds.read_split(split)
        assert table.column("label").to_pylist() == block.labels.tolist()
        rows = [(block.indices[a:b].tolist(), block.values[a:b].tolist())
                for a, b in zip(block.offsets[:-1], block.offsets[1:])]
        assert list(zip(table.column("indices").to_pylist(), table.column("values").to_pylist())) == rows
