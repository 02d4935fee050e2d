"""Datasets built by the nfm binary during the test run.

``NFM_BIN`` names the binary (default: ``$(swift build --show-bin-path)/nfm`` of the repository). The
synthetic fixture is always built; real Frappe is built when ``../shared/datasets/frappe/frappe.csv`` (or
``/work/shared/…``) exists, otherwise its tests skip with the reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FRAPPE_CANDIDATES = [
    REPO.parent / "shared" / "datasets" / "frappe" / "frappe.csv",
    Path("/work/shared/datasets/frappe/frappe.csv"),
]


def nfm_binary() -> str:
    """Path of the nfm binary under test."""
    configured = os.environ.get("NFM_BIN")
    if configured:
        return configured
    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, check=True, capture_output=True,
                              text=True).stdout.strip()
    return os.path.join(bin_path, "nfm")


@pytest.fixture(scope="session")
def nfm() -> str:
    binary = nfm_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"nfm binary {binary} not found: run `swift build --product nfm` or set NFM_BIN")
    return binary


def run_nfm(nfm: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs ``nfm ARGS``; with ``check`` fails the test on a non-zero exit, showing stderr."""
    result = subprocess.run([nfm, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"nfm {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def build(nfm: str, out: Path, *, input_path: Path, definition: str = "pipelines/frappe.json") -> Path:
    """``nfm build`` into ``out`` (returned)."""
    run_nfm(nfm, "build", str(REPO / definition), "--input", str(input_path), "--out", str(out), "--quiet")
    return out


def binary_writes_checksum(directory: Path) -> bool:
    return (directory / "manifest.sha256").exists()


def ensure_checksum(directory: Path) -> None:
    """Writes ``manifest.sha256`` when an nfm built before that file existed did not (FOUNDATION §5)."""
    if not binary_writes_checksum(directory):
        digest = hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()
        (directory / "manifest.sha256").write_text(f"{digest}  manifest.json\n")


@pytest.fixture(scope="session")
def fixture_build(nfm, tmp_path_factory):
    """(directory, whether nfm wrote manifest.sha256) of the synthetic Frappe fixture, built once."""
    out = build(nfm, tmp_path_factory.mktemp("fixture") / "ds", input_path=REPO / "fixtures" / "frappe-synthetic.tsv")
    writes = binary_writes_checksum(out)
    ensure_checksum(out)
    return out, writes


@pytest.fixture(scope="session")
def nfm_writes_checksum(fixture_build) -> bool:
    """Whether the nfm under test writes manifest.sha256 (it does once the readers branch is merged)."""
    return fixture_build[1]


@pytest.fixture(scope="session")
def nfm_checks_checksum(nfm, fixture_build, tmp_path_factory) -> bool:
    """Whether `nfm verify` refuses a wrong manifest.sha256 (from the readers branch on; probed once)."""
    probe = tmp_path_factory.mktemp("probe") / "ds"
    shutil.copytree(fixture_build[0], probe)
    (probe / "manifest.sha256").write_text("0" * 64 + "  manifest.json\n")
    return run_nfm(nfm, "verify", str(probe), check=False).returncode != 0


@pytest.fixture(scope="session")
def fixture_ds(fixture_build) -> Path:
    """The fixture dataset, untouched by tests (use ``fixture_copy`` to corrupt one)."""
    return fixture_build[0]


@pytest.fixture
def fixture_copy(fixture_ds, tmp_path) -> Path:
    """A private copy of the fixture dataset, free to corrupt."""
    target = tmp_path / "ds"
    shutil.copytree(fixture_ds, target)
    return target


def frappe_csv() -> Path | None:
    for candidate in FRAPPE_CANDIDATES:
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def frappe_ds(nfm, tmp_path_factory) -> Path:
    source = frappe_csv()
    if source is None:
        pytest.skip("real Frappe log absent (../shared/datasets/frappe/frappe.csv)")
    out = build(nfm, tmp_path_factory.mktemp("frappe") / "ds", input_path=source)
    ensure_checksum(out)
    return out


SPARSE_TRAIN = "1 3:0.5 7:1 12:2.25\n-1 0:1\n1 5:1e-05 9:3\n-1 2:1 3:1 4:1 5:1\n0.5 11:-0.75\n"
SPARSE_VALIDATION = "1 1:1 6:0.125\n-1 8:4\n"
SPARSE_TEST = "-1 10:1.5 12:1\n1 0:2\n"


@pytest.fixture(scope="session")
def sparse_ds(nfm, tmp_path_factory) -> Path:
    """A sparse-layout dataset imported from small libFM files with values and varying row lengths."""
    base = tmp_path_factory.mktemp("sparse")
    files = {}
    for split, text in (("train", SPARSE_TRAIN), ("validation", SPARSE_VALIDATION), ("test", SPARSE_TEST)):
        files[split] = base / f"{split}.txt"
        files[split].write_text(text)
    out = base / "ds"
    run_nfm(nfm, "import-libfm", "--train", str(files["train"]), "--validation", str(files["validation"]),
            "--test", str(files["test"]), "--out", str(out), "--shard-rows", "2")
    ensure_checksum(out)
    return out


@pytest.fixture(scope="session")
def multi_ds(nfm, fixture_ds, tmp_path_factory) -> Path:
    """The fixture re-imported through libFM with 1,000 rows per shard (fixed layout, 7 train shards)."""
    base = tmp_path_factory.mktemp("multi")
    run_nfm(nfm, "export-libfm", str(fixture_ds), "--out", str(base / "libfm"))
    out = base / "ds"
    run_nfm(nfm, "import-libfm", "--train", str(base / "libfm" / "train.libfm"),
            "--validation", str(base / "libfm" / "validation.libfm"), "--test", str(base / "libfm" / "test.libfm"),
            "--out", str(out), "--shard-rows", "1000")
    ensure_checksum(out)
    return out
