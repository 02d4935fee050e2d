"""Loading and checking ``manifest.json`` (the root of trust of a dataset directory).

Rules (docs/FORMAT.md §3, the same as nfm's):

- ``manifest.sha256`` holds exactly ``<64 lowercase hex>  manifest.json\\n``, the SHA-256 of manifest.json;
- ``format`` is ``nfm-dataset`` and ``formatVersion`` 1;
- every path (``shards[].file``, ``files[].path``, non-empty ``fields[].vocabulary``) is relative and
  normalised and names a regular file inside the directory with no symbolic link on the way;
- no file is listed twice in ``files`` and ``shards``; each shard lies under ``<split>/``; per split the shard
  rows add up to ``counts.<split>``; field offsets are consecutive from 0 and add up to ``featureCount``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from typing import Any, Dict, List, Optional

from .errors import ManifestError, NFMIOError

MANIFEST = "manifest.json"
MANIFEST_SHA256 = "manifest.sha256"
OWNER_MARKER = ".nfm-owner"
FORMAT = "nfm-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")
_CHECKSUM_LINE = re.compile(rb"^([0-9a-f]{64})  manifest\.json\n$")


def read_bytes(path: str) -> bytes:
    """The bytes of the file at ``path``; :class:`NFMIOError` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise NFMIOError(f"cannot read ({error.strerror})", file=path) from None


def load_manifest(directory: str) -> Dict[str, Any]:
    """Reads ``DIR/manifest.json``, checks it against ``DIR/manifest.sha256`` and checks its rules.

    Returns the manifest as a dict. Raises :class:`ManifestError` (exit 4) naming the file, field and value.
    """
    path = os.path.join(directory, MANIFEST)
    if not os.path.isdir(directory):
        raise NFMIOError("not a directory", file=directory)
    if not os.path.lexists(path):
        raise ManifestError("missing (not a dataset directory, or an unfinished build)", file=path)
    data = read_bytes(path)
    check_manifest_checksum(directory, data)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"not a valid manifest ({error})", file=path) from None
    if not isinstance(manifest, dict):
        raise ManifestError("not a valid manifest (not a JSON object)", file=path)
    if manifest.get("format") != FORMAT or manifest.get("formatVersion") != FORMAT_VERSION:
        raise ManifestError(
            f"format {manifest.get('format')} v{manifest.get('formatVersion')} is not {FORMAT} v{FORMAT_VERSION}",
            file=path)
    check_manifest_rules(directory, manifest)
    return manifest


def check_manifest_checksum(directory: str, manifest_bytes: bytes) -> str:
    """Checks ``manifest.sha256`` against the manifest's bytes; returns the hex digest."""
    path = os.path.join(directory, MANIFEST_SHA256)
    if not os.path.lexists(path):
        raise ManifestError("missing: a dataset without its manifest checksum does not verify", file=path)
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise ManifestError("not a regular file", file=path)
    line = read_bytes(path)
    match = _CHECKSUM_LINE.match(line)
    if match is None:
        raise ManifestError("expected one line '<64 lowercase hex>  manifest.json'", file=path,
                            field="line", value=line[:100].decode("utf-8", "replace"))
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    if match.group(1).decode() != digest:
        raise ManifestError(f"manifest.json has sha256 {digest}, manifest.sha256 says {match.group(1).decode()}",
                            file=path)
    return digest


def check_path(directory: str, relative: Any, field: str, manifest_path: str) -> Optional[str]:
    """Checks one manifest path; returns the absolute path, or None when the file is absent.

    The path must be a non-empty string, relative, normalised (no empty, ``.`` or ``..`` components), with no
    backslash or NUL; every directory on the way must be a real directory (no symlink) and the file, when
    present, a regular file (not a symlink).
    """

    def fail(what: str) -> ManifestError:
        return ManifestError(what, file=manifest_path, field=field, value=relative)

    if not isinstance(relative, str) or relative == "":
        raise fail("expected a non-empty relative path")
    if relative.startswith("/") or "\\" in relative or "\0" in relative:
        raise fail("path must be relative, without backslash or NUL")
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise fail("path must be normalised (no empty, '.' or '..' components)")
    current = directory
    for k, part in enumerate(parts):
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return None
        except OSError as error:
            raise NFMIOError(f"cannot stat ({error.strerror})", file=current) from None
        last = k == len(parts) - 1
        if stat.S_ISLNK(mode):
            raise fail("path goes through a symbolic link")
        if not last and not stat.S_ISDIR(mode):
            raise fail("a component of the path is not a directory")
        if last and not stat.S_ISREG(mode):
            raise fail("not a regular file")
    return current


def _listed_paths(manifest: Dict[str, Any], manifest_path: str) -> List[tuple]:
    """(field name, path) of every path the manifest names, in manifest order."""
    out = []
    for key, item_key, sub in (("files", "path", "files"), ("shards", "file", "shards")):
        items = manifest.get(key)
        if not isinstance(items, list):
            raise ManifestError("expected a list", file=manifest_path, field=key)
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ManifestError("expected an object", file=manifest_path, field=f"{sub}[{i}]")
            out.append((f"{sub}[{i}].{item_key}", item.get(item_key)))
    fields = manifest.get("fields")
    if not isinstance(fields, list):
        raise ManifestError("expected a list", file=manifest_path, field="fields")
    for i, item in enumerate(fields):
        if not isinstance(item, dict):
            raise ManifestError("expected an object", file=manifest_path, field=f"fields[{i}]")
        vocabulary = item.get("vocabulary", "")
        if vocabulary != "":
            out.append((f"fields[{i}].vocabulary", vocabulary))
    return out


def _int(value: Any, field: str, manifest_path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ManifestError("expected a non-negative integer", file=manifest_path, field=field, value=value)
    return value


def check_manifest_rules(directory: str, manifest: Dict[str, Any]) -> None:
    """Path rules and consistency rules of the module docstring; raises :class:`ManifestError`."""
    manifest_path = os.path.join(directory, MANIFEST)
    for field, relative in _listed_paths(manifest, manifest_path):
        check_path(directory, relative, field, manifest_path)
    seen = set()
    listed = [(f"files[{i}].path", f.get("path")) for i, f in enumerate(manifest["files"])]
    listed += [(f"shards[{i}].file", s.get("file")) for i, s in enumerate(manifest["shards"])]
    for field, relative in listed:
        if relative in seen:
            raise ManifestError("file listed twice", file=manifest_path, field=field, value=relative)
        seen.add(relative)
    counts = manifest.get("counts")
    if not isinstance(counts, dict):
        raise ManifestError("expected an object", file=manifest_path, field="counts")
    sums = {split: 0 for split in SPLITS}
    for i, shard in enumerate(manifest["shards"]):
        split = shard.get("split")
        if split not in SPLITS:
            raise ManifestError("unknown split", file=manifest_path, field=f"shards[{i}].split", value=split)
        if not shard["file"].startswith(split + "/"):
            raise ManifestError(f"a {split} shard must lie under '{split}/'", file=manifest_path,
                                field=f"shards[{i}].file", value=shard["file"])
        sums[split] += _int(shard.get("rows"), f"shards[{i}].rows", manifest_path)
        _int(shard.get("bytes"), f"shards[{i}].bytes", manifest_path)
    for i, item in enumerate(manifest["files"]):
        _int(item.get("bytes"), f"files[{i}].bytes", manifest_path)
    for split in SPLITS:
        expected = _int(counts.get(split), f"counts.{split}", manifest_path)
        if sums[split] != expected:
            raise ManifestError(f"the {split} shards hold {sums[split]} rows", file=manifest_path,
                                field=f"counts.{split}", value=expected)
    feature_count = _int(manifest.get("featureCount"), "featureCount", manifest_path)
    fields = manifest["fields"]
    if fields:
        offset = 0
        for i, item in enumerate(fields):
            if _int(item.get("offset"), f"fields[{i}].offset", manifest_path) != offset:
                raise ManifestError(f"field offsets must be consecutive (expected {offset})", file=manifest_path,
                                    field=f"fields[{i}].offset", value=item.get("offset"))
            offset += _int(item.get("cardinality"), f"fields[{i}].cardinality", manifest_path)
        if offset != feature_count:
            raise ManifestError(f"the field cardinalities add up to {offset}", file=manifest_path,
                                field="featureCount", value=feature_count)
