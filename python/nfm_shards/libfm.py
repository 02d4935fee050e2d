"""``export-libfm``: a dataset's splits as libFM text, byte-identical to ``nfm export-libfm``.

Each split becomes ``SPLIT.libfm`` with one line per instance in stored order: the label, then for every
entry `` index:value``, then ``\\n``. Numbers are formatted as nfm formats a ``Float``: an integral value
below 10⁹ in magnitude as an integer (``1``, ``-1``, ``0``); anything else in Swift's shortest round-trip
form (``0.5``, ``1e-05``, ``1.5e+09``, ``nan``, ``inf``) — see :func:`format_float`. One-hot entries are ``:1``.
"""

from __future__ import annotations

import os
from typing import Dict

import numpy as np

from .dataset import Dataset
from .errors import NFMIOError, UsageError
from .manifest import SPLITS
from .shard import FixedShard


def format_float(value) -> str:
    """nfm's text for a float32: ``String(Int(v))`` when ``v`` is integral and ``|v| < 1e9``, else Swift's
    ``description`` — the shortest digits that read back to the same float32, positional when the decimal
    exponent is ≥ −4 and ``|v| ≤ 2²⁴`` (always with a ``.``), otherwise ``d.ddde±XX``."""
    v = np.float32(value)
    if np.isfinite(v) and v == np.round(v) and abs(v) < np.float32(1e9):
        return str(int(v))
    return swift_description(v)


def swift_description(value) -> str:
    """Swift's ``Float.description``: shortest round-trip digits; positional when the decimal exponent is
    ≥ −4 and ``|v| ≤ 2²⁴`` (with at least one fraction digit), else ``d.ddde±XX`` (two exponent digits)."""
    v = np.float32(value)
    if np.isnan(v):
        bits = int(np.array([v], dtype=np.float32).view(np.uint32)[0])
        payload = bits & 0x001FFFFF
        text = ("-" if bits >> 31 else "") + ("nan" if bits & 0x00400000 else "snan")
        return text + (f"(0x{payload:x})" if payload else "")
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "-0.0" if np.signbit(v) else "0.0"
    text = np.format_float_scientific(v, unique=True, trim="-")
    mantissa, exponent = text.split("e")
    exponent = int(exponent)
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    if exponent < -4 or abs(v) > np.float32(2.0 ** 24):
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    fraction = digits[exponent + 1:] or "0"
    return f"{sign}{whole}.{fraction}"


def _label_texts(labels: np.ndarray):
    """Formatted labels, computing each distinct value's text once."""
    unique, inverse = np.unique(labels.view(np.uint32), return_inverse=True)
    texts = np.array([format_float(u) for u in unique.view(np.float32)], dtype=object)
    return texts[inverse.reshape(-1)]


def _fixed_lines(shard: FixedShard) -> bytes:
    rows, fields = shard.indices.shape
    template = "%s" + " %d:1" * fields + "\n"
    flat = np.empty((rows, fields + 1), dtype=object)
    flat[:, 0] = _label_texts(shard.labels)
    flat[:, 1:] = shard.indices.astype(np.uint32).astype(object) if rows else flat[:, 1:]
    out = []
    step = 8192
    for start in range(0, rows, step):
        part = flat[start:start + step]
        out.append((template * len(part)) % tuple(part.ravel().tolist()))
    return "".join(out).encode("ascii")


def _sparse_lines(shard) -> bytes:
    labels = _label_texts(shard.labels)
    values = _label_texts(shard.values) if len(shard.values) else np.empty(0, dtype=object)
    indices = shard.indices.astype(np.uint32).tolist()
    offsets = shard.offsets.tolist()
    lines = []
    for r in range(shard.rows):
        entries = "".join(f" {indices[k]}:{values[k]}" for k in range(offsets[r], offsets[r + 1]))
        lines.append(f"{labels[r]}{entries}\n")
    return "".join(lines).encode("ascii")


def export_libfm(directory: str, output: str, force: bool = False) -> Dict[str, str]:
    """Writes ``OUTPUT/{train,validation,test}.libfm`` for the dataset at ``directory``.

    Each file is written to ``.NAME.tmp-PID`` and renamed; an existing file is replaced only with
    ``force``. Returns split → path. The dataset is checked as it is read (manifest, sizes, SHA-256).
    """
    dataset = Dataset(directory)
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError("exists and is not a directory", file=output)
    targets = {split: os.path.join(output, f"{split}.libfm") for split in SPLITS}
    if not force:
        for path in targets.values():
            if os.path.lexists(path):
                raise UsageError("exists (use --force to replace it)", file=path)
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as error:
        raise NFMIOError(f"cannot create directory ({error.strerror})", file=output) from None
    for split, path in targets.items():
        temporary = os.path.join(output, f".{split}.libfm.tmp-{os.getpid()}")
        try:
            with open(temporary, "wb") as handle:
                for shard in dataset.shards(split):
                    handle.write(_fixed_lines(shard) if isinstance(shard, FixedShard) else _sparse_lines(shard))
            os.replace(temporary, path)
        except OSError as error:
            raise NFMIOError(f"cannot write ({error.strerror})", file=path) from None
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    return targets
