"""The partitioned ``nfm build`` on a Dask cluster (needs ``pip install "nfm-shards[distributed]"``).

``nfm build-step`` splits a build into steps that communicate only through files under ``OUT`` (see
docs/SCALE.md of the nfm repository)::

    plan ─┬─ map 0 ─┐                     ┌─ place 0 ─┐   ┌─ reduce 0 ─┐
          ├─ map 1 ─┼─ [merge-shard 0..R] ─ merge ─┼─ place 1 ─┼───┼─ reduce 1 ─┼─ finish
          └─ map P ─┘                     └─ place P ─┘   └─ reduce B ─┘

(the merge shards only with ``merge_shards`` R > 1: each merges one hash range of every field's values)

This driver runs ``plan`` on the client (it claims OUT and counts the P partitions), then submits every
other step as a Dask task whose arguments include the futures of the steps it reads, so Dask's scheduler
orders, places and retries them; the only wait on the client is for ``merge``, whose answer (the number of
buckets B) decides how many ``reduce`` tasks there are. Each task is one subprocess call of the ``nfm``
binary on a worker, so OUT must be on storage shared by the client and every worker, at the same path.

Steps are idempotent, so a task that fails in a way a rerun may cure (I/O, integrity, a killed process) is
retried by Dask (``retries``). A failure that a rerun cannot cure — bad input data (exit 1) or a refused
request (exit 2, 64) — is returned as a value instead, skips every task that depends on it and is raised
on the client as :class:`StepFailed` with the step's exit code and standard error, which for a bad row is
the same message as ``nfm build``'s.

Every task records its wall time, the CPU seconds and peak RSS of its ``nfm`` process and the bytes of the
files it wrote (:class:`BuildReport`).

Command line::

    python -m nfm_shards.distributed build DEFINITION --input LOG [--input LOG …] --out OUT
        [--scheduler ADDRESS | --scheduler-file FILE | --local-workers N] [--nfm PATH] [--partition-mib M]
        [--memory-mib M] [--skip-bad-rows] [--reduce-threads T] [--seed S] [--rule R] [--force] [--retries K]
        [--merge-shards R] [--merge-resource NAME] [--json]

exits with the failing step's exit code (0 on success) and prints the per-step table on standard error
(``--json``: the report as JSON on standard output).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

STEPS = ("plan", "map", "merge-shard", "merge", "place", "reduce", "finish")

# Exit codes a rerun cannot change: bad input data (1), a refused request (2), command-line syntax (64).
FINAL_EXITS = frozenset({1, 2, 64})


class StepFailed(Exception):
    """``nfm build-step STEP`` exited non-zero: ``exit_code`` (128 + signal when killed) and its ``stderr``."""

    def __init__(self, step: str, argv: Sequence[str], exit_code: int, stderr: str, host: str = "") -> None:
        super().__init__(step, list(argv), exit_code, stderr, host)

    step = property(lambda self: self.args[0])
    argv = property(lambda self: self.args[1])
    exit_code = property(lambda self: self.args[2])
    stderr = property(lambda self: self.args[3])
    host = property(lambda self: self.args[4])

    @property
    def final(self) -> bool:
        """Whether rerunning the step would fail the same way (bad data or a refused request)."""
        return self.exit_code in FINAL_EXITS

    def __str__(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"nfm build-step {self.step} exited {self.exit_code}{where}: {self.stderr.strip()}"


@dataclass
class StepRecord:
    """One step run: wall ``seconds`` between ``start`` and ``end`` (Unix time), ``bytes`` written, its JSON,
    and the process's CPU seconds (user + system) and peak resident set (KiB) where ``os.wait4`` exists."""

    step: str
    index: Optional[int]
    start: float
    end: float
    seconds: float
    bytes: int
    host: str
    result: Dict[str, Any]
    cpu_seconds: Optional[float] = None
    peak_rss_kib: Optional[int] = None


@dataclass
class BuildReport:
    """Every step's record plus the driver's wall time; :meth:`phases` sums them per step."""

    out: str
    partitions: int
    buckets: int
    instances: Optional[int]
    wall_seconds: float
    records: List[StepRecord] = field(default_factory=list)

    def phases(self) -> List[Dict[str, Any]]:
        """Per step: tasks, wall (first start to last end), task-seconds summed and max, CPU seconds summed,
        the largest peak RSS, bytes written."""
        rows = []
        for step in STEPS:
            mine = [r for r in self.records if r.step == step]
            if not mine:
                continue
            rows.append({
                "step": step, "tasks": len(mine),
                "wall_seconds": max(r.end for r in mine) - min(r.start for r in mine),
                "task_seconds": sum(r.seconds for r in mine), "max_task_seconds": max(r.seconds for r in mine),
                "cpu_seconds": _total([r.cpu_seconds for r in mine]),
                "peak_rss_kib": max((r.peak_rss_kib for r in mine if r.peak_rss_kib is not None), default=None),
                "bytes": sum(r.bytes for r in mine),
            })
        return rows

    def to_json(self) -> Dict[str, Any]:
        """The report as plain JSON values (phases and every record)."""
        return {"out": self.out, "partitions": self.partitions, "buckets": self.buckets,
                "instances": self.instances, "wall_seconds": self.wall_seconds, "phases": self.phases(),
                "records": [asdict(r) for r in self.records]}

    def table(self) -> str:
        """The phases as a fixed-width text table."""
        lines = [f"{'step':<11} {'tasks':>5} {'wall s':>8} {'sum task s':>10} {'max task s':>10} {'CPU s':>8} "
                 f"{'max RSS MiB':>11} {'MiB written':>11}"]
        for p in self.phases():
            cpu = "-" if p["cpu_seconds"] is None else f"{p['cpu_seconds']:.3f}"
            rss = "-" if p["peak_rss_kib"] is None else f"{p['peak_rss_kib'] / 1024:.1f}"
            lines.append(f"{p['step']:<11} {p['tasks']:>5} {p['wall_seconds']:>8.3f} {p['task_seconds']:>10.3f} "
                         f"{p['max_task_seconds']:>10.3f} {cpu:>8} {rss:>11} {p['bytes'] / 2**20:>11.2f}")
        lines.append(f"driver wall {self.wall_seconds:.3f} s: {self.partitions} partitions, {self.buckets} buckets, "
                     f"{self.instances} instances")
        return "\n".join(lines)


def _total(values: List[Optional[float]]) -> Optional[float]:
    return None if any(v is None for v in values) else sum(values)


def _tree_bytes(path: str) -> int:
    """Bytes of a file, or of every file under a directory; 0 when absent."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def _dataset_files(out: str) -> Dict[str, int]:
    """Size of every file of OUT outside ``.steps`` (relative path → bytes)."""
    sizes = {}
    for root, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if not (root == out and d == ".steps")]
        for name in files:
            path = os.path.join(root, name)
            try:
                sizes[os.path.relpath(path, out)] = os.path.getsize(path)
            except OSError:
                pass
    return sizes


def _listed_bytes(document: Any) -> int:
    """Sum of the ``bytes`` members of every object in a JSON document (a reduce step's shard records)."""
    if isinstance(document, dict):
        own = document.get("bytes")
        own = own if isinstance(own, int) and not isinstance(own, bool) else 0
        return own + sum(_listed_bytes(v) for k, v in document.items() if k != "bytes")
    if isinstance(document, list):
        return sum(_listed_bytes(v) for v in document)
    return 0


def step_bytes(out: str, step: str, index: Optional[int]) -> int:
    """Bytes the step's files hold now (paths of the step contract; reduce: its record plus its shards)."""
    steps = os.path.join(out, ".steps")
    if step == "plan":
        return _tree_bytes(os.path.join(steps, "plan.json"))
    if step == "merge":
        return _tree_bytes(os.path.join(steps, "merge"))
    if step in ("map", "place", "merge-shard"):
        folder = os.path.join(steps, "mshard" if step == "merge-shard" else step)
        prefix = f"{index}."
        names = os.listdir(folder) if os.path.isdir(folder) else []
        return sum(_tree_bytes(os.path.join(folder, n)) for n in names if n == str(index) or n.startswith(prefix))
    if step == "reduce":
        record = os.path.join(steps, "reduce", f"{index}.json")
        try:
            with open(record, "rb") as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            return _tree_bytes(record)
        return _tree_bytes(record) + _listed_bytes(document)
    return 0


def run_step(nfm: str, step: str, args: Sequence[str], out: str, index: Optional[int] = None) -> StepRecord:
    """Runs ``nfm build-step STEP ARGS`` here and returns its record; raises :class:`StepFailed`."""
    argv = [nfm, "build-step", step, *args]
    host = socket.gethostname()
    before = _dataset_files(out) if step == "finish" else None
    start = time.time()
    clock = time.perf_counter()
    try:
        returncode, stdout, stderr, usage = _spawn(argv)
    except OSError as error:  # the binary is missing or not executable on this worker
        raise StepFailed(step, argv, 127, f"error: cannot run {nfm}: {error}\n", host) from None
    seconds = time.perf_counter() - clock
    end = start + seconds
    if returncode != 0:
        code = returncode if returncode > 0 else 128 - returncode
        raise StepFailed(step, argv, code, stderr, host)
    result = _last_json(stdout)
    if result is None:
        raise StepFailed(step, argv, 4, f"error: nfm build-step {step} printed no JSON object on its last line: "
                                        f"{stdout[-200:]!r}\n", host)
    if before is not None:  # finish: the files it added or changed outside .steps (vocabularies, manifest, …)
        after = _dataset_files(out)
        written = sum(size for path, size in after.items() if before.get(path) != size)
    else:
        written = step_bytes(out, step, index)
    cpu = None if usage is None else usage.ru_utime + usage.ru_stime
    return StepRecord(step, index, start, end, seconds, written, host, result, cpu,
                      None if usage is None else int(usage.ru_maxrss))


def _spawn(argv: Sequence[str]):
    """(exit status, stdout, stderr, resource usage of the child or None): ``subprocess.run`` where
    ``os.wait4`` is missing, else the child is reaped with ``wait4`` for its own CPU time and peak RSS."""
    if not hasattr(os, "wait4"):
        proc = subprocess.run(argv, capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr, None
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(argv, stdout=out_file, stderr=err_file, stdin=subprocess.DEVNULL)
        while True:
            try:
                _, status, usage = os.wait4(proc.pid, 0)
                break
            except InterruptedError:
                continue
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        decode = lambda raw: raw.decode("utf-8", "replace")  # noqa: E731
        return proc.returncode, decode(out_file.read()), decode(err_file.read()), usage


def _last_json(stdout: str) -> Optional[Dict[str, Any]]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        value = json.loads(lines[-1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from _flatten(value)
        else:
            yield value


def step_task(nfm: str, step: str, args: Sequence[str], out: str, index: Optional[int], needs: Any):
    """The Dask task of one step. ``needs`` holds the results of the steps it reads (their futures, resolved
    by Dask); a :class:`StepFailed` among them is passed on without running. A final failure is returned
    (so Dask does not retry it), any other raised (so Dask retries it)."""
    for need in _flatten([needs]):
        if isinstance(need, StepFailed):
            return need
    try:
        return run_step(nfm, step, args, out, index)
    except StepFailed as failure:
        if failure.final:
            return failure
        raise


def barrier(needs: Any) -> Optional[StepFailed]:
    """A task that ends when all of ``needs`` have: the first :class:`StepFailed` among them, or None."""
    for need in _flatten([needs]):
        if isinstance(need, StepFailed):
            return need
    return None


def _checked(value: Any) -> StepRecord:
    if isinstance(value, StepFailed):
        raise value
    return value


def plan_arguments(definition: str, inputs: Sequence[str], out: str, *, seed: Optional[int] = None,
                   rule: Optional[str] = None, partition_mib: Optional[int] = None, memory_mib: Optional[int] = None,
                   skip_bad_rows: bool = False, force: bool = False, merge_shards: int = 1) -> List[str]:
    """The arguments of ``nfm build-step plan`` with absolute paths (workers may run in another directory)."""
    if not inputs:
        raise ValueError("at least one --input is needed")
    if "-" in inputs:
        raise ValueError("standard input (-) cannot be read by a distributed build: give a file")
    args = [os.path.abspath(definition)]
    for path in inputs:
        args += ["--input", os.path.abspath(path)]
    args += ["--out", os.path.abspath(out)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if rule is not None:
        args += ["--rule", rule]
    if partition_mib is not None:
        args += ["--partition-mib", str(partition_mib)]
    if memory_mib is not None:
        args += ["--memory-mib", str(memory_mib)]
    if merge_shards != 1:
        args += ["--merge-shards", str(merge_shards)]
    if skip_bad_rows:
        args.append("--skip-bad-rows")
    if force:
        args.append("--force")
    return args


def build(client, definition: str, inputs: Sequence[str], out: str, *, nfm: str = "nfm",
          seed: Optional[int] = None, rule: Optional[str] = None, partition_mib: Optional[int] = None,
          memory_mib: Optional[int] = None, skip_bad_rows: bool = False, force: bool = False, retries: int = 2,
          reduce_threads: int = 1, merge_resource: Optional[str] = None, merge_shards: int = 1) -> BuildReport:
    """Builds the dataset of ``definition`` over ``inputs`` into ``out`` on the Dask ``client``'s cluster.

    ``nfm`` names the binary as the workers see it. ``partition_mib`` (byte-range size), ``memory_mib``
    (the instances a reduce step holds: the bucket size) and ``skip_bad_rows`` go to ``plan``;
    ``reduce_threads`` is each reduce step's compression threads (1: one core per Dask worker thread).
    ``merge_resource`` names a Dask worker resource (``dask worker --resources "NAME=1"``) that the merge
    and finish tasks need: the large-memory workers (both hold the global vocabularies without merge
    shards; with them, finish still does). ``merge_shards`` R > 1 splits the merge into R independent
    ``merge-shard`` tasks (each merging one hash range of every field's values) and a light ``merge`` that
    combines them (sampling definitions only; ``plan`` refuses it for a labelled one, exit 2). Raises :class:`StepFailed` for the first failed step (in step
    order). The output is byte-identical to ``nfm build`` of the same inputs, definition, seed and rule.

    Graph: P maps → (R merge shards →) merge → P places → one barrier task → B reduces → finish, so the graph has O(P + B)
    edges (every reduce reads every place's files, but depends on the barrier, not on P futures).
    """
    out = os.path.abspath(out)
    if not isinstance(merge_shards, int) or isinstance(merge_shards, bool) or merge_shards < 1:
        raise ValueError("merge_shards must be a positive integer")
    clock = time.perf_counter()
    planned = run_step(nfm, "plan", plan_arguments(
        definition, inputs, out, seed=seed, rule=rule, partition_mib=partition_mib, memory_mib=memory_mib,
        skip_bad_rows=skip_bad_rows, force=force, merge_shards=merge_shards), out)
    partitions = _count(planned, "partitions")
    token = uuid.uuid4().hex[:8]

    def submit(step: str, index: Optional[int], args: List[str], needs: Any):
        key = f"nfm-{step}-{token}" + ("" if index is None else f"-{index}")
        resources = {merge_resource: 1} if step in ("merge", "finish") and merge_resource else None
        return client.submit(step_task, nfm, step, args, out, index, needs, key=key, retries=retries, pure=False,
                             resources=resources)

    maps = [submit("map", i, [out, "--partition", str(i)], []) for i in range(partitions)]
    shards = []
    if merge_shards > 1:  # every shard reads every map's files: they wait for a barrier, not P futures each
        mapped = client.submit(barrier, maps, key=f"nfm-mapped-{token}", pure=False)
        shards = [submit("merge-shard", s, [out, "--shard", str(s)], mapped) for s in range(merge_shards)]
    merge = submit("merge", None, [out], shards or maps)
    merged = merge.result()
    if isinstance(merged, StepFailed):
        raise _first_failure(client.gather(maps + shards), merged)
    buckets = _count(merged, "buckets")
    places = [submit("place", i, [out, "--partition", str(i)], [merge]) for i in range(partitions)]
    placed = client.submit(barrier, places, key=f"nfm-placed-{token}", pure=False)
    reduces = [submit("reduce", j, [out, "--bucket", str(j), "--threads", str(reduce_threads)], placed)
               for j in range(buckets)]
    finish = submit("finish", None, [out], reduces)
    finished = finish.result()
    if isinstance(finished, StepFailed):
        raise _first_failure(client.gather(places + reduces), finished)
    records = [planned] + client.gather(maps) + client.gather(shards) + [merged] + client.gather(places)
    records += client.gather(reduces)
    records.append(finished)
    instances = merged.result.get("instances")
    return BuildReport(out, partitions, buckets, instances if isinstance(instances, int) else None,
                       time.perf_counter() - clock, [_checked(r) for r in records])


def _first_failure(values: Sequence[Any], fallback: StepFailed) -> StepFailed:
    """The failure that started it: the first in step order (dependents only pass failures on)."""
    for value in values:
        if isinstance(value, StepFailed):
            return value
    return fallback


def _count(record: StepRecord, name: str) -> int:
    value = record.result.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StepFailed(record.step, [], 4, f"error: nfm build-step {record.step} printed no count "
                                             f"{name!r}: {json.dumps(record.result)}\n", record.host)
    return value


def local_client(workers: int):
    """A Dask client of a new LocalCluster: ``workers`` processes of one thread each, no dashboard."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None)
    return Client(cluster)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nfm_shards.distributed",
                                     description="Run the partitioned nfm build on a Dask cluster.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build a dataset (the steps of `nfm build-step`)")
    build_parser.add_argument("definition")
    build_parser.add_argument("--input", action="append", required=True, help="a raw log (repeatable)")
    build_parser.add_argument("--out", required=True, help="output directory on storage every worker shares")
    where = build_parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786)")
    where.add_argument("--scheduler-file", help="the file `dask scheduler --scheduler-file` wrote (Slurm, MPI)")
    where.add_argument("--local-workers", type=int, help="start a local cluster of N worker processes "
                                                          "(default: one per core)")
    build_parser.add_argument("--nfm", default=os.environ.get("NFM_BIN") or shutil.which("nfm") or "nfm",
                              help="the nfm binary as the workers see it (default: $NFM_BIN, else nfm on PATH)")
    build_parser.add_argument("--partition-mib", type=int, help="split plain inputs into byte ranges of M MiB")
    build_parser.add_argument("--memory-mib", type=int, help="MiB of instances one reduce step holds (bucket size)")
    build_parser.add_argument("--skip-bad-rows", action="store_true", help="list bad rows in rejects.tsv and go on")
    build_parser.add_argument("--reduce-threads", type=int, default=1,
                              help="compression threads of each reduce step (default 1: one per worker thread)")
    build_parser.add_argument("--seed", type=int)
    build_parser.add_argument("--rule")
    build_parser.add_argument("--force", action="store_true")
    build_parser.add_argument("--retries", type=int, default=2, help="Dask retries of a failed task (default 2)")
    build_parser.add_argument("--merge-shards", type=int, default=1, metavar="R",
                              help="split the merge into R independent merge-shard tasks (default 1: one merge task)")
    build_parser.add_argument("--merge-resource", metavar="NAME",
                              help="run merge and finish only on workers started with --resources NAME=1 (large memory)")
    build_parser.add_argument("--json", action="store_true", help="print the report as JSON on standard output")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print('error: the distributed build needs Dask: pip install "nfm-shards[distributed]"', file=sys.stderr)
        return 2
    if args.local_workers is not None and args.local_workers < 1:
        print("error: --local-workers must be at least 1", file=sys.stderr)
        return 2
    from distributed import Client, KilledWorker

    remote = bool(args.scheduler or args.scheduler_file)
    try:
        if remote:
            client = Client(args.scheduler) if args.scheduler else Client(scheduler_file=args.scheduler_file)
        else:
            client = local_client(args.local_workers or os.cpu_count() or 1)
    except (OSError, TimeoutError) as error:
        print(f"error: cannot reach the Dask scheduler: {error}", file=sys.stderr)
        return 3
    try:
        report = build(client, args.definition, args.input, args.out, nfm=args.nfm, seed=args.seed, rule=args.rule,
                       partition_mib=args.partition_mib, memory_mib=args.memory_mib,
                       skip_bad_rows=args.skip_bad_rows, force=args.force, retries=args.retries,
                       reduce_threads=args.reduce_threads, merge_resource=args.merge_resource,
                       merge_shards=args.merge_shards)
    except StepFailed as failure:
        sys.stderr.write(failure.stderr if failure.stderr.endswith("\n") else failure.stderr + "\n")
        print(f"nfm_shards.distributed: step {failure.step} failed with exit {failure.exit_code}"
              + (f" on {failure.host}" if failure.host else ""), file=sys.stderr)
        return failure.exit_code
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KilledWorker as error:  # a task's worker died more often than Dask's allowed-failures
        print(f"error: Dask lost the workers of a task: {error}", file=sys.stderr)
        return 3
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and not remote:
            cluster.close()
    print(report.table(), file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
