"""The storage interface shared by every backend."""

from __future__ import annotations

import abc
import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

#: Called with the number of bytes moved since the previous call.
ProgressCallback = Callable[[int], None]

CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object."""

    uri: str
    size: int
    #: sha256 of the content when the store recorded it (our uploads always do).
    sha256: str | None
    #: A version marker that changes whenever the content changes.
    etag: str


def join_uri(base: str, *parts: str) -> str:
    out = base.rstrip("/")
    for part in (p.strip("/") for p in parts):
        if part:
            out = f"{out}/{part}"
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashingReader:
    """Wraps a binary stream, hashing (sha256) and counting what is read through it."""

    def __init__(self, raw: BinaryIO, progress: ProgressCallback | None = None) -> None:
        self._raw = raw
        self._progress = progress
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.digest.update(data)
        self.bytes_read += len(data)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Read to the end so the digest covers the whole object."""
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        self._raw.close()


class Store(abc.ABC):
    """Objects under one base URI. Every method takes keys relative to that base."""

    def __init__(self, base_uri: str) -> None:
        self.base_uri = base_uri.rstrip("/")

    def uri(self, key: str) -> str:
        return join_uri(self.base_uri, key)

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Information about an object, or None when it does not exist."""

    @abc.abstractmethod
    def put_file(
        self,
        path: Path,
        key: str,
        *,
        sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ObjectInfo:
        """Upload a file; records its sha256 (computed when not given)."""

    @abc.abstractmethod
    def get_file(
        self,
        key: str,
        dest: Path,
        *,
        expected_sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ObjectInfo:
        """Download to ``dest`` (atomically); raises IntegrityError on a checksum mismatch."""

    @abc.abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """A stream of the object's bytes, for streaming consumers (dataset extraction)."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Store a small object."""

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read a small object; raises NotFoundError when missing."""

    @abc.abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys (relative to the base) under ``prefix``, in order."""

    def exists(self, key: str) -> bool:
        return self.head(key) is not None
