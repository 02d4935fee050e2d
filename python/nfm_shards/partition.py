"""Epoch plans: which rows each consumer (DataLoader worker × distributed rank) reads, in which order.

An epoch's order is fixed by ``(seed, epoch)``:

1. the split's shards are permuted with ``numpy.random.default_rng([seed, epoch])`` (stored order when
   ``shuffle`` is off), giving one sequence of ``N`` rows;
2. consumer ``c`` of ``C`` (``c = rank × workers + worker``) takes rows ``⌊cN/C⌋ ..< ⌊(c+1)N/C⌋`` of that
   sequence, so every row is read by exactly one consumer and counts differ by at most one;
3. each consumer passes its rows through a block shuffle buffer: chunks (at most one shard) are appended to a
   pool; whenever the pool exceeds ``buffer_size`` rows it is permuted with
   ``default_rng([seed, epoch, c, 1])`` and all but ``buffer_size`` rows are emitted; the rest is permuted and
   emitted at the end.

Everything is vectorised numpy; only the optional per-row iteration of the PyTorch dataset is Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np


@dataclass
class Block:
    """Rows of either layout plus their row ids (positions in the split's stored order).

    Fixed: ``indices`` is (rows, fields) and ``values``/``offsets`` are None. Sparse: ``indices``/``values``
    hold the entries and ``offsets`` (rows + 1, from 0) delimit the rows.
    """

    row_ids: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    values: Optional[np.ndarray] = None
    offsets: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def sparse(self) -> bool:
        return self.offsets is not None

    def slice(self, start: int, stop: int) -> "Block":
        """Rows ``start ..< stop`` (views where possible)."""
        if not self.sparse:
            return Block(self.row_ids[start:stop], self.labels[start:stop], self.indices[start:stop])
        lo, hi = int(self.offsets[start]), int(self.offsets[stop])
        return Block(self.row_ids[start:stop], self.labels[start:stop], self.indices[lo:hi], self.values[lo:hi],
                     self.offsets[start:stop + 1] - lo)

    def take(self, order: np.ndarray) -> "Block":
        """Rows in the order ``order`` (a permutation or selection of row positions)."""
        if not self.sparse:
            return Block(self.row_ids[order], self.labels[order], self.indices[order])
        lengths = np.diff(self.offsets)[order]
        offsets = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        entries = np.repeat(self.offsets[:-1][order] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Block(self.row_ids[order], self.labels[order], self.indices[entries], self.values[entries], offsets)


def concat(blocks: Sequence[Block]) -> Block:
    """The rows of ``blocks`` one after the other (all of one layout)."""
    if len(blocks) == 1:
        return blocks[0]
    row_ids = np.concatenate([b.row_ids for b in blocks])
    labels = np.concatenate([b.labels for b in blocks])
    indices = np.concatenate([b.indices for b in blocks])
    if not blocks[0].sparse:
        return Block(row_ids, labels, indices)
    shifts = np.cumsum([0] + [int(b.offsets[-1]) for b in blocks[:-1]])
    offsets = np.concatenate([np.zeros(1, np.int64)] + [b.offsets[1:] + s for b, s in zip(blocks, shifts)])
    return Block(row_ids, labels, indices, np.concatenate([b.values for b in blocks]), offsets)


def shard_order(shard_count: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The epoch's shard order: a seeded permutation, or stored order without ``shuffle``."""
    if not shuffle:
        return np.arange(shard_count)
    return np.random.default_rng([seed, epoch]).permutation(shard_count)


def plan(shard_rows: Sequence[int], seed: int, epoch: int, consumer: int, consumers: int,
         shuffle: bool = True) -> List[Tuple[int, int, int]]:
    """The pieces ``(shard, start, stop)`` that ``consumer`` of ``consumers`` reads in ``epoch``, in order.

    Over all consumers the pieces cover every row of every shard exactly once. O(shards).
    """
    if consumers < 1 or not 0 <= consumer < consumers:
        raise ValueError(f"consumer {consumer} of {consumers}")
    order = shard_order(len(shard_rows), seed, epoch, shuffle)
    total = int(sum(shard_rows))
    lo, hi = consumer * total // consumers, (consumer + 1) * total // consumers
    pieces = []
    position = 0
    for shard in order:
        rows = int(shard_rows[shard])
        start, stop = max(lo, position), min(hi, position + rows)
        if start < stop:
            pieces.append((int(shard), start - position, stop - position))
        position += rows
    return pieces


def shuffle_buffer(chunks: Iterator[Block], rng: Optional[np.random.Generator], buffer_size: int) -> Iterator[Block]:
    """The block shuffle buffer of the module docstring; passes ``chunks`` through unchanged without ``rng``."""
    if rng is None:
        yield from chunks
        return
    pool: List[Block] = []
    pooled = 0
    for chunk in chunks:
        pool.append(chunk)
        pooled += len(chunk)
        if pooled > buffer_size:
            block = concat(pool)
            block = block.take(rng.permutation(len(block)))
            keep = len(block) - buffer_size
            yield block.slice(0, keep)
            pool, pooled = [block.slice(keep, len(block))], buffer_size
    if pooled:
        block = concat(pool)
        yield block.take(rng.permutation(len(block)))


def batches(blocks: Iterator[Block], batch_size: int, drop_last: bool = False) -> Iterator[Block]:
    """Regroups a stream of blocks into blocks of exactly ``batch_size`` rows (the last may be shorter)."""
    pending: List[Block] = []
    count = 0
    for block in blocks:
        pending.append(block)
        count += len(block)
        if count < batch_size:
            continue
        merged = concat(pending)
        full = len(merged) // batch_size * batch_size
        for start in range(0, full, batch_size):
            yield merged.slice(start, start + batch_size)
        pending, count = [merged.slice(full, len(merged))], len(merged) - full
    if count and not drop_last:
        yield concat(pending)
