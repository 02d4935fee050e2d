"""The worked examples of docs/FORMAT.md decode with nfm_shards to the rows the document describes."""

from __future__ import annotations

import re
import struct

import numpy as np
import zstandard

from nfm_shards import FixedShard, SparseShard, decode_shard

from conftest import REPO


def hex_dump(name: str) -> bytes:
    text = (REPO / "docs" / "FORMAT.md").read_text()
    block = re.search(f"<!-- {name}: begin -->(.*?)<!-- {name}: end -->", text, re.S).group(1)
    out = bytearray()
    for line in block.splitlines():
        tokens = line.split("|")[0].split()
        if tokens and len(tokens[0]) == 8:
            assert int(tokens[0], 16) == len(out)
            out += bytes(int(t, 16) for t in tokens[1:])
    return bytes(out)


def test_fixed_example():
    shard = decode_shard(hex_dump("shard-hex"), "FORMAT.md")
    assert isinstance(shard, FixedShard)
    assert shard.labels.tolist() == [1, -1, 1] and shard.indices.tolist() == [[0, 3], [2, 4], [1, 3]]
    assert zstandard.ZstdDecompressor().decompress(hex_dump("shard-hex")[48:]) == hex_dump("payload-hex")


def test_sparse_example():
    payload = hex_dump("sparse-payload-hex")
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True).compress(payload)
    header = b"NFMSHARD" + struct.pack("<HBBIQQQQ", 1, 1, 0, 0, 3, 3, len(payload), len(frame))
    shard = decode_shard(header + frame, "sparse")
    assert isinstance(shard, SparseShard)
    assert shard.labels.tolist() == [0.5, -1, 1] and shard.offsets.tolist() == [0, 2, 2, 3]
    assert shard.indices.tolist() == [1, 4, 3] and np.allclose(shard.values, [2, 0.25, 1])
