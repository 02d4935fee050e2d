"""Read nfm datasets (zstd shards, manifest, vocabularies) into numpy, PyTorch and Parquet.

>>> import nfm_shards
>>> ds = nfm_shards.open_dataset("data/frappe")       # checks manifest.sha256 and the path rules
>>> train = ds.read_split("train")                      # FixedShard: indices (rows, fields), labels (rows,)
>>> ds.vocabulary("item")[:3]
>>> nfm_shards.verify("data/frappe").ok                 # the answers of `nfm verify`

The byte-level format is specified in docs/FORMAT.md of the nfm repository.
"""

from .dataset import Dataset, open_dataset, parse_vocabulary
from .errors import (
    CheckpointError,
    CorruptShardError,
    ManifestError,
    NFMError,
    NFMIOError,
    UsageError,
    VocabularyError,
)
from .libfm import export_libfm
from .manifest import load_manifest
from .model import load_model
from .partition import Block, plan
from .shard import FixedShard, SparseShard, decode_shard, read_shard
from .stream import epoch_blocks
from .verify import Problem, Report, verify

__version__ = "1.0.0"

__all__ = [
    "Block", "CheckpointError", "CorruptShardError", "Dataset", "FixedShard", "ManifestError", "NFMError",
    "NFMIOError", "Problem", "Report", "SparseShard", "UsageError", "VocabularyError", "decode_shard",
    "epoch_blocks", "export_libfm", "load_manifest", "load_model", "open_dataset", "parse_vocabulary", "plan",
    "read_shard", "verify",
]
