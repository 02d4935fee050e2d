"""A stand-in for ``nfm build-step`` that follows the step contract's files and JSON answers without building
anything, so that the Dask driver's orchestration can be tested without the Swift binary.

Each step checks that the files of the steps it reads exist (exit 5 naming the first missing one), writes its
own, appends ``STEP INDEX`` to ``$FAKE_LOG`` and prints one JSON object. ``$FAKE_FAIL=STEP:INDEX:CODE`` makes
that step exit CODE (INDEX empty: any index); ``$FAKE_FLAKY=STEP:INDEX`` makes its first run exit 3.
Partitions: one per ``--input``; buckets: ``$FAKE_BUCKETS`` (default 3); merge shards: ``--merge-shards``
(default 1; with more, merge reads ``mshard/S.bin`` of every shard instead of the maps' files).
"""

import json
import os
import sys


def fail(code, message):
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


def need(path):
    if not os.path.exists(path):
        fail(5, f"{path}: missing step file")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def main(argv):
    if argv[:1] != ["build-step"] or len(argv) < 3:
        fail(64, "usage: build-step STEP …")
    step = argv[1]
    out = argv[argv.index("--out") + 1] if step == "plan" else argv[2]
    index = None
    for flag in ("--partition", "--bucket", "--shard"):
        if flag in argv:
            index = argv[argv.index(flag) + 1]
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(f"{step} {index if index is not None else '-'}\n")
    for variable, code in (("FAKE_FAIL", None), ("FAKE_FLAKY", 3)):
        spec = os.environ.get(variable, "").split(":")
        if spec[0] != step or (spec[1] and spec[1] != index):
            continue
        if code is None:
            fail(int(spec[2]), f"{out}: fake failure of {step} {index}")
        marker = os.path.join(os.path.dirname(os.environ["FAKE_LOG"]), f"flaked-{step}-{index}")
        if not os.path.exists(marker):
            open(marker, "w").close()
            fail(3, f"{out}: fake transient failure of {step} {index}")
    steps = os.path.join(out, ".steps")
    buckets = int(os.environ.get("FAKE_BUCKETS", "3"))
    if step == "plan":
        partitions = argv.count("--input")
        shards = int(argv[argv.index("--merge-shards") + 1]) if "--merge-shards" in argv else 1
        write(os.path.join(steps, "plan.json"), json.dumps({"partitions": partitions, "shards": shards}).encode())
        answer = {"partitions": partitions}
    else:
        with open(os.path.join(steps, "plan.json")) as handle:
            plan = json.load(handle)
        partitions, shards = plan["partitions"], plan["shards"]
        answer = {"ok": True}
    if step == "map":
        write(os.path.join(steps, "map", f"{index}.rows"), b"m" * 100)
    elif step == "merge-shard":
        for i in range(partitions):
            need(os.path.join(steps, "map", f"{i}.rows"))
        write(os.path.join(steps, "mshard", f"{index}.bin"), b"h" * 20)
    elif step == "merge":
        for i in range(partitions):
            need(os.path.join(steps, "map", f"{i}.rows"))
        for s in range(shards if shards > 1 else 0):
            need(os.path.join(steps, "mshard", f"{s}.bin"))
        write(os.path.join(steps, "merge", "state"), b"g" * 10)
        answer = {"buckets": buckets, "instances": 42}
    elif step == "place":
        need(os.path.join(steps, "merge", "state"))
        for j in range(buckets):
            write(os.path.join(steps, "place", index, f"bucket-{j}"), b"p" * 7)
    elif step == "reduce":
        for i in range(partitions):
            need(os.path.join(steps, "place", str(i), f"bucket-{index}"))
        write(os.path.join(out, "train", f"part-{int(index):05d}.nfms"), b"s" * 1000)
        record = {"shards": [{"file": f"train/part-{int(index):05d}.nfms", "bytes": 1000}]}
        write(os.path.join(steps, "reduce", f"{index}.json"), json.dumps(record).encode())
    elif step == "finish":
        for j in range(buckets):
            need(os.path.join(steps, "reduce", f"{j}.json"))
        write(os.path.join(out, "manifest.json"), b"{}" * 5)
    print("progress line that is not the answer")
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
