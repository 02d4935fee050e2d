"""Epoch partition across workers × ranks (every row exactly once), seeded order, batching — without torch."""

from __future__ import annotations

import numpy as np
import pytest

import nfm_shards
from nfm_shards.partition import Block, batches, plan, shuffle_buffer


@pytest.mark.parametrize("shard_rows", [[1000, 1000, 1000, 17], [5], [3, 0, 4], [65536] * 3 + [5419]])
@pytest.mark.parametrize("consumers", [1, 2, 3, 8, 13])
def test_plan_covers_every_row_once(shard_rows, consumers):
    for epoch in range(3):
        seen = []
        counts = []
        for consumer in range(consumers):
            pieces = plan(shard_rows, seed=7, epoch=epoch, consumer=consumer, consumers=consumers)
            rows = [(shard, r) for shard, start, stop in pieces for r in range(start, stop)]
            counts.append(len(rows))
            seen += rows
        assert sorted(seen) == [(s, r) for s, n in enumerate(shard_rows) for r in range(n)]
        assert max(counts) - min(counts) <= 1


def test_plan_shard_order_is_seeded():
    rows = [10] * 12
    first = [p[0] for p in plan(rows, seed=1, epoch=0, consumer=0, consumers=1)]
    assert first == [p[0] for p in plan(rows, seed=1, epoch=0, consumer=0, consumers=1)]
    assert first != [p[0] for p in plan(rows, seed=1, epoch=1, consumer=0, consumers=1)]
    assert first != [p[0] for p in plan(rows, seed=2, epoch=0, consumer=0, consumers=1)]
    assert [p[0] for p in plan(rows, 1, 0, 0, 1, shuffle=False)] == list(range(12))
    with pytest.raises(ValueError):
        plan(rows, 1, 0, 3, 3)


def sparse_block(lengths, first_id=0):
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.arange(first_id, first_id + len(lengths))
    indices = np.concatenate([np.full(n, i) for i, n in zip(ids, lengths)] + [np.empty(0, np.int64)]).astype(np.int64)
    return Block(ids, ids.astype(np.float32), indices, indices.astype(np.float32), offsets)


def check_sparse(block):
    """Each row's entries all carry the row's id (so gathers kept rows and entries together)."""
    for r in range(len(block)):
        entries = block.indices[block.offsets[r]:block.offsets[r + 1]]
        assert (entries == block.row_ids[r]).all() and block.labels[r] == block.row_ids[r]


def test_shuffle_buffer_and_batches_keep_rows_whole():
    chunks = [sparse_block([1, 0, 3, 2, 5], 0), sparse_block([2, 2, 1], 5), sparse_block([4] * 6, 8)]
    rng = np.random.default_rng(3)
    out = list(batches(shuffle_buffer(iter(chunks), rng, buffer_size=4), batch_size=3))
    assert [len(b) for b in out] == [3, 3, 3, 3, 2]
    ids = np.concatenate([b.row_ids for b in out])
    assert sorted(ids.tolist()) == list(range(14)) and ids.tolist() != list(range(14))
    for b in out:
        check_sparse(b)
    dropped = list(batches(iter(chunks), batch_size=3, drop_last=True))
    assert [len(b) for b in dropped] == [3, 3, 3, 3]


@pytest.mark.parametrize("ranks, workers", [(1, 1), (1, 3), (2, 2), (3, 4)])
def test_fixed_epoch_partition_on_a_dataset(multi_ds, ranks, workers):
    ds = nfm_shards.open_dataset(str(multi_ds))
    assert len(ds.shard_entries("train")) == 7
    whole = ds.read_split("train")
    consumers = ranks * workers
    for epoch in (0, 1):
        ids = []
        for consumer in range(consumers):
            for block in nfm_shards.epoch_blocks(ds, "train", seed=11, epoch=epoch, consumer=consumer,
                                                 consumers=consumers, buffer_size=500, batch_size=64):
                assert (block.indices == whole.indices[block.row_ids]).all()
                assert (block.labels == whole.labels[block.row_ids]).all()
                ids.append(block.row_ids)
        ids = np.concatenate(ids)
        assert len(ids) == ds.rows("train") and np.array_equal(np.sort(ids), np.arange(ds.rows("train")))


def test_sparse_epoch_partition_on_a_dataset(sparse_ds):
    ds = nfm_shards.open_dataset(str(sparse_ds))
    whole = ds.read_split("train")
    ids = []
    for consumer in range(4):
        for block in nfm_shards.epoch_blocks(ds, "train", seed=5, consumer=consumer, consumers=4, buffer_size=1):
            for r, row in enumerate(block.row_ids):
                lo, hi = whole.offsets[row], whole.offsets[row + 1]
                assert block.indices[block.offsets[r]:block.offsets[r + 1]].tolist() == whole.indices[lo:hi].tolist()
                assert block.values[block.offsets[r]:block.offsets[r + 1]].tolist() == whole.values[lo:hi].tolist()
            ids += block.row_ids.tolist()
    assert sorted(ids) == list(range(ds.rows("train")))


def epoch_order(ds, **options):
    return np.concatenate([b.row_ids for b in nfm_shards.epoch_blocks(ds, "train", **options)])


def test_seeded_order_is_deterministic(multi_ds):
    ds = nfm_shards.open_dataset(str(multi_ds))
    a = epoch_order(ds, seed=3, epoch=0, buffer_size=1000)
    assert np.array_equal(a, epoch_order(nfm_shards.open_dataset(str(multi_ds)), seed=3, epoch=0, buffer_size=1000))
    assert not np.array_equal(a, epoch_order(ds, seed=3, epoch=1, buffer_size=1000))
    assert not np.array_equal(a, epoch_order(ds, seed=4, epoch=0, buffer_size=1000))
    assert np.array_equal(epoch_order(ds, shuffle=False), np.arange(ds.rows("train")))
    # The buffer mixes rows of different shards: not every 1000-row window comes from one shard.
    assert any(len(set((a[i:i + 1000] // 1000).tolist())) > 1 for i in range(0, len(a), 1000))
