"""``verify``: every byte of a dataset directory against its manifest, with the answers of ``nfm verify``.

The manifest must pass :func:`nfm_shards.manifest.load_manifest` (checksum file, format, path and
consistency rules), or :class:`ManifestError` is raised. Then every listed file must exist with the recorded
size and SHA-256, every shard must decode to the recorded row count, and every file on disk that the
manifest does not list (other than ``manifest.json``, ``manifest.sha256`` and ``.nfm-owner``) is *extra*.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import NFMError
from .manifest import MANIFEST, MANIFEST_SHA256, OWNER_MARKER, check_path, load_manifest
from .shard import decode_shard

IGNORED = frozenset({MANIFEST, MANIFEST_SHA256, OWNER_MARKER})


@dataclass(frozen=True)
class Problem:
    """One failed check: ``kind`` is missing, sizeMismatch, checksumMismatch, undecodable or extra."""

    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} — {self.detail}"


@dataclass
class Report:
    """The outcome of :func:`verify`: the manifest, the problems and the number of files checked."""

    manifest: Dict[str, Any]
    problems: List[Problem] = field(default_factory=list)
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_file(directory: str, relative: str, size: int, sha256: str, problems: List[Problem]) -> Optional[bytes]:
    full = check_path(directory, relative, "path", os.path.join(directory, MANIFEST))
    if full is None:
        problems.append(Problem(relative, "missing", "listed in the manifest, not on disk"))
        return None
    try:
        with open(full, "rb") as handle:
            content = handle.read()
    except OSError:
        problems.append(Problem(relative, "missing", "cannot be read"))
        return None
    if len(content) != size:
        problems.append(Problem(relative, "sizeMismatch", f"{len(content)} bytes, manifest says {size}"))
        return None
    digest = hashlib.sha256(content).hexdigest()
    if digest != sha256:
        problems.append(Problem(relative, "checksumMismatch", f"sha256 {digest}, manifest says {sha256}"))
        return None
    return content


def relative_files(directory: str) -> List[str]:
    """Every non-directory entry under ``directory``, as sorted '/'-separated relative paths."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in files:
            full = os.path.join(root, name)
            found.append(os.path.relpath(full, directory).replace(os.sep, "/"))
    return sorted(found)


def verify(directory: str) -> Report:
    """Checks ``directory`` against its manifest; returns a :class:`Report` (``report.ok``).

    Raises :class:`ManifestError` when the manifest itself cannot be trusted (missing, altered, malformed,
    or breaking a path or consistency rule). Cost: one read and one SHA-256 of every file, one decode of
    every shard.
    """
    manifest = load_manifest(directory)
    report = Report(manifest=manifest)
    listed = {MANIFEST}
    for item in manifest["files"]:
        listed.add(item["path"])
        _check_file(directory, item["path"], item["bytes"], item.get("sha256"), report.problems)
    for shard in manifest["shards"]:
        listed.add(shard["file"])
        content = _check_file(directory, shard["file"], shard["bytes"], shard.get("sha256"), report.problems)
        if content is None:
            continue
        try:
            block = decode_shard(content, shard["file"])
        except NFMError as error:
            report.problems.append(Problem(shard["file"], "undecodable", str(error)))
            continue
        if block.rows != shard["rows"]:
            report.problems.append(
                Problem(shard["file"], "undecodable", f"{block.rows} rows, manifest says {shard['rows']}"))
    for path in relative_files(directory):
        if path not in listed and path not in IGNORED:
            report.problems.append(Problem(path, "extra", "not listed in the manifest"))
    report.files_checked = 1 + len(listed - IGNORED)  # as nfm counts: the manifest (with its checksum) and each listed file
    return report
