"""Exceptions of nfm_shards, mirroring nfm's error codes and exit statuses.

Every error carries a structured position (``file``, ``field``, ``value``) like nfm's ``NFMError``;
``str(error)`` renders ``FILE: field F = V: message`` the way nfm does.
"""

from __future__ import annotations

from typing import Optional

# nfm's exit statuses: 2 usage, 3 I/O, 4 integrity.
EXIT_USAGE = 2
EXIT_IO = 3
EXIT_INTEGRITY = 4


def excerpt(value: object, limit: int = 200) -> str:
    """``value`` as text, cut to ``limit`` UTF-8 bytes with a trailing ``…`` (as nfm's ``NFMError.excerpt``)."""
    text = str(value)
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore") + "…"


class NFMError(Exception):
    """Base class: ``code`` is nfm's error code name, ``exit_code`` the status ``nfm`` exits with."""

    code = "verification"
    exit_code = EXIT_INTEGRITY

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        field: Optional[str] = None,
        value: Optional[object] = None,
    ) -> None:
        self.message = message
        self.file = file
        self.field = field
        self.value = None if value is None else excerpt(value)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.field is not None:
            parts.append(f"field {self.field} = {self.value}" if self.value is not None else f"field {self.field}")
        parts.append(self.message)
        return ": ".join(parts)


class CorruptShardError(NFMError):
    """A shard file failed its checks (header, sizes, zstd frame, column table, row offsets, SHA-256)."""

    code = "corruptShard"


class ManifestError(NFMError):
    """``manifest.json`` or ``manifest.sha256`` is missing, altered, malformed or inconsistent, or a path
    in it breaks the path rules."""

    code = "manifest"


class VocabularyError(NFMError):
    """A vocabulary TSV file is malformed or does not match its checksum."""

    code = "vocabulary"


class CheckpointError(NFMError):
    """A model checkpoint failed its checks."""

    code = "checkpoint"


class NFMIOError(NFMError):
    """A file or directory cannot be opened, read or written."""

    code = "io"
    exit_code = EXIT_IO


class UsageError(NFMError):
    """A bad argument (unknown split, refused output path …)."""

    code = "usage"
    exit_code = EXIT_USAGE
