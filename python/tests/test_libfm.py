"""export-libfm: byte-identical to `nfm export-libfm` (fixed, sparse, real Frappe) and Swift's Float text."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nfm_shards.cli import main
from nfm_shards.libfm import format_float, swift_description

from conftest import run_nfm

SPLITS = ("train", "validation", "test")

# (float32 bit pattern, Swift's "\(Float(bitPattern:))"), sampled from a run of 200,000 random patterns
# against Swift 6.3 (all agreed), plus edge cases.
SWIFT_DESCRIPTIONS = [
    (0x3F000000, "0.5"), (0x3DCCCCCD, "0.1"), (0x3727C5AC, "1e-05"), (0x38D1B717, "0.0001"),
    (0x390164EF, "0.0001234"), (0x34210FB0, "1.5e-07"), (0x7F7FFFFF, "3.4028235e+38"), (0x4E6E6B28, "1e+09"),
    (0x4B800000, "16777216.0"), (0x4C000000, "3.3554432e+07"), (0x4CEB79A3, "1.2345679e+08"),
    (0x4B3C614E, "12345678.0"), (0x4996B43E, "1234567.8"), (0x497423FE, "999999.9"), (0x40490FDB, "3.1415927"),
    (0x00800000, "1.1754944e-38"), (0x00000001, "1e-45"), (0x80000000, "-0.0"), (0x00000000, "0.0"),
    (0xBF400000, "-0.75"), (0x3F800001, "1.0000001"), (0x7F800000, "inf"), (0xFF800000, "-inf"), (0x7FC00000, "nan"),
    (0xFFC00000, "-nan"), (0x3A83126F, "0.001"), (0x3851B717, "5e-05"), (0xD4883E28, "-4.681267e+12"),
    (0xF466FCB7, "-7.3202755e+31"), (0xE2E661A8, "-2.124894e+21"), (0x3C534AE5, "0.012896274"),
    (0x509BDFA1, "2.0920994e+10"), (0xB5FBF291, "-1.8771553e-06"), (0x451C1916, "2497.5679"),
    (0x5F6F0244, "1.7222403e+19"), (0x7F9E1BB7, "snan(0x1e1bb7)"),
]


def test_swift_float_description():
    for bits, text in SWIFT_DESCRIPTIONS:
        value = np.array([bits], dtype=np.uint32).view(np.float32)[0]
        assert swift_description(value) == text, hex(bits)


def test_nfm_label_formatting():
    assert [format_float(v) for v in (1, -1, 0, -0.0, 0.5, 1e9, 999999936, 2.5e-7)] == \
        ["1", "-1", "0", "0", "0.5", "1e+09", "999999936", "2.5e-07"]


def assert_identical(nfm, dataset, tmp_path):
    run_nfm(nfm, "export-libfm", str(dataset), "--out", str(tmp_path / "swift"))
    assert main(["export-libfm", str(dataset), str(tmp_path / "python")]) == 0
    for split in SPLITS:
        swift = (tmp_path / "swift" / f"{split}.libfm").read_bytes()
        assert (tmp_path / "python" / f"{split}.libfm").read_bytes() == swift, split
    return tmp_path / "python"


def test_fixture_export_is_byte_identical(nfm, fixture_ds, tmp_path):
    out = assert_identical(nfm, fixture_ds, tmp_path)
    assert len((out / "train.libfm").read_text().splitlines()) == 6300
    assert main(["export-libfm", str(fixture_ds), str(out)]) == 2  # refuses to overwrite
    assert main(["export-libfm", str(fixture_ds), str(out), "--force"]) == 0


def test_sparse_export_is_byte_identical(nfm, sparse_ds, tmp_path):
    out = assert_identical(nfm, sparse_ds, tmp_path)
    assert (out / "train.libfm").read_text().splitlines()[2] == "1 5:1e-05 9:3"


def test_real_frappe_export_is_byte_identical(nfm, frappe_ds, tmp_path):
    run_nfm(nfm, "export-libfm", str(frappe_ds), "--out", str(tmp_path / "swift"))
    result = subprocess.run([sys.executable, "-m", "nfm_shards", "export-libfm", str(frappe_ds),
                             str(tmp_path / "python")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for split, rows in zip(SPLITS, (202027, 57722, 28860)):
        data = (tmp_path / "python" / f"{split}.libfm").read_bytes()
        assert data == (tmp_path / "swift" / f"{split}.libfm").read_bytes() and data.count(b"\n") == rows


def test_export_refuses_a_corrupted_dataset(fixture_copy, tmp_path):
    shard = fixture_copy / "test" / "part-00000.nfms"
    data = bytearray(shard.read_bytes())
    data[-3] ^= 1
    shard.write_bytes(bytes(data))
    assert main(["export-libfm", str(fixture_copy), str(tmp_path / "out")]) == 4
    assert not (tmp_path / "out" / "test.libfm").exists()
