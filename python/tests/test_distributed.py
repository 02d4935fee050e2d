"""The distributed build on a local Dask cluster of worker processes is byte-identical to ``nfm build``.

Inputs: a synthetic Frappe log large enough to be cut into byte ranges at ``--partition-mib 1``, the
repository's fixture (a second header), and a gzip file (a whole-file partition). Skips only when the nfm
under test has no ``build-step`` command.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_nfm

if os.environ.get("NFM_PY_DISTRIBUTED") == "1":  # scripts/test-python.sh installed the extra: no skipping
    import distributed
else:
    distributed = pytest.importorskip("distributed", reason='Dask is absent: pip install "./python[distributed]"')

from nfm_shards.distributed import StepFailed, build  # noqa: E402

DEFINITION = str(REPO / "pipelines" / "frappe.json")


@pytest.fixture(scope="module")
def steps_nfm(nfm) -> str:
    probe = subprocess.run([nfm, "build-step", "--help"], capture_output=True, text=True)
    if probe.returncode != 0 or "build-step" not in probe.stdout:  # an nfm without it prints its root help
        pytest.skip(f"{nfm} has no build-step command (exit {probe.returncode}): the partitioned build is absent")
    return nfm


@pytest.fixture(scope="module")
def client(steps_nfm):
    """Two worker processes of one thread each, as a real cluster would run them."""
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def inputs(steps_nfm, tmp_path_factory) -> list:
    base = tmp_path_factory.mktemp("dist-inputs")
    large = base / "large.tsv"
    run_nfm(steps_nfm, "synth", "frappe", "--rows", "40000", "--seed", "7", "--out", str(large))
    assert large.stat().st_size > 2 * 2**20, "the large input must span at least three 1 MiB ranges"
    small = base / "small.tsv"
    run_nfm(steps_nfm, "synth", "frappe", "--rows", "2000", "--seed", "8", "--out", str(small))
    packed = base / "small.tsv.gz"
    packed.write_bytes(gzip.compress(small.read_bytes(), mtime=0))
    return [str(large), str(REPO / "fixtures" / "frappe-synthetic.tsv"), str(packed)]


def digests(directory: Path) -> dict:
    """sha256 of every file under ``directory`` by relative path."""
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = Path(root) / name
            found[str(path.relative_to(directory))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def reference(nfm: str, inputs: list, out: Path, *extra: str) -> subprocess.CompletedProcess:
    args = ["build", DEFINITION, "--out", str(out), "--quiet", *extra]
    for path in inputs:
        args += ["--input", path]
    return run_nfm(nfm, *args, check=False)


def test_distributed_build_is_byte_identical_to_nfm_build(steps_nfm, client, inputs, tmp_path):
    single = tmp_path / "single"
    result = reference(steps_nfm, inputs, single, "--seed", "11")
    assert result.returncode == 0, result.stderr
    report = build(client, DEFINITION, inputs, str(tmp_path / "dist"), nfm=steps_nfm, seed=11, partition_mib=1,
                   memory_mib=1)
    assert report.partitions >= 5, "three byte ranges of the large file plus two whole files"
    assert report.buckets >= 3, "a bucket per shard at --memory-mib 1"
    counts = json.loads((single / "manifest.json").read_text())["counts"]
    assert report.instances == counts["train"] + counts["validation"] + counts["test"]
    workers = client.run(os.getpid)
    assert len(set(workers.values())) == 2 and os.getpid() not in workers.values(), "two worker processes"
    assert all(record.host for record in report.records), "every step reports where it ran"
    expected = digests(single)
    assert "manifest.json" in expected and any(path.endswith(".nfms") for path in expected)
    assert digests(tmp_path / "dist") == expected
    phases = {p["step"]: p for p in report.phases()}
    assert set(phases) == {"plan", "map", "merge", "place", "reduce", "finish"}
    assert phases["map"]["tasks"] == report.partitions and phases["reduce"]["tasks"] == report.buckets
    assert phases["map"]["bytes"] > 0 and phases["reduce"]["bytes"] > 0


def test_a_bad_row_fails_the_driver_as_it_fails_nfm_build(steps_nfm, client, inputs, tmp_path):
    lines = Path(inputs[1]).read_text().splitlines(keepends=True)
    broken = tmp_path / "broken.tsv"
    broken.write_text("".join(lines[:1500]) + "only\tthree\tcells\n" + "".join(lines[1500:]))
    bad_inputs = [inputs[0], str(broken), inputs[2]]
    single = reference(steps_nfm, bad_inputs, tmp_path / "single")
    assert single.returncode == 1, single.stderr
    message = [line for line in single.stderr.splitlines() if line.startswith("error:")]
    assert message and "broken.tsv" in message[0]

    with pytest.raises(StepFailed) as caught:  # with merge shards: the bad row still surfaces at merge
        build(client, DEFINITION, bad_inputs, str(tmp_path / "dist"), nfm=steps_nfm, partition_mib=1, merge_shards=2)
    assert caught.value.step == "merge" and caught.value.exit_code == single.returncode
    assert message[0] in caught.value.stderr.splitlines()

    command = [sys.executable, "-m", "nfm_shards.distributed", "build", DEFINITION, "--out", str(tmp_path / "cli"),
               "--nfm", steps_nfm, "--partition-mib", "1", "--local-workers", "2", "--merge-shards", "2"]
    for path in bad_inputs:
        command += ["--input", path]
    cli = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert cli.returncode == single.returncode, cli.stderr
    assert message[0] in cli.stderr.splitlines()


def test_skipped_bad_rows_are_listed_as_nfm_build_lists_them_with_merge_shards(steps_nfm, client, inputs, tmp_path):
    lines = Path(inputs[1]).read_text().splitlines(keepends=True)
    broken = tmp_path / "broken.tsv"
    broken.write_text("".join(lines[:10]) + "a\tb\n" + "".join(lines[10:2000]) + "\"q\"x\t1\n" + "".join(lines[2000:]))
    bad_inputs = [inputs[0], str(broken), inputs[2]]
    single = reference(steps_nfm, bad_inputs, tmp_path / "single", "--skip-bad-rows")
    assert single.returncode == 0, single.stderr
    assert (tmp_path / "single" / "rejects.tsv").stat().st_size > 0
    report = build(client, DEFINITION, bad_inputs, str(tmp_path / "dist"), nfm=steps_nfm, partition_mib=1,
                   skip_bad_rows=True, merge_shards=3)
    assert digests(tmp_path / "dist") == digests(tmp_path / "single")
    phases = {p["step"]: p for p in report.phases()}
    assert phases["merge-shard"]["tasks"] == 3 and phases["merge-shard"]["bytes"] > 0
