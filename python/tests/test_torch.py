"""NFMIterableDataset with real DataLoader workers and simulated ranks (skips when torch is missing)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'nfm-shards[torch]')")

import nfm_shards  # noqa: E402
from nfm_shards.torch import NFMIterableDataset  # noqa: E402


def collect_ids(directory, *, ranks, workers, epoch=0, batch_size=50, seed=9):
    ids = []
    for rank in range(ranks):
        dataset = NFMIterableDataset(str(directory), "train", batch_size=batch_size, seed=seed, buffer_size=700,
                                     rank=rank, world_size=ranks, return_row_ids=True)
        dataset.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers)
        for indices, labels, row_ids in loader:
            assert indices.dtype == torch.int64 and labels.dtype == torch.float32
            assert indices.shape == (len(row_ids), 10) and labels.shape == (len(row_ids),)
            ids.append(row_ids.numpy())
    return np.concatenate(ids)


@pytest.mark.parametrize("ranks, workers", [(1, 0), (1, 2), (2, 2)])
def test_workers_times_ranks_see_every_row_once(multi_ds, ranks, workers):
    rows = nfm_shards.open_dataset(str(multi_ds)).rows("train")
    ids = collect_ids(multi_ds, ranks=ranks, workers=workers)
    assert len(ids) == rows and np.array_equal(np.sort(ids), np.arange(rows))


def test_same_seed_same_order_and_set_epoch(multi_ds):
    a = collect_ids(multi_ds, ranks=1, workers=2)
    assert np.array_equal(a, collect_ids(multi_ds, ranks=1, workers=2))
    assert not np.array_equal(a, collect_ids(multi_ds, ranks=1, workers=2, epoch=1))
    assert not np.array_equal(a, collect_ids(multi_ds, ranks=1, workers=2, seed=10))


def test_row_items_match_the_numpy_reader(fixture_ds, sparse_ds):
    whole = nfm_shards.open_dataset(str(fixture_ds)).read_split("validation")
    dataset = NFMIterableDataset(str(fixture_ds), "validation", shuffle=False)
    items = list(dataset)
    assert len(items) == whole.rows
    indices, label = items[5]
    assert indices.tolist() == whole.indices[5].tolist() and float(label) == float(whole.labels[5])
    sparse = nfm_shards.open_dataset(str(sparse_ds)).read_split("train")
    rows = list(NFMIterableDataset(str(sparse_ds), "train", shuffle=False))
    assert [len(r[0]) for r in rows] == np.diff(sparse.offsets).tolist()
    indices, values, offsets, labels = next(iter(NFMIterableDataset(str(sparse_ds), "train", batch_size=5,
                                                                    shuffle=False)))
    assert offsets.tolist() == sparse.offsets.tolist() and indices.tolist() == sparse.indices.tolist()
    bag = torch.nn.EmbeddingBag(13, 4, mode="sum")
    assert bag(indices, offsets[:-1], per_sample_weights=values).shape == (5, 4)
