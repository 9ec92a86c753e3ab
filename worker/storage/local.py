"""The local-directory backend (a plain path or ``file://`` URI)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from worker.errors import IntegrityError, NotFoundError
from worker.storage.base import (
    CHUNK,
    HashingReader,
    ObjectInfo,
    ProgressCallback,
    Store,
    sha256_file,
)

_META_SUFFIX = ".sha256"


def path_of(uri: str) -> Path:
    return Path(uri[len("file://") :] if uri.startswith("file://") else uri)


class LocalStore(Store):
    """Objects as files under a directory; each upload keeps its sha256 beside it."""

    def __init__(self, base_uri: str) -> None:
        super().__init__(base_uri)
        self.root = path_of(self.base_uri)

    def _path(self, key: str) -> Path:
        path = (self.root / key.lstrip("/")).resolve()
        root = self.root.resolve()
        if path != root and root not in path.parents:
            raise NotFoundError(f"key {key!r} points outside the store at {self.root}")
        return path

    def _sidecar(self, path: Path) -> Path:
        return path.with_name("." + path.name + _META_SUFFIX)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        stat = path.stat()
        sidecar = self._sidecar(path)
        sha = None
        if sidecar.is_file():
            meta = json.loads(sidecar.read_text())
            if meta.get("mtime_ns") == stat.st_mtime_ns and meta.get("size") == stat.st_size:
                sha = meta.get("sha256")
        return ObjectInfo(self.uri(key), stat.st_size, sha, f"{stat.st_mtime_ns}-{stat.st_size}")

    def _record(self, path: Path, sha: str) -> ObjectInfo:
        stat = path.stat()
        self._sidecar(path).write_text(
            json.dumps({"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
        )
        return ObjectInfo(str(path), stat.st_size, sha, f"{stat.st_mtime_ns}-{stat.st_size}")

    def put_file(
        self,
        path: Path,
        key: str,
        *,
        sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ObjectInfo:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as src, _atomic_writer(dest) as out:
            reader = HashingReader(src, progress)
            while chunk := reader.read(CHUNK):
                out.write(chunk)
        digest = reader.digest.hexdigest()
        if sha256 is not None and sha256 != digest:
            dest.unlink()
            raise IntegrityError(f"{path} changed while uploading to {self.uri(key)}")
        info = self._record(dest, digest)
        return ObjectInfo(self.uri(key), info.size, info.sha256, info.etag)

    def get_file(
        self,
        key: str,
        dest: Path,
        *,
        expected_sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ObjectInfo:
        info = self.head(key)
        if info is None:
            raise NotFoundError(f"no object at {self.uri(key)}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._path(key).open("rb") as src, _atomic_writer(dest) as out:
            reader = HashingReader(src, progress)
            while chunk := reader.read(CHUNK):
                out.write(chunk)
        digest = reader.digest.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            dest.unlink()
            raise IntegrityError(
                f"{self.uri(key)}: sha256 {digest} does not match the expected {expected_sha256}"
            )
        return ObjectInfo(info.uri, info.size, digest, info.etag)

    def open_read(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(f"no object at {self.uri(key)}")
        return path.open("rb")

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _atomic_writer(dest) as out:
            out.write(data)
        info = self._record(dest, hashlib.sha256(data).hexdigest())
        return ObjectInfo(self.uri(key), info.size, info.sha256, info.etag)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(f"no object at {self.uri(key)}")
        return path.read_bytes()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(_META_SUFFIX):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix.lstrip("/")):
                    yield key


class _atomic_writer:  # noqa: N801 - used like a function
    """Write to a temporary file beside ``dest`` and rename it into place on success."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest

    def __enter__(self) -> BinaryIO:
        fd, tmp = tempfile.mkstemp(dir=self.dest.parent, prefix=f".{self.dest.name}.")
        self.tmp = Path(tmp)
        self.fh: BinaryIO = os.fdopen(fd, "wb")
        return self.fh

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.fh.close()
        if exc_type is None:
            os.replace(self.tmp, self.dest)
        else:
            self.tmp.unlink(missing_ok=True)


__all__ = ["LocalStore", "path_of", "sha256_file"]
