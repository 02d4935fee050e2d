"""The Dask driver's orchestration against a fake ``nfm build-step`` (tests/fake_nfm.py): step order, retries
of transient failures, no retry of final ones, the report's bytes. The byte identity with ``nfm build`` is
tested with the real binary in test_distributed.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

if os.environ.get("NFM_PY_DISTRIBUTED") == "1":  # scripts/test-python.sh installed the extra: no skipping
    import distributed
else:
    distributed = pytest.importorskip("distributed", reason='Dask is absent: pip install "./python[distributed]"')

from nfm_shards.distributed import StepFailed, build  # noqa: E402

FAKE = Path(__file__).with_name("fake_nfm.py")


@pytest.fixture(scope="module")
def client():
    """Two single-thread workers in this process (the fake steps are subprocesses anyway)."""
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture
def fake(tmp_path, monkeypatch) -> str:
    script = tmp_path / "nfm"
    script.write_text(f"#!{sys.executable}\nimport runpy, sys\nsys.argv[0] = {str(FAKE)!r}\n"
                      f"runpy.run_path({str(FAKE)!r}, run_name='__main__')\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    for name in ("FAKE_FAIL", "FAKE_FLAKY"):
        monkeypatch.delenv(name, raising=False)
    return str(script)


def calls(tmp_path) -> list:
    return [tuple(line.split()) for line in (tmp_path / "calls.log").read_text().splitlines()]


def run(client, fake, tmp_path, inputs=3, **options):
    paths = []
    for i in range(inputs):
        paths.append(tmp_path / f"in{i}.tsv")
        paths[-1].write_text("x\n")
    return build(client, str(tmp_path / "def.json"), [str(p) for p in paths], str(tmp_path / "out"), nfm=fake,
                 **options)


def test_steps_run_in_dependency_order_and_report_bytes(client, fake, tmp_path):
    report = run(client, fake, tmp_path)
    log = calls(tmp_path)
    steps = [step for step, _ in log]
    assert steps[0] == "plan" and steps[-1] == "finish"
    last = {s: max(i for i, (step, _) in enumerate(log) if step == s) for s in set(steps)}
    first = {s: min(i for i, (step, _) in enumerate(log) if step == s) for s in set(steps)}
    assert last["map"] < first["merge"] and last["merge"] < first["place"] and last["place"] < first["reduce"]
    assert last["reduce"] < first["finish"]
    assert sorted(i for s, i in log if s == "map") == ["0", "1", "2"]
    assert sorted(i for s, i in log if s == "reduce") == ["0", "1", "2"]
    assert (report.partitions, report.buckets, report.instances) == (3, 3, 42)
    phases = {p["step"]: p for p in report.phases()}
    assert phases["map"]["tasks"] == 3 and phases["map"]["bytes"] == 300
    assert phases["merge"]["bytes"] == 10
    assert phases["place"]["bytes"] == 3 * 3 * 7
    reduce_record = len(b'{"shards": [{"file": "train/part-00000.nfms", "bytes": 1000}]}')
    assert phases["reduce"]["bytes"] == 3 * (1000 + reduce_record)
    assert phases["finish"]["bytes"] == 10
    assert all(r.end >= r.start for r in report.records)
    assert all(r.cpu_seconds > 0 and r.peak_rss_kib > 1000 for r in report.records), "wait4's usage of each step"
    assert phases["map"]["cpu_seconds"] >= max(r.cpu_seconds for r in report.records if r.step == "map")


def test_merge_shards_run_between_the_maps_and_the_merge(client, fake, tmp_path):
    report = run(client, fake, tmp_path, merge_shards=4)
    log = calls(tmp_path)
    first = {s: min(i for i, (step, _) in enumerate(log) if step == s) for s, _ in log}
    last = {s: max(i for i, (step, _) in enumerate(log) if step == s) for s, _ in log}
    assert last["map"] < first["merge-shard"] and last["merge-shard"] < first["merge"]
    assert sorted(i for s, i in log if s == "merge-shard") == ["0", "1", "2", "3"]
    phases = {p["step"]: p for p in report.phases()}
    assert phases["merge-shard"]["tasks"] == 4 and phases["merge-shard"]["bytes"] == 4 * 20
    assert phases["merge"]["bytes"] == 10
    assert report.buckets == 3 and (tmp_path / "out" / "manifest.json").exists()


def test_a_final_merge_shard_failure_skips_the_merge(client, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "merge-shard:2:2")
    with pytest.raises(StepFailed) as caught:
        run(client, fake, tmp_path, merge_shards=3)
    assert (caught.value.step, caught.value.exit_code) == ("merge-shard", 2)
    steps = [step for step, _ in calls(tmp_path)]
    assert steps.count("merge-shard") == 3 and "merge" not in steps


def test_a_final_failure_is_raised_once_with_its_exit_code(client, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "merge::1")
    with pytest.raises(StepFailed) as caught:
        run(client, fake, tmp_path)
    assert caught.value.step == "merge" and caught.value.exit_code == 1
    assert "fake failure of merge" in caught.value.stderr
    steps = [step for step, _ in calls(tmp_path)]
    assert steps.count("merge") == 1 and "place" not in steps


def test_a_final_map_failure_skips_the_merge(client, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "map:1:2")
    with pytest.raises(StepFailed) as caught:
        run(client, fake, tmp_path)
    assert (caught.value.step, caught.value.exit_code) == ("map", 2)
    steps = [step for step, _ in calls(tmp_path)]
    assert steps.count("map") == 3 and "merge" not in steps


def test_a_final_place_failure_skips_every_reduce(client, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "place:1:1")
    with pytest.raises(StepFailed) as caught:
        run(client, fake, tmp_path)
    assert (caught.value.step, caught.value.exit_code) == ("place", 1)
    steps = [step for step, _ in calls(tmp_path)]
    assert steps.count("place") == 3 and "reduce" not in steps and "finish" not in steps


def test_a_transient_failure_is_retried(client, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FLAKY", "reduce:1")
    report = run(client, fake, tmp_path)
    assert [i for s, i in calls(tmp_path) if s == "reduce"].count("1") == 2
    assert report.buckets == 3 and (tmp_path / "out" / "manifest.json").exists()


def test_a_missing_binary_names_itself(client, tmp_path):
    with pytest.raises(StepFailed) as caught:
        build(client, "def.json", ["in.tsv"], str(tmp_path / "out"), nfm=str(tmp_path / "no-such-nfm"))
    assert caught.value.exit_code == 127 and "no-such-nfm" in caught.value.stderr


def test_standard_input_is_refused(client, fake, tmp_path):
    with pytest.raises(ValueError, match="standard input"):
        build(client, "def.json", ["-"], str(tmp_path / "out"), nfm=fake)
    assert not os.path.exists(tmp_path / "calls.log")


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nfm_shards.distributed", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_command_line_prints_the_report(fake, tmp_path):
    (tmp_path / "a.tsv").write_text("x\n")
    result = cli("build", str(tmp_path / "def.json"), "--input", str(tmp_path / "a.tsv"), "--input",
                 str(tmp_path / "a.tsv"), "--out", str(tmp_path / "out"), "--nfm", fake, "--local-workers", "1",
                 "--json", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert (report["partitions"], report["buckets"], report["instances"]) == (2, 3, 42)
    assert [p["step"] for p in report["phases"]] == ["plan", "map", "merge", "place", "reduce", "finish"]
    assert "driver wall" in result.stderr


def test_the_command_line_refuses_no_workers(tmp_path):
    result = cli("build", "def.json", "--input", "a.tsv", "--out", str(tmp_path / "out"), "--local-workers", "0")
    assert result.returncode == 2 and "--local-workers" in result.stderr
