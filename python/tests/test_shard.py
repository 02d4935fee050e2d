"""Shard decoding: contents against nfm's own libFM export, and corrupted shards against clear errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import zstandard

import nfm_shards
from nfm_shards.shard import HEADER_SIZE, decode_shard

from conftest import run_nfm


def parse_libfm(path: Path):
    rows = []
    for line in path.read_text().splitlines():
        tokens = line.split()
        rows.append((float(tokens[0]), [(int(t.split(":")[0]), float(t.split(":")[1])) for t in tokens[1:]]))
    return rows


def test_fixed_split_matches_nfm_export(nfm, fixture_ds, tmp_path):
    run_nfm(nfm, "export-libfm", str(fixture_ds), "--out", str(tmp_path / "libfm"))
    ds = nfm_shards.open_dataset(str(fixture_ds))
    assert ds.layout == "fixed"
    for split in ("train", "validation", "test"):
        block = ds.read_split(split)
        expected = parse_libfm(tmp_path / "libfm" / f"{split}.libfm")
        assert block.indices.shape == (len(expected), len(ds.fields)) == (ds.rows(split), 10)
        assert block.indices.dtype == np.int64 and block.labels.dtype == np.float32
        assert block.labels.tolist() == [label for label, _ in expected]
        assert block.indices.tolist() == [[i for i, _ in entries] for _, entries in expected]


def test_sparse_split_matches_libfm_input(sparse_ds):
    from conftest import SPARSE_TRAIN

    ds = nfm_shards.open_dataset(str(sparse_ds))
    assert ds.layout == "sparse" and len(ds.shard_entries("train")) == 3
    block = ds.read_split("train")
    rows = [line.split() for line in SPARSE_TRAIN.splitlines()]
    assert block.labels.tolist() == [float(r[0]) for r in rows]
    assert block.offsets.tolist() == list(np.cumsum([0] + [len(r) - 1 for r in rows]))
    assert block.indices.tolist() == [int(t.split(":")[0]) for r in rows for t in r[1:]]
    assert block.values.tolist() == [float(np.float32(t.split(":")[1])) for r in rows for t in r[1:]]


def test_index_dtype_and_vocabularies(fixture_ds):
    ds = nfm_shards.open_dataset(str(fixture_ds))
    narrow = ds.read_split("test", index_dtype=np.int32)
    assert narrow.indices.dtype == np.int32
    assert narrow.indices.tolist() == ds.read_split("test").indices.tolist()
    vocabularies = ds.vocabularies()
    assert list(vocabularies) == ds.fields
    for field in ds.manifest["fields"]:
        assert len(vocabularies[field["name"]]) == field["cardinality"]
        lines = (fixture_ds / field["vocabulary"]).read_text().split("\n")
        assert lines[0] == "index\tcount\tvalue"
        assert vocabularies[field["name"]][0] == lines[1].split("\t", 2)[2]
    values, counts = ds.vocabulary_with_counts("item")
    assert counts.sum() > 0 and len(counts) == len(values)


def test_vocabulary_escapes():
    data = b"index\tcount\tvalue\n0\t3\ta\\tb\n1\t1\tline\\nbreak\\\\x\n2\t2\tcr\\r\n"
    values, counts = nfm_shards.parse_vocabulary(data, "v.tsv")
    assert values == ["a\tb", "line\nbreak\\x", "cr\r"] and counts.tolist() == [3, 1, 2]
    with pytest.raises(nfm_shards.VocabularyError, match="v.tsv.*line = 3"):
        nfm_shards.parse_vocabulary(b"index\tcount\tvalue\n0\t1\ta\n5\t1\tb\n", "v.tsv")
    with pytest.raises(nfm_shards.VocabularyError, match="header"):
        nfm_shards.parse_vocabulary(b"0\t1\ta\n", "v.tsv")


# --- corrupted shards ---------------------------------------------------------------------------------

def shard_bytes(dataset: Path) -> bytes:
    return (dataset / "train" / "part-00000.nfms").read_bytes()


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def with_payload(data: bytes, payload: bytes) -> bytes:
    """The shard ``data`` with its payload replaced (recompressed, header sizes updated)."""
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True).compress(payload)
    header = bytearray(data[:HEADER_SIZE])
    struct.pack_into("<QQ", header, 32, len(payload), len(frame))
    return bytes(header) + frame


def expect_corrupt(data: bytes, pattern: str) -> nfm_shards.CorruptShardError:
    with pytest.raises(nfm_shards.CorruptShardError, match=pattern) as caught:
        decode_shard(data, "train/part-00000.nfms")
    assert "train/part-00000.nfms" in str(caught.value)
    assert caught.value.file == "train/part-00000.nfms" and caught.value.exit_code == 4
    return caught.value


@pytest.mark.parametrize("offset, fmt, value, pattern", [
    (0, "<B", ord("X"), "bad magic"),
    (8, "<H", 2, "version"),
    (10, "<B", 7, "layout"),
    (11, "<B", 1, "layout"),
    (12, "<I", 0xFFFFFFFF, "fields"),
    (12, "<I", 11, "entries"),
    (16, "<Q", 1 << 63, "rows"),
    (16, "<Q", (1 << 32) - 1, "entries|payload"),
    (24, "<Q", (1 << 64) - 1, "entries"),
    (32, "<Q", 1 << 40, "payloadBytes"),
    (32, "<Q", (1 << 64) - 1, "payloadBytes"),
    (40, "<Q", 1 << 62, "compressedBytes"),
    (40, "<Q", 0, "compressedBytes"),
])
def test_header_fields_at_extreme_values(fixture_ds, offset, fmt, value, pattern):
    expect_corrupt(patch(shard_bytes(fixture_ds), offset, fmt, value), pattern)


def test_every_flipped_header_byte_is_an_error(fixture_ds):
    data = shard_bytes(fixture_ds)
    for position in range(HEADER_SIZE):
        corrupted = bytearray(data)
        corrupted[position] ^= 0xFF
        expect_corrupt(bytes(corrupted), "part-00000")


def test_flipped_frame_byte_fails_the_checksum(fixture_ds):
    data = bytearray(shard_bytes(fixture_ds))
    data[len(data) // 2] ^= 0x01
    expect_corrupt(bytes(data), "zstd")


def test_truncated_and_padded(fixture_ds):
    data = shard_bytes(fixture_ds)
    expect_corrupt(data[:-1], "truncated or padded")
    expect_corrupt(data + b"\0", "truncated or padded")
    expect_corrupt(data[:20], "truncated header")
    expect_corrupt(b"", "truncated header")


def test_frame_content_size_must_equal_the_header(fixture_ds):
    data = shard_bytes(fixture_ds)
    payload = zstandard.ZstdDecompressor().decompress(data[HEADER_SIZE:])
    shorter = with_payload(data, payload[:-4])
    restored = patch(shorter, 32, "<Q", len(payload))  # header claims the original size
    expect_corrupt(restored, "frameContentSize|payload")


def test_bad_column_table(fixture_ds):
    data = shard_bytes(fixture_ds)
    payload = bytearray(zstandard.ZstdDecompressor().decompress(data[HEADER_SIZE:]))
    bad_width = bytearray(payload)
    bad_width[4] = 3
    expect_corrupt(with_payload(data, bytes(bad_width)), r"columns\[0\].width")
    nonzero_pad = bytearray(payload)
    nonzero_pad[5] = 1
    expect_corrupt(with_payload(data, bytes(nonzero_pad)), "width")
    wider = bytearray(payload)
    wider[4] = 4 if payload[4] != 4 else 1
    expect_corrupt(with_payload(data, bytes(wider)), "column table")


def test_sparse_offsets_must_be_monotone(sparse_ds):
    data = (sparse_ds / "train" / "part-00000.nfms").read_bytes()
    payload = bytearray(zstandard.ZstdDecompressor().decompress(data[HEADER_SIZE:]))
    rows = struct.unpack_from("<Q", data, 16)[0]
    struct.pack_into("<I", payload, 4 * rows + 4, 1000)  # offsets[1]
    with pytest.raises(nfm_shards.CorruptShardError, match="rowOffsets"):
        decode_shard(with_payload(data, bytes(payload)), "x.nfms")


def test_dataset_reader_names_the_corrupted_file(fixture_copy):
    path = fixture_copy / "train" / "part-00000.nfms"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x40
    path.write_bytes(bytes(data))
    ds = nfm_shards.open_dataset(str(fixture_copy))
    with pytest.raises(nfm_shards.CorruptShardError, match="train/part-00000.nfms.*sha256"):
        ds.read_split("train")
    unchecked = nfm_shards.open_dataset(str(fixture_copy), check_sha256=False)
    with pytest.raises(nfm_shards.CorruptShardError, match="train/part-00000.nfms"):
        unchecked.read_split("train")
    assert ds.read_split("test").rows == ds.rows("test")


def test_threaded_split_read_matches_and_reports_the_bad_shard(multi_ds, tmp_path):
    import shutil

    ds = nfm_shards.open_dataset(str(multi_ds))
    one = ds.read_split("train", threads=1)
    many = ds.read_split("train", threads=4)
    assert np.array_equal(one.indices, many.indices) and np.array_equal(one.labels, many.labels)
    copy = tmp_path / "ds"
    shutil.copytree(multi_ds, copy)
    path = copy / "train" / "part-00003.nfms"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(nfm_shards.CorruptShardError, match="train/part-00003.nfms: field bytes"):
        nfm_shards.open_dataset(str(copy)).read_split("train", threads=4)
