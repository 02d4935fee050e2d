"""``to-parquet``: one Parquet file per split (zstd), needs ``pip install nfm-shards[parquet]``.

Fixed layout: a ``label`` float32 column and one uint32 column per field holding global feature indices.
Sparse layout: ``label`` float32, ``indices`` list<uint32> and ``values`` list<float32>. Rows in stored order.
"""

from __future__ import annotations

import os
from typing import Dict

import numpy as np

from .dataset import Dataset
from .errors import NFMIOError, UsageError
from .manifest import SPLITS
from .shard import FixedShard


def _table(shard, fields):
    import pyarrow as pa

    columns = {"label": pa.array(shard.labels, type=pa.float32())}
    if isinstance(shard, FixedShard):
        for f, name in enumerate(fields):
            columns[name] = pa.array(shard.indices[:, f].astype(np.uint32), type=pa.uint32())
    else:
        offsets = pa.array(shard.offsets.astype(np.int32), type=pa.int32())
        columns["indices"] = pa.ListArray.from_arrays(offsets, pa.array(shard.indices.astype(np.uint32)))
        columns["values"] = pa.ListArray.from_arrays(offsets, pa.array(shard.values, type=pa.float32()))
    return pa.table(columns)


def to_parquet(directory: str, output: str, force: bool = False) -> Dict[str, str]:
    """Writes ``OUTPUT/{train,validation,test}.parquet`` (zstd, one row group per shard); returns split → path."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("to-parquet needs pyarrow (pip install 'nfm-shards[parquet]')") from None
    dataset = Dataset(directory)
    fields = dataset.fields if dataset.layout == "fixed" else []
    if len(set(fields)) != len(fields) or "label" in fields:
        raise UsageError("field names must be distinct and not 'label'", field="fields", value=fields)
    targets = {split: os.path.join(output, f"{split}.parquet") for split in SPLITS}
    if not force:
        for path in targets.values():
            if os.path.lexists(path):
                raise UsageError("exists (use --force to replace it)", file=path)
    os.makedirs(output, exist_ok=True)
    for split, path in targets.items():
        temporary = os.path.join(output, f".{split}.parquet.tmp-{os.getpid()}")
        writer = None
        try:
            for shard in dataset.shards(split):
                table = _table(shard, fields)
                if writer is None:
                    writer = pq.ParquetWriter(temporary, table.schema, compression="zstd")
                writer.write_table(table)
            if writer is None:
                from .dataset import concatenate

                empty = concatenate([], dataset.layout, len(fields))
                table = _table(empty, fields)
                writer = pq.ParquetWriter(temporary, table.schema, compression="zstd")
            writer.close()
            writer = None
            os.replace(temporary, path)
        except OSError as error:
            raise NFMIOError(f"cannot write ({error.strerror})", file=path) from None
        finally:
            if writer is not None:
                writer.close()
            if os.path.exists(temporary):
                os.remove(temporary)
    return targets
