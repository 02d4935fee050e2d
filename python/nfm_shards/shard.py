"""Decoding of ``.nfms`` shard files (format version 1; see docs/FORMAT.md) into numpy arrays.

Every size in the 48-byte header is checked against the file's size before anything is allocated: the
compressed size must equal the bytes after the header, the payload size must follow from the row, field and
entry counts, must not exceed what a zstd frame of that size can hold (32,768 bytes per compressed byte),
and must equal the content size that the zstd frame header declares. Decompression verifies the frame's
XXH64 checksum. All loops run inside numpy (no per-row Python).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import zstandard

from .errors import CorruptShardError

MAGIC = b"NFMSHARD"
VERSION = 1
HEADER_SIZE = 48
LAYOUT_FIXED = 0
LAYOUT_SPARSE = 1
_HEADER = struct.Struct("<8sHBBIQQQQ")
# A zstd block decompresses to at most 128 KiB and takes at least 4 bytes (an RLE block), so a frame of
# n bytes never holds more than 32,768·n bytes.
MAX_EXPANSION = 32768
_MAX_FIELDS = 1 << 16
_MAX_ROWS = 1 << 32
_MAX_ENTRIES = 1 << 40


@dataclass(frozen=True)
class ShardHeader:
    """The 48-byte header of a shard: layout 0 fixed, 1 sparse; sizes in bytes."""

    version: int
    layout: int
    fields: int
    rows: int
    entries: int
    payload_bytes: int
    frame_bytes: int


@dataclass
class FixedShard:
    """A fixed-layout shard: ``indices[r, f]`` is row ``r``'s global feature index in field ``f``."""

    indices: np.ndarray  # (rows, fields), index dtype (default int64)
    labels: np.ndarray  # (rows,), float32

    layout = "fixed"

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class SparseShard:
    """A sparse-layout shard: row ``r`` owns ``indices[offsets[r]:offsets[r+1]]`` and the matching ``values``."""

    indices: np.ndarray  # (nnz,), index dtype
    values: np.ndarray  # (nnz,), float32
    offsets: np.ndarray  # (rows + 1,), int64
    labels: np.ndarray  # (rows,), float32

    layout = "sparse"

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])


Shard = Union[FixedShard, SparseShard]


def parse_header(data: bytes, name: str) -> ShardHeader:
    """Reads and checks the header of the shard bytes ``data`` against their length (no allocation)."""

    def fail(message: str, field: Optional[str] = None, value: object = None) -> CorruptShardError:
        return CorruptShardError(message, file=name, field=field, value=value)

    if len(data) < HEADER_SIZE:
        raise fail(f"truncated header ({len(data)} bytes, a shard starts with {HEADER_SIZE})")
    magic, version, layout, reserved, fields, rows, entries, payload, frame = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise fail("not an nfm shard (bad magic)", "magic", magic)
    if version != VERSION:
        raise fail(f"unsupported shard version (this reader knows {VERSION})", "version", version)
    if layout not in (LAYOUT_FIXED, LAYOUT_SPARSE) or reserved != 0:
        raise fail("unknown layout byte", "layout", layout if reserved == 0 else f"{layout} (reserved {reserved})")
    if frame != len(data) - HEADER_SIZE:
        raise fail(
            f"header announces {frame} compressed bytes, file holds {len(data) - HEADER_SIZE} (truncated or padded)",
            "compressedBytes", frame)
    if fields >= _MAX_FIELDS:
        raise fail(f"field count must be below {_MAX_FIELDS}", "fields", fields)
    if rows >= _MAX_ROWS:
        raise fail(f"row count must be below {_MAX_ROWS}", "rows", rows)
    if entries >= _MAX_ENTRIES:
        raise fail(f"entry count must be below {_MAX_ENTRIES}", "entries", entries)
    if layout == LAYOUT_FIXED:
        if fields == 0 or entries != rows * fields:
            raise fail(f"inconsistent fixed-layout counts ({rows} rows × {fields} fields)", "entries", entries)
        if not (8 * fields + 4 * rows <= payload <= 8 * fields + rows * (4 + 4 * fields)):
            raise fail("payload size impossible for its row and field counts", "payloadBytes", payload)
    else:
        if fields != 0:
            raise fail("sparse shard with a field count", "fields", fields)
        expected = 4 * (2 * rows + 1 + 2 * entries)
        if payload != expected:
            raise fail(f"payload size, expected {expected}", "payloadBytes", payload)
    if payload > MAX_EXPANSION * frame:
        raise fail(f"payload size larger than a {frame}-byte zstd frame can hold", "payloadBytes", payload)
    return ShardHeader(version, layout, fields, rows, entries, payload, frame)


def _decompress(data: bytes, header: ShardHeader, name: str) -> bytes:
    frame = memoryview(data)[HEADER_SIZE:]
    try:
        params = zstandard.get_frame_parameters(frame)
    except zstandard.ZstdError as error:
        raise CorruptShardError(f"bad zstd frame header ({error})", file=name) from None
    if params.content_size != header.payload_bytes:
        raise CorruptShardError(
            f"zstd frame header does not announce {header.payload_bytes} bytes", file=name,
            field="frameContentSize", value=params.content_size)
    try:
        payload = zstandard.ZstdDecompressor().decompress(frame, max_output_size=header.payload_bytes)
    except zstandard.ZstdError as error:
        raise CorruptShardError(f"zstd: {error}", file=name) from None
    if len(payload) != header.payload_bytes:
        raise CorruptShardError(
            f"zstd frame holds {len(payload)} bytes, expected {header.payload_bytes}", file=name)
    return payload


def _decode_fixed(payload: bytes, header: ShardHeader, name: str, dtype: np.dtype,
                  out: Optional[np.ndarray] = None) -> FixedShard:
    rows, fields = header.rows, header.fields
    table = np.frombuffer(payload, dtype="<u4", count=2 * fields).reshape(fields, 2)
    widths = table[:, 1] & 0xFF
    for f in range(fields):
        if int(widths[f]) not in (1, 2, 4) or int(table[f, 1]) >> 8 != 0:
            raise CorruptShardError(
                f"bad column width for field {f} (1, 2 or 4 bytes, then three zero bytes)", file=name,
                field=f"columns[{f}].width", value=int(table[f, 1]))
    start = 8 * fields + 4 * rows
    if header.payload_bytes != start + int(widths.sum()) * rows:
        raise CorruptShardError(
            "payload size does not match its column table", file=name, field="payloadBytes",
            value=header.payload_bytes)
    labels = np.frombuffer(payload, dtype="<f4", count=rows, offset=8 * fields).astype(np.float32)
    if out is None:
        out = np.empty((rows, fields), dtype=dtype)
    elif out.shape != (rows, fields):
        raise CorruptShardError(f"holds ({rows}, {fields}) indices, the reader expected {out.shape}", file=name,
                                field="fields", value=fields)
    # Global index = base + stored value in 32-bit arithmetic (as nfm), written (widened) into `out`.
    cursor = start
    for f in range(fields):
        width = int(widths[f])
        stored = np.frombuffer(payload, dtype=f"<u{width}", count=rows, offset=cursor)
        np.add(stored, np.uint32(table[f, 0]), out=out[:, f], casting="unsafe")
        cursor += width * rows
    return FixedShard(indices=out, labels=labels)


def _decode_sparse(payload: bytes, header: ShardHeader, name: str, dtype: np.dtype) -> SparseShard:
    rows, entries = header.rows, header.entries
    labels = np.frombuffer(payload, dtype="<f4", count=rows).astype(np.float32)
    offsets = np.frombuffer(payload, dtype="<u4", count=rows + 1, offset=4 * rows).astype(np.int64)
    indices = np.frombuffer(payload, dtype="<u4", count=entries, offset=4 * (2 * rows + 1)).astype(dtype)
    values = np.frombuffer(payload, dtype="<f4", count=entries, offset=4 * (2 * rows + 1 + entries))
    if offsets[0] != 0 or offsets[-1] != entries or bool(np.any(offsets[1:] < offsets[:-1])):
        raise CorruptShardError("row offsets are not monotone from 0 to the entry count", file=name,
                                field="rowOffsets")
    return SparseShard(indices=indices, values=values.astype(np.float32), offsets=offsets, labels=labels)


def decode_shard(data: bytes, name: str = "<shard>", index_dtype=np.int64, out: Optional[np.ndarray] = None) -> Shard:
    """Decodes the bytes of a shard file into a :class:`FixedShard` or :class:`SparseShard`.

    ``name`` appears in every error. Raises :class:`CorruptShardError` on any inconsistency. A fixed-layout
    shard can be decoded into ``out``, a (rows, fields) integer array (e.g. a slice of a whole split).
    Cost: one zstd decompression plus O(rows × fields) vectorised numpy work.
    """
    header = parse_header(data, name)
    payload = _decompress(data, header, name)
    dtype = np.dtype(index_dtype)
    if header.layout == LAYOUT_FIXED:
        return _decode_fixed(payload, header, name, dtype, out)
    return _decode_sparse(payload, header, name, dtype)


def read_shard(path: str, name: Optional[str] = None, index_dtype=np.int64) -> Shard:
    """Reads and decodes the shard file at ``path`` (``name``, default ``path``, is used in errors)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return decode_shard(data, name or path, index_dtype)
