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
    ``torch.distributed``'s when it is initialised, else 0/1.
    """

    def __init__(self, directory: str, split: str = "train", *, batch_size: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, buffer_size: int = 65536, drop_last: bool = False,
                 rank: Optional[int] = None, world_size: Optional[int] = None, check_sha256: bool = True) -> None:
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
            labels = torch.from_numpy(np.ascontiguousarray(block.labels))
            indices = torch.from_numpy(np.ascontiguousarray(block.indices))
            if self.batch_size is not None:
                if block.sparse:
                    yield indices, torch.from_numpy(block.values), torch.from_numpy(block.offsets), labels
                else:
                    yield indices, labels
            elif block.sparse:
                values = torch.from_numpy(block.values)
                for r in range(len(block)):
                    lo, hi = int(block.offsets[r]), int(block.offsets[r + 1])
                    yield indices[lo:hi], values[lo:hi], labels[r]
            else:
                yield from zip(indices, labels)
