"""PyTorch ``IterableDataset`` over an nfm split (needs ``pip install nfm-shards[torch]``).

``NFMIterableDataset`` splits each epoch across DataLoader workers × distributed ranks so that every row is
read exactly once per epoch (see :mod:`nfm_shards.partition`), with a seeded shard order and shuffle buffer.
Call :meth:`NFMIterableDataset.set_epoch` before each epoch (not with ``persistent_workers=True``, whose
workers keep the epoch they started with).
"""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np
import torch
import torch.distributed
import torch.utils.data

from .dataset import Dataset
from .partition import Block
from .stream import epoch_blocks


def consumer_of(rank: int, world_size: int) -> Tuple[int, int]:
    """(consumer, consumers) of this process: ``rank × workers + worker`` of ``world_size × workers``."""
    info = torch.utils.data.get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world_size * workers


class NFMIterableDataset(torch.utils.data.IterableDataset):
    """Rows of one split of an nfm dataset as tensors.

    Items: fixed layout, ``(indices int64 [fields], label float32)`` per row, or with ``batch_size``
    ``(indices [B, fields], labels [B])``; sparse layout, ``(indices, values, label)`` per row, or batched
    ``(indices [nnz], values [nnz], offsets [B + 1], labels [B])`` (the inputs of ``nn.EmbeddingBag``).
    Use ``DataLoader(dataset, batch_size=None)`` in batched mode. ``rank``/``world_size`` default to
    ``torch.distributed``'s when it is initialised, else 0/1. ``return_row_ids`` appends each row's
    position in the split's stored order (an int64 tensor in batched mode) to every item.

    Consumers' row counts differ by at most one, so their batch counts may differ by one: under
    DistributedDataParallel, which needs equal step counts, stop each epoch after
    ``rows // (world_size × workers) // batch_size`` batches per worker (or use ``drop_last`` and a
    ``batch_size`` that divides the per-consumer count).
    """

    def __init__(self, directory: str, split: str = "train", *, batch_size: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, buffer_size: int = 65536, drop_last: bool = False,
                 rank: Optional[int] = None, world_size: Optional[int] = None, check_sha256: bool = True,
                 return_row_ids: bool = False) -> None:
        super().__init__()
        self.dataset = Dataset(directory, check_sha256)
        self.dataset.shard_entries(split)
        self.split = split
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.buffer_size = buffer_size
        self.drop_last = drop_last
        self.epoch = 0
        self.return_row_ids = return_row_ids
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = rank if rank is not None else (torch.distributed.get_rank() if distributed else 0)
        self.world_size = world_size if world_size is not None else (
            torch.distributed.get_world_size() if distributed else 1)

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose shard order and shuffle the next iteration uses."""
        self.epoch = epoch

    def blocks(self) -> Iterator[Block]:
        """This consumer's numpy blocks for the current epoch (row ids included)."""
        consumer, consumers = consumer_of(self.rank, self.world_size)
        return epoch_blocks(self.dataset, self.split, seed=self.seed, epoch=self.epoch, consumer=consumer,
                            consumers=consumers, shuffle=self.shuffle, buffer_size=self.buffer_size,
                            batch_size=self.batch_size, drop_last=self.drop_last)

    def __iter__(self):
        for block in self.blocks():
            for item in self._items(block):
                yield item

    def _items(self, block: Block):
        labels = torch.from_numpy(np.ascontiguousarray(block.labels))
        indices = torch.from_numpy(np.ascontiguousarray(block.indices))
        ids = torch.from_numpy(np.ascontiguousarray(block.row_ids))
        extra = (ids,) if self.return_row_ids else ()
        if self.batch_size is not None:
            if block.sparse:
                values, offsets = torch.from_numpy(block.values), torch.from_numpy(block.offsets)
                return [(indices, values, offsets, labels) + extra]
            return [(indices, labels) + extra]
        if block.sparse:
            values = torch.from_numpy(block.values)
            offsets = block.offsets.tolist()
            rows = [(indices[offsets[r]:offsets[r + 1]], values[offsets[r]:offsets[r + 1]], labels[r])
                    for r in range(len(block))]
        else:
            rows = list(zip(indices, labels))
        if self.return_row_ids:
            rows = [row + (ids[r],) for r, row in enumerate(rows)]
        return rows
