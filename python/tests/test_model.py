"""nfm_shards.load_model against `nfm predict`: models trained and exported by the nfm binary in the test
run (fixture, and real Frappe when ../shared/datasets/frappe/frappe.csv exists), predictions equal
`nfm predict --dataset … --split test` within 1e-5 in numpy and, when torch is importable, in PyTorch.

The nfm binary is $NFM_BIN, by default `$(swift build --show-bin-path)/nfm` of this repository."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nfm_shards.model import load_model, read_safetensors

REPO = Path(__file__).resolve().parents[2]
FRAPPE = REPO.parent / "shared" / "datasets" / "frappe" / "frappe.csv"
TOLERANCE = 1e-5

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None


def _nfm_binary():
    binary = os.environ.get("NFM_BIN")
    if not binary:
        path = subprocess.run(
            ["swift", "build", "--show-bin-path"], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
        binary = os.path.join(path, "nfm")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"the nfm binary is not built ({binary}); run `swift build` or set NFM_BIN")
    return binary


@pytest.fixture(scope="session")
def nfm():
    binary = _nfm_binary()

    def run(*args):
        result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"nfm {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}")
        return result

    return run


def read_libfm(path):
    """CSR arrays (indices, values, offsets) of a libFM file, labels ignored."""
    indices, values, offsets = [], [], [0]
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            tokens = line.split()
            if not tokens:
                continue
            for token in tokens[1:]:
                index, value = token.split(":")
                indices.append(int(index))
                values.append(float(value))
            offsets.append(len(indices))
    return np.array(indices, dtype=np.int64), np.array(values), np.array(offsets, dtype=np.int64)


def read_predictions(path):
    return np.loadtxt(path, dtype=np.float64, ndmin=1)


class Build:
    """A dataset built by nfm, its test split as libFM text, and trained/exported models."""

    def __init__(self, nfm, root, pipeline, raw, epochs, factors):
        self.nfm, self.root, self.epochs, self.factors = nfm, root, epochs, factors
        self.data = root / "data"
        nfm("build", REPO / "pipelines" / pipeline, "--input", raw, "--out", self.data, "--quiet")
        nfm("export-libfm", self.data, "--out", root / "libfm")
        self.test = read_libfm(root / "libfm" / "test.libfm")
        self.models = {}

    def exported(self, kind, *options):
        """(export directory, `nfm predict --dataset … --split test` at full precision) for `kind`."""
        key = (kind,) + options
        if key not in self.models:
            name = "-".join((kind,) + tuple(o.strip("-") for o in options))
            run, export, out = self.root / f"run-{name}", self.root / f"export-{name}", self.root / f"{name}.txt"
            self.nfm(
                "train", self.data, "--model", kind, "--factors", self.factors, "--epochs", self.epochs,
                "--out", run, "--quiet", *options)
            self.nfm("export-model", run / "model.nfmc", "--out", export)
            self.nfm(
                "predict", run / "model.nfmc", "--dataset", self.data, "--split", "test", "--precision", 9,
                "--out", out, "--quiet")
            self.models[key] = (export, read_predictions(out), run / "model.nfmc")
        return self.models[key]


@pytest.fixture(scope="session")
def fixture_build(nfm, tmp_path_factory):
    return Build(
        nfm, tmp_path_factory.mktemp("fixture"), "frappe.json", REPO / "fixtures" / "frappe-synthetic.tsv",
        epochs=2, factors=8)


@pytest.fixture(scope="session")
def frappe_build(nfm, tmp_path_factory):
    if not FRAPPE.exists():
        pytest.skip(f"{FRAPPE} is absent")
    return Build(nfm, tmp_path_factory.mktemp("frappe"), "frappe.json", FRAPPE, epochs=1, factors=64)


KINDS = [
    ("nfm", "--layers", "8"),
    ("fm",),
    ("lr",),
    ("nfm", "--layers", "8,4", "--activation", "tanh", "--loss", "log"),
    ("wide-deep", "--layers", "8,8", "--batch-norm"),
    ("deep-cross", "--layers", "8,4"),
    ("hofm",),
]


@pytest.mark.parametrize("spec", KINDS, ids=lambda spec: "-".join(s.strip("-") for s in spec))
def test_numpy_predictions_equal_nfm_predict_on_the_fixture(fixture_build, spec):
    export, expected, _ = fixture_build.exported(*spec)
    model = load_model(export)
    indices, values, offsets = fixture_build.test
    got = model.predict(indices, values, offsets)
    assert got.shape == expected.shape and len(got) == len(offsets) - 1 > 0
    assert np.max(np.abs(got - expected)) <= TOLERANCE


@pytest.mark.skipif(torch is None, reason="torch is not importable")
@pytest.mark.parametrize("spec", KINDS, ids=lambda spec: "-".join(s.strip("-") for s in spec))
def test_torch_predictions_equal_nfm_predict_on_the_fixture(fixture_build, spec):
    export, expected, _ = fixture_build.exported(*spec)
    module = load_model(export).to_torch()
    assert isinstance(module, torch.nn.Module) and not module.training
    indices, values, offsets = fixture_build.test
    got = module.predict(torch.as_tensor(indices), torch.as_tensor(values), torch.as_tensor(offsets)).double().numpy()
    assert np.max(np.abs(got - expected)) <= TOLERANCE
    names = set(load_model(export).tensors)
    assert names <= set(module.state_dict())


def test_fixed_layout_rows_and_ragged_lists_give_the_same_predictions(fixture_build):
    export, expected, _ = fixture_build.exported("nfm", "--layers", "8")
    model = load_model(export)
    indices, values, offsets = fixture_build.test
    fields = int(offsets[1])
    assert np.all(np.diff(offsets) == fields)  # one-hot fixed layout
    as_matrix = model.predict(indices.reshape(-1, fields))
    as_lists = model.predict([list(indices[offsets[r] : offsets[r + 1]]) for r in range(3)])
    assert np.max(np.abs(as_matrix - expected)) <= TOLERANCE
    assert np.allclose(as_lists, as_matrix[:3])


def test_clipping_and_raw_outputs(fixture_build):
    export, _, _ = fixture_build.exported("fm")
    model = load_model(export)
    config = json.loads((export / "config.json").read_text())
    assert config["output"] == "clip" and config["clip"] == [-1, 1]
    raw = model.decision_function(fixture_build.test[0], fixture_build.test[1], fixture_build.test[2])
    clipped = model.predict(*fixture_build.test)
    assert np.array_equal(clipped, np.clip(raw, -1, 1))
    with pytest.raises(ValueError, match="outside the model"):
        model.predict(np.array([[model.feature_count, 0]]))


def test_export_layout_config_and_vocabularies(fixture_build):
    export, _, _ = fixture_build.exported("nfm", "--layers", "8")
    config = json.loads((export / "config.json").read_text())
    assert config["format"] == "nfm-model" and config["kind"] == "nfm" and config["layers"] == [8]
    tensors, metadata = read_safetensors(export / "model.safetensors")
    features, k = config["feature_count"], config["factors"]
    assert tensors["embedding"].shape == (features, k)
    assert tensors["linear"].shape == (features,) and tensors["bias"].shape == ()
    assert tensors["layers.0.weight"].shape == (8, k)  # [out, in]
    assert tensors["bi_norm.running_var"].shape == (k,)
    assert metadata["nfm.kind"] == "nfm"
    (header_length,) = struct.unpack("<Q", (export / "model.safetensors").read_bytes()[:8])
    assert header_length % 8 == 0
    model = load_model(export)
    for field in config["fields"]:
        values = model.vocabulary(field["name"])
        assert len(values) == field["cardinality"]


def test_a_truncated_safetensors_file_is_refused_by_name(fixture_build, tmp_path):
    export, _, _ = fixture_build.exported("lr")
    data = (export / "model.safetensors").read_bytes()
    broken = tmp_path / "model.safetensors"
    broken.write_bytes(data[:-4])
    with pytest.raises(ValueError, match="model.safetensors"):
        read_safetensors(broken)


@pytest.mark.parametrize("kind", ["nfm", "fm", "lr"])
def test_frappe_test_split_predictions_equal_nfm_predict(frappe_build, kind):
    export, expected, _ = frappe_build.exported(kind)
    model = load_model(export)
    got = model.predict(*frappe_build.test)
    difference = float(np.max(np.abs(got - expected)))
    print(f"Frappe test split, {kind}: {len(got)} rows, max |numpy − nfm predict| = {difference:.3g}")
    assert len(got) == len(frappe_build.test[2]) - 1 > 20000
    assert difference <= TOLERANCE
    if torch is not None:
        module = model.to_torch()
        torch_got = module.predict(*frappe_build.test).double().numpy()
        torch_difference = float(np.max(np.abs(torch_got - expected)))
        print(f"Frappe test split, {kind}: max |torch − nfm predict| = {torch_difference:.3g}")
        assert torch_difference <= TOLERANCE
