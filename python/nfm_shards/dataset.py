"""An nfm dataset directory: its manifest, vocabularies and shards as numpy arrays."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .errors import CorruptShardError, UsageError, VocabularyError
from .manifest import MANIFEST, SPLITS, check_path, load_manifest, read_bytes
from .shard import FixedShard, Shard, SparseShard, decode_shard

VOCABULARY_HEADER = b"index\tcount\tvalue"


def parse_vocabulary(data: bytes, name: str) -> Tuple[List[str], np.ndarray]:
    """Parses a vocabulary TSV (header ``index<TAB>count<TAB>value``, one line per value in index order,
    ``\\\\ \\t \\n \\r`` escapes); returns (values, counts). Raises :class:`VocabularyError` with the line."""
    lines = data.split(b"\n")
    if lines[0] != VOCABULARY_HEADER:
        raise VocabularyError("expected header 'index<TAB>count<TAB>value'", file=name, field="line", value=1)
    values: List[str] = []
    counts: List[int] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        parts = line.split(b"\t", 2)
        try:
            index, count = int(parts[0]), int(parts[1])
        except (ValueError, IndexError):
            index, count = -1, -1
        if len(parts) != 3 or index != len(values) or count < 0:
            raise VocabularyError(f"expected '{len(values)}<TAB>count<TAB>value'", file=name, field="line",
                                  value=number)
        raw = parts[2]
        if b"\\" in raw:
            raw = _unescape(raw)
        try:
            values.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise VocabularyError("value is not valid UTF-8", file=name, field="line", value=number) from None
        counts.append(count)
    return values, np.asarray(counts, dtype=np.int64)


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    escaped = False
    for byte in raw:
        if escaped:
            out += {116: b"\t", 110: b"\n", 114: b"\r"}.get(byte, bytes([byte]))
            escaped = False
        elif byte == 92:
            escaped = True
        else:
            out.append(byte)
    return bytes(out)


class Dataset:
    """A dataset directory written by ``nfm build`` or ``nfm import-libfm``.

    Opening checks ``manifest.sha256`` and the manifest's path and consistency rules (see
    :mod:`nfm_shards.manifest`); reading a shard or a vocabulary checks its size and SHA-256 against the
    manifest first (``check_sha256=False`` skips the hash, never the header checks).
    """

    def __init__(self, directory: str, check_sha256: bool = True) -> None:
        self.directory = directory
        self.check_sha256 = check_sha256
        self.manifest: Dict[str, Any] = load_manifest(directory)
        self._files = {item["path"]: item for item in self.manifest["files"]}

    @property
    def layout(self) -> str:
        """``"fixed"`` (one index per field) or ``"sparse"`` (index/value lists)."""
        return "fixed" if self.manifest["layout"] == 0 else "sparse"

    @property
    def fields(self) -> List[str]:
        return [field["name"] for field in self.manifest["fields"]]

    @property
    def feature_count(self) -> int:
        return int(self.manifest["featureCount"])

    def rows(self, split: str) -> int:
        """Number of instances in ``split``."""
        return int(self.manifest["counts"][self._split(split)])

    def _split(self, split: str) -> str:
        if split not in SPLITS:
            raise UsageError(f"unknown split (expected one of {', '.join(SPLITS)})", field="split", value=split)
        return split

    def shard_entries(self, split: str) -> List[Dict[str, Any]]:
        """The manifest entries (file, rows, bytes, sha256) of ``split``'s shards, in stored order."""
        self._split(split)
        return [shard for shard in self.manifest["shards"] if shard["split"] == split]

    def _read_checked(self, relative: str, size: int, sha256: Optional[str], error) -> bytes:
        path = check_path(self.directory, relative, "path", os.path.join(self.directory, MANIFEST))
        if path is None:
            raise error("listed in the manifest, not on disk", file=relative)
        data = read_bytes(path)
        if len(data) != size:
            raise error(f"{len(data)} bytes, manifest says {size}", file=relative, field="bytes", value=size)
        if self.check_sha256 and sha256 is not None:
            digest = hashlib.sha256(data).hexdigest()
            if digest != sha256:
                raise error(f"sha256 {digest}, manifest says {sha256}", file=relative, field="sha256", value=sha256)
        return data

    def read_shard(self, entry: Dict[str, Any], index_dtype=np.int64, out: Optional[np.ndarray] = None) -> Shard:
        """Decodes one shard (an item of :meth:`shard_entries`), checked against the manifest; a fixed-layout
        shard goes into ``out`` when given (see :func:`decode_shard`)."""
        data = self._read_checked(entry["file"], entry["bytes"], entry.get("sha256"), CorruptShardError)
        if out is not None and out.shape[0] != entry["rows"]:
            raise CorruptShardError("row count differs from the manifest's", file=entry["file"], field="rows",
                                    value=entry["rows"])
        shard = decode_shard(data, entry["file"], index_dtype, out)
        if shard.rows != entry["rows"]:
            raise CorruptShardError(f"{shard.rows} rows, manifest says {entry['rows']}", file=entry["file"],
                                    field="rows", value=entry["rows"])
        return shard

    def shards(self, split: str, index_dtype=np.int64) -> Iterator[Shard]:
        """Yields ``split``'s shards in stored order as :class:`FixedShard` / :class:`SparseShard`."""
        for entry in self.shard_entries(split):
            yield self.read_shard(entry, index_dtype)

    def read_split(self, split: str, index_dtype=np.int64, threads: Optional[int] = None) -> Shard:
        """The whole split as one shard object (arrays in stored order).

        Fixed layout: every shard is decoded straight into one preallocated (rows, fields) array, on up to
        ``threads`` threads (default: the CPU count, at most 8; zstd, SHA-256 and numpy release the GIL).
        """
        if self.layout != "fixed":
            return concatenate(list(self.shards(split, index_dtype)), self.layout, 0, index_dtype)
        entries = self.shard_entries(split)
        bounds = np.cumsum([0] + [int(entry["rows"]) for entry in entries])
        indices = np.empty((int(bounds[-1]), len(self.fields)), dtype=index_dtype)
        labels = np.empty(int(bounds[-1]), dtype=np.float32)

        def decode(k: int) -> None:
            shard = self.read_shard(entries[k], index_dtype, out=indices[bounds[k]:bounds[k + 1]])
            labels[bounds[k]:bounds[k + 1]] = shard.labels

        workers = min(len(entries), threads if threads is not None else min(8, os.cpu_count() or 1))
        if workers <= 1:
            for k in range(len(entries)):
                decode(k)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(decode, range(len(entries))))  # re-raises the first error
        return FixedShard(indices, labels)

    def vocabulary(self, field: str) -> List[str]:
        """Values of ``field`` in index order (value ``i`` has global index ``offset + i``)."""
        return self.vocabulary_with_counts(field)[0]

    def vocabulary_with_counts(self, field: str) -> Tuple[List[str], np.ndarray]:
        """(values, counts) of ``field``'s vocabulary file, checked against the manifest's SHA-256."""
        for item in self.manifest["fields"]:
            if item["name"] == field:
                relative = item.get("vocabulary", "")
                if not relative:
                    raise VocabularyError("the dataset has no vocabulary for this field", field="field", value=field)
                listed = self._files.get(relative)
                if listed is None:
                    data = read_bytes(os.path.join(self.directory, relative))
                else:
                    data = self._read_checked(relative, listed["bytes"], listed.get("sha256"), VocabularyError)
                values, counts = parse_vocabulary(data, relative)
                if len(values) != item["cardinality"]:
                    raise VocabularyError(f"{len(values)} values, manifest says {item['cardinality']}",
                                          file=relative, field="cardinality", value=item["cardinality"])
                return values, counts
        raise UsageError("no such field", field="field", value=field)

    def vocabularies(self) -> Dict[str, List[str]]:
        """Every field's values in index order, keyed by field name (fields with a vocabulary file)."""
        return {item["name"]: self.vocabulary(item["name"]) for item in self.manifest["fields"] if item.get("vocabulary")}


def concatenate(parts: List[Shard], layout: str, fields: int, index_dtype=np.int64) -> Shard:
    """Joins shards of one layout in order into one :class:`FixedShard` / :class:`SparseShard`."""
    dtype = np.dtype(index_dtype)
    if layout == "fixed":
        if not parts:
            return FixedShard(np.empty((0, fields), dtype=dtype), np.empty(0, dtype=np.float32))
        if len(parts) == 1:
            return parts[0]
        return FixedShard(np.concatenate([p.indices for p in parts]), np.concatenate([p.labels for p in parts]))
    if not parts:
        return SparseShard(np.empty(0, dtype=dtype), np.empty(0, np.float32), np.zeros(1, np.int64),
                           np.empty(0, np.float32))
    shifts = np.cumsum([0] + [len(p.indices) for p in parts[:-1]])
    offsets = np.concatenate([parts[0].offsets[:1]] + [p.offsets[1:] + s for p, s in zip(parts, shifts)])
    return SparseShard(np.concatenate([p.indices for p in parts]), np.concatenate([p.values for p in parts]),
                       offsets, np.concatenate([p.labels for p in parts]))


def open_dataset(directory: str, check_sha256: bool = True) -> Dataset:
    """Opens the dataset directory ``directory`` (see :class:`Dataset`)."""
    return Dataset(directory, check_sha256)
