"""Streams one consumer's share of a split for one epoch (see :mod:`nfm_shards.partition`)."""

from __future__ import annotations

from typing import Iterator, Optional

import numpy as np

from .dataset import Dataset
from .partition import Block, batches, plan, shuffle_buffer
from .shard import FixedShard


def _chunks(dataset: Dataset, split: str, pieces, index_dtype) -> Iterator[Block]:
    entries = dataset.shard_entries(split)
    starts = np.cumsum([0] + [int(e["rows"]) for e in entries])
    for shard_index, start, stop in pieces:
        shard = dataset.read_shard(entries[shard_index], index_dtype)
        row_ids = np.arange(starts[shard_index], starts[shard_index + 1], dtype=np.int64)
        if isinstance(shard, FixedShard):
            block = Block(row_ids, shard.labels, shard.indices)
        else:
            block = Block(row_ids, shard.labels, shard.indices, shard.values, shard.offsets)
        yield block.slice(start, stop) if (start, stop) != (0, len(block)) else block


def epoch_blocks(dataset: Dataset, split: str = "train", *, seed: int = 0, epoch: int = 0, consumer: int = 0,
                 consumers: int = 1, shuffle: bool = True, buffer_size: int = 65536,
                 batch_size: Optional[int] = None, drop_last: bool = False,
                 index_dtype=np.int64) -> Iterator[Block]:
    """Yields ``consumer``'s rows of ``split`` for ``epoch`` as :class:`Block` objects.

    Same (seed, epoch, consumer, consumers, buffer_size) ⇒ same rows in the same order. With ``batch_size``
    every block has exactly that many rows (except a shorter last one, dropped with ``drop_last``); without,
    blocks are the shuffle buffer's output. Each shard is read (and SHA-256-checked) once per epoch.
    """
    shard_rows = [int(entry["rows"]) for entry in dataset.shard_entries(split)]
    pieces = plan(shard_rows, seed, epoch, consumer, consumers, shuffle)
    rng = np.random.default_rng([seed, epoch, consumer, 1]) if shuffle else None
    stream = shuffle_buffer(_chunks(dataset, split, pieces, index_dtype), rng, buffer_size)
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        stream = batches(stream, batch_size, drop_last)
    return stream
