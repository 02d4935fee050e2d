"""Models written by ``nfm export-model``: load them and predict in numpy, or get a PyTorch module.

An export directory holds ``model.safetensors`` (F32 tensors, PyTorch-style names), ``config.json`` and
``vocab/``. ``load_model(DIR)`` returns a :class:`Model` whose :meth:`Model.predict` computes exactly
what ``nfm predict`` prints (before its ``%g`` formatting):

* ŷ, the model's forward pass in inference mode: batch norm with the running (moving) statistics,
  ``γ·(x − mean)/√(var + ε) + β``, and no dropout;
* then, for squared loss, ŷ clipped to the training labels' range ``config["clip"]`` (``clip=False``
  leaves it), or for log loss the probability ``σ(ŷ) = 1/(1 + e^−ŷ)``.

Kinds: ``nfm``, ``fm``, ``lr``, ``wide-deep``, ``deep-cross``, ``hofm`` (docs/TRAINING.md):

* nfm / fm: ``ŷ = w₀ + Σ xᵢwᵢ + hᵀ·MLP(BN(f_BI))``, ``f_BI = ½[(Σ xᵢvᵢ)² − Σ (xᵢvᵢ)²]`` (FM: no
  layers, ``h`` = ones); each hidden layer ``act(BN(a·Wᵀ + b))``;
* lr: ``ŷ = w₀ + Σ xᵢwᵢ``;
* wide-deep: ``ŷ = w₀ + Σ xᵢwᵢ + hᵀ·MLP(e(x))``, ``e(x)`` the per-field sums of ``xᵢvᵢ`` concatenated;
* deep-cross: ``ŷ = w₀ + hᵀ·R_U(…R_1(e(x)))``, ``R(z) = act(z + act(z·W₁ᵀ + b₁)·W₂ᵀ + b₂)``;
* hofm: ``ŷ = w₀ + Σ xᵢwᵢ + Σ_c f_BI(P)_c + Σ_c (s₁³ − 3s₁s₂ + 2s₃)/6`` with ``s_p = Σ (xᵢqᵢ)^p``.

Input rows are feature indices (the model's global indices, as stored in the shards and in libFM
files) with optional values (default 1): a 2-D ``(rows, fields)`` array, or CSR arrays
``indices``/``offsets`` (``rows + 1`` entry offsets), or a list of per-row index lists.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

__all__ = ["load_model", "read_safetensors", "Model"]

_ROWS_PER_CHUNK = 4096


def read_safetensors(path):
    """Reads a safetensors file of F32 tensors: returns ``({name: ndarray}, metadata)``.

    Layout: u64 little-endian header length N, N bytes of JSON
    ``{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}``, then the data.
    Raises ``ValueError`` naming the file when the header or a tensor's range is inconsistent.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise ValueError(f"{path}: header length {length} exceeds the file")
    try:
        header = json.loads(raw[8 : 8 + length])
    except ValueError as error:
        raise ValueError(f"{path}: unreadable JSON header ({error})") from None
    data = memoryview(raw)[8 + length :]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, entry in header.items():
        if entry.get("dtype") != "F32":
            raise ValueError(f"{path}: tensor {name}: dtype {entry.get('dtype')} (only F32 is written by nfm)")
        shape = tuple(int(d) for d in entry["shape"])
        begin, end = (int(x) for x in entry["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        if not (0 <= begin <= end <= len(data)) or end - begin != 4 * count:
            raise ValueError(f"{path}: tensor {name}: data_offsets {[begin, end]} do not match shape {list(shape)}")
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(shape).copy()
    return tensors, metadata


def _read_vocabulary(path):
    """Values of a vocabulary TSV (header ``index<TAB>count<TAB>value``), unescaped, in index order."""
    escapes = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}

    def unescape(text):
        if "\\" not in text:
            return text
        out, i = [], 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                out.append(escapes.get(text[i + 1], text[i + 1]))
                i += 2
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    with open(path, encoding="utf-8", newline="\n") as handle:
        lines = handle.read().split("\n")
    return [unescape(line.split("\t", 2)[2]) for line in lines[1:] if line]


def _activation(name):
    if name == "relu":
        return lambda x: np.maximum(x, 0)
    if name == "sigmoid":
        return lambda x: 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh
    if name == "identity":
        return lambda x: x
    raise ValueError(f"unknown activation {name!r}")


def _as_csr(indices, values, offsets):
    """Normalises the accepted input forms to CSR: (indices int64, values float64, offsets int64 from 0)."""
    if offsets is None:
        if isinstance(indices, np.ndarray) and indices.ndim == 2:
            rows, width = indices.shape
            offsets = np.arange(0, rows * width + 1, width, dtype=np.int64) if width else np.zeros(rows + 1, np.int64)
            flat = indices.reshape(-1)
            vals = None if values is None else np.asarray(values, dtype=np.float64).reshape(-1)
        else:
            lists = [np.asarray(row, dtype=np.int64).reshape(-1) for row in indices]
            offsets = np.zeros(len(lists) + 1, dtype=np.int64)
            offsets[1:] = np.cumsum([len(row) for row in lists])
            flat = np.concatenate(lists) if lists else np.zeros(0, np.int64)
            vals = None if values is None else np.concatenate(
                [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]) if len(values) else np.zeros(0)
    else:
        offsets = np.asarray(offsets, dtype=np.int64)
        flat = np.asarray(indices).reshape(-1)
        vals = None if values is None else np.asarray(values, dtype=np.float64).reshape(-1)
        offsets = offsets - offsets[0]
        flat = flat[: offsets[-1]]
        vals = None if vals is None else vals[: offsets[-1]]
    flat = np.asarray(flat, dtype=np.int64)
    if vals is None:
        vals = np.ones(len(flat), dtype=np.float64)
    if len(vals) != len(flat):
        raise ValueError(f"{len(vals)} values for {len(flat)} indices")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    return flat, vals, offsets


def _row_sums(x, offsets):
    """Per-row sums of ``x`` (entries × …) for CSR ``offsets`` (empty rows give zeros)."""
    rows = len(offsets) - 1
    out = np.zeros((rows,) + x.shape[1:], dtype=np.float64)
    nonempty = offsets[1:] > offsets[:-1]
    if len(x):
        out[nonempty] = np.add.reduceat(x, offsets[:-1][nonempty], axis=0)
    return out


class Model:
    """A model exported by ``nfm export-model``, evaluated in numpy (float64)."""

    def __init__(self, directory, config, tensors):
        self.directory = directory
        self.config = config
        self.tensors = tensors
        self.kind = config["kind"]
        self.feature_count = int(config["feature_count"])
        self.fields = config.get("fields", [])
        self._act = _activation(config.get("activation", "relu"))
        self._p = {name: t.astype(np.float64) for name, t in tensors.items()}
        if config.get("field_sizes"):
            sizes = config["field_sizes"]
            self._field_of = np.repeat(np.arange(len(sizes)), sizes)

    # -- vocabularies ------------------------------------------------------------------------
    def vocabulary(self, field):
        """The values of ``field`` (its name) in index order, from ``vocab/``; ``None`` if not exported."""
        for entry in self.fields:
            if entry["name"] == field:
                path = entry.get("vocabulary")
                return None if path is None else _read_vocabulary(os.path.join(self.directory, path))
        raise KeyError(field)

    # -- inference ---------------------------------------------------------------------------
    def predict(self, indices, values=None, offsets=None, clip=True):
        """What ``nfm predict`` prints for these rows: ŷ clipped to the label range (squared loss,
        unless ``clip=False``) or σ(ŷ) (log loss). Returns a float64 array, one value per row."""
        return self.transform(self.decision_function(indices, values, offsets), clip=clip)

    def transform(self, y, clip=True):
        """Applies the output rule of ``config["output"]`` to model outputs ŷ."""
        y = np.asarray(y, dtype=np.float64)
        if self.config.get("output") == "sigmoid":
            return 1 / (1 + np.exp(-y))
        if clip and self.config.get("clip"):
            lower, upper = self.config["clip"]
            return np.clip(y, lower, upper)
        return y

    def decision_function(self, indices, values=None, offsets=None):
        """The model outputs ŷ (logits for log loss) for each row, in inference mode."""
        flat, vals, offs = _as_csr(indices, values, offsets)
        if len(flat) and (flat.min() < 0 or flat.max() >= self.feature_count):
            bad = flat[(flat < 0) | (flat >= self.feature_count)][0]
            raise ValueError(f"feature index {bad} is outside the model's {self.feature_count} features")
        rows = len(offs) - 1
        out = np.empty(rows, dtype=np.float64)
        for start in range(0, rows, _ROWS_PER_CHUNK):
            end = min(start + _ROWS_PER_CHUNK, rows)
            o = offs[start : end + 1]
            out[start:end] = self._forward(flat[o[0] : o[-1]], vals[o[0] : o[-1]], o - o[0])
        return out

    def _norm(self, x, prefix):
        p = self._p
        if prefix + ".weight" not in p:
            return x
        eps = float(self.config["batch_norm_epsilon"])
        scale = p[prefix + ".weight"] / np.sqrt(p[prefix + ".running_var"] + eps)
        return (x - p[prefix + ".running_mean"]) * scale + p[prefix + ".bias"]

    def _dense_stack(self, a):
        i = 0
        while f"layers.{i}.weight" in self._p:
            a = a @ self._p[f"layers.{i}.weight"].T + self._p[f"layers.{i}.bias"]
            a = self._act(self._norm(a, f"layers.{i}.norm"))
            i += 1
        return a

    def _concat(self, idx, vals, offs, xv):
        rows = len(offs) - 1
        fields = len(self.config["field_sizes"])
        k = xv.shape[1]
        e = np.zeros((rows * fields, k), dtype=np.float64)
        row_of = np.repeat(np.arange(rows), np.diff(offs))
        np.add.at(e, row_of * fields + self._field_of[idx], xv)
        return e.reshape(rows, fields * k)

    def _forward(self, idx, vals, offs):
        p = self._p
        kind = self.kind
        y = np.full(len(offs) - 1, float(p["bias"]), dtype=np.float64)
        if "linear" in p:
            y += _row_sums(vals * p["linear"][idx], offs)
        if kind == "lr":
            return y
        xv = vals[:, None] * p["embedding"][idx]
        if kind in ("nfm", "fm", "hofm"):
            s = _row_sums(xv, offs)
            bi = 0.5 * (s * s - _row_sums(xv * xv, offs))
            if kind == "hofm":
                xq = vals[:, None] * p["embedding3"][idx]
                s1, s2, s3 = (_row_sums(xq**power, offs) for power in (1, 2, 3))
                return y + bi.sum(axis=1) + ((s1**3 - 3 * s1 * s2 + 2 * s3) / 6).sum(axis=1)
            top = self._dense_stack(self._norm(bi, "bi_norm"))
            return y + top @ p["prediction"]
        z = self._concat(idx, vals, offs, xv)
        if kind == "wide-deep":
            return y + self._dense_stack(z) @ p["prediction"]
        if kind == "deep-cross":
            u = 0
            while f"residuals.{u}.linear1.weight" in p:
                q = f"residuals.{u}."
                inner = self._act(z @ p[q + "linear1.weight"].T + p[q + "linear1.bias"])
                z = self._act(z + inner @ p[q + "linear2.weight"].T + p[q + "linear2.bias"])
                u += 1
            return y + z @ p["prediction"]
        raise ValueError(f"unknown model kind {kind!r}")

    # -- PyTorch -----------------------------------------------------------------------------
    def to_torch(self, dtype=None):
        """A ``torch.nn.Module`` (in eval mode) with the same parameters, whose ``forward(indices,
        values=None, offsets=None)`` returns ŷ and ``predict(...)`` what :meth:`predict` returns.
        Its ``state_dict()`` keys are the safetensors names (plus BatchNorm's ``num_batches_tracked``).
        Raises ``ImportError`` when torch is not installed."""
        return _torch_module(self, dtype)


def _torch_module(model, dtype=None):
    """Builds the PyTorch twin of ``model`` (see :meth:`Model.to_torch`)."""
    import torch
    from torch import nn

    dtype = dtype or torch.float32
    config = model.config
    kind = model.kind
    acts = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda x: x}
    act = acts[config.get("activation", "relu")]
    eps = float(config.get("batch_norm_epsilon", 0.001))
    t = {name: torch.tensor(value, dtype=dtype) for name, value in model.tensors.items()}

    def norm(prefix, width):
        if prefix + ".weight" not in t:
            return None
        layer = nn.BatchNorm1d(width, eps=eps).to(dtype)
        with torch.no_grad():
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(layer, key).copy_(t[f"{prefix}.{key}"])
        return layer

    class Dense(nn.Module):
        def __init__(self, i):
            super().__init__()
            self.weight = nn.Parameter(t[f"layers.{i}.weight"])
            self.bias = nn.Parameter(t[f"layers.{i}.bias"])
            self.norm = norm(f"layers.{i}.norm", self.bias.shape[0])

        def forward(self, a):
            a = a @ self.weight.T + self.bias
            return act(self.norm(a) if self.norm is not None else a)

    class Residual(nn.Module):
        def __init__(self, u):
            super().__init__()
            q = f"residuals.{u}."
            w1, w2 = t[q + "linear1.weight"], t[q + "linear2.weight"]
            self.linear1 = nn.Linear(w1.shape[1], w1.shape[0]).to(dtype)
            self.linear2 = nn.Linear(w2.shape[1], w2.shape[0]).to(dtype)
            with torch.no_grad():
                for name, layer in (("linear1", self.linear1), ("linear2", self.linear2)):
                    layer.weight.copy_(t[q + name + ".weight"])
                    layer.bias.copy_(t[q + name + ".bias"])

        def forward(self, z):
            return act(z + self.linear2(act(self.linear1(z))))

    class NFMModule(nn.Module):
        """The exported model's inference pass; ``forward`` returns ŷ per row."""

        def __init__(self):
            super().__init__()
            self.kind = kind
            self.bias = nn.Parameter(t["bias"])
            for name in ("linear", "embedding", "embedding3", "prediction"):
                if name in t:
                    setattr(self, name, nn.Parameter(t[name]))
            self.bi_norm = norm("bi_norm", int(config["factors"]))
            self.layers = nn.ModuleList(Dense(i) for i in range(len(config["layers"])) if f"layers.{i}.weight" in t)
            self.residuals = nn.ModuleList(
                Residual(u) for u in range(len(config["layers"])) if f"residuals.{u}.linear1.weight" in t)
            if config.get("field_sizes"):
                sizes = torch.tensor(config["field_sizes"])
                self.register_buffer("field_of", torch.repeat_interleave(torch.arange(len(sizes)), sizes), persistent=False)
            self.eval()

        def forward(self, indices, values=None, offsets=None):
            flat, vals, offs = _as_csr(
                indices.cpu().numpy() if torch.is_tensor(indices) else indices,
                values.cpu().numpy() if torch.is_tensor(values) else values,
                offsets.cpu().numpy() if torch.is_tensor(offsets) else offsets)
            device = self.bias.device
            idx = torch.as_tensor(flat, device=device)
            x = torch.as_tensor(vals, dtype=dtype, device=device)
            rows = len(offs) - 1
            row_of = torch.repeat_interleave(torch.arange(rows, device=device), torch.as_tensor(np.diff(offs), device=device))

            def row_sums(v):
                return torch.zeros((rows,) + tuple(v.shape[1:]), dtype=dtype, device=device).index_add_(0, row_of, v)

            y = self.bias.expand(rows).clone()
            if hasattr(self, "linear"):
                y = y + row_sums(x * self.linear[idx])
            if self.kind == "lr":
                return y
            xv = x[:, None] * self.embedding[idx]
            if self.kind in ("nfm", "fm", "hofm"):
                s = row_sums(xv)
                bi = 0.5 * (s * s - row_sums(xv * xv))
                if self.kind == "hofm":
                    xq = x[:, None] * self.embedding3[idx]
                    s1, s2, s3 = row_sums(xq), row_sums(xq**2), row_sums(xq**3)
                    return y + bi.sum(1) + ((s1**3 - 3 * s1 * s2 + 2 * s3) / 6).sum(1)
                a = self.bi_norm(bi) if self.bi_norm is not None else bi
                for layer in self.layers:
                    a = layer(a)
                return y + a @ self.prediction
            fields = len(config["field_sizes"])
            k = xv.shape[1]
            slots = row_of * fields + self.field_of[idx]
            z = torch.zeros((rows * fields, k), dtype=dtype, device=device).index_add_(0, slots, xv).reshape(rows, fields * k)
            for layer in self.layers:
                z = layer(z)
            for unit in self.residuals:
                z = unit(z)
            return y + z @ self.prediction

        def predict(self, indices, values=None, offsets=None, clip=True):
            """What ``nfm predict`` prints for these rows (see :meth:`Model.predict`)."""
            with torch.no_grad():
                y = self.forward(indices, values, offsets)
            if config.get("output") == "sigmoid":
                return torch.sigmoid(y)
            if clip and config.get("clip"):
                return y.clamp(*config["clip"])
            return y

    return NFMModule()


def load_model(directory):
    """Loads a directory written by ``nfm export-model`` (``config.json`` + ``model.safetensors``)."""
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    if config.get("format") != "nfm-model":
        raise ValueError(f"{directory}: config.json is not an nfm model export (format {config.get('format')!r})")
    if int(config.get("format_version", 0)) > 1:
        raise ValueError(f"{directory}: export format version {config['format_version']} is newer than this reader (1)")
    tensors, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    for entry in config.get("tensors", []):
        tensor = tensors.get(entry["name"])
        if tensor is None or list(tensor.shape) != list(entry["shape"]):
            raise ValueError(f"{directory}: tensor {entry['name']} is missing or not of shape {entry['shape']}")
    return Model(directory, config, tensors)
