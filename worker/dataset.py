"""Datasets: fetched and extracted while streaming, checked, and cached by checksum.

An archive (``.tar.gz``/``.tgz`` or ``.tar.zst``) must hold exactly one top-level directory.
Members with absolute paths, ``..``, or links pointing outside are refused. Extraction goes
to a temporary directory renamed into the cache only when complete and verified, so a second
job on the same host reuses it without downloading again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import queue
import shutil
import tarfile
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any, BinaryIO, cast

from worker.errors import ConfigError, IntegrityError, UnsafeArchiveError
from worker.fetch import fetch_verified
from worker.params import ArtifactRef
from worker.storage import ProgressCallback, open_object
from worker.storage.base import HashingReader

log = logging.getLogger(__name__)

_MARKER = ".complete"


@dataclasses.dataclass(frozen=True)
class Dataset:
    path: Path
    sha256: str
    uri: str
    cached: bool


def compression_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".tar.gz", ".tgz")):
        return "gz"
    if lower.endswith((".tar.zst", ".tzst")):
        return "zst"
    raise ConfigError(f"dataset {name!r}: unsupported archive; use .tar.gz, .tgz or .tar.zst")


def _cache_key(ref: ArtifactRef, etag: str) -> str:
    if ref.sha256:
        return ref.sha256
    return "uri-" + hashlib.sha256(f"{ref.uri}|{etag}|{ref.size}".encode()).hexdigest()


def fetch_dataset(
    ref: ArtifactRef, cache_dir: Path, progress: ProgressCallback | None = None
) -> Dataset:
    """The extracted dataset directory, from the cache or freshly streamed.

    A dataset scheduled with its sha256 is found in the cache without asking the store."""
    if ref.sha256 and (cache_dir / ref.sha256 / _MARKER).is_file():
        return _cached(ref, cache_dir / ref.sha256)
    store, key = open_object(ref.uri)
    info = store.head(key)
    if info is None:
        raise ConfigError(f"dataset {ref.uri}: no such object")
    entry = cache_dir / _cache_key(ref, info.etag)
    if (entry / _MARKER).is_file():
        return _cached(ref, entry)
    cache_dir.mkdir(parents=True, exist_ok=True)

    def stream_into_cache() -> str:
        staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".incoming-"))
        try:
            with store.open_read(key) as raw:
                digest = extract_stream(raw, compression_of(key), staging, progress)
            expected = ref.sha256 or info.sha256
            if expected is not None and digest != expected:
                raise IntegrityError(f"dataset {ref.uri}: sha256 {digest} != expected {expected}")
            (staging / _MARKER).write_text(digest + "\n")
            if entry.exists():  # another job on this host finished first
                shutil.rmtree(staging)
            else:
                staging.rename(entry)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return digest

    digest = fetch_verified(stream_into_cache)
    top = _single_child(entry)
    log.info("dataset %s extracted to %s", ref.uri, top)
    return Dataset(top, digest, ref.uri, cached=False)


def _cached(ref: ArtifactRef, entry: Path) -> Dataset:
    top = _single_child(entry)
    log.info("dataset %s found in cache %s", ref.uri, top)
    sha = (entry / _MARKER).read_text().strip()
    return Dataset(top, sha, ref.uri, cached=True)


def _single_child(entry: Path) -> Path:
    children = [p for p in entry.iterdir() if p.name != _MARKER]
    if len(children) != 1 or not children[0].is_dir():
        raise ConfigError(f"dataset cache {entry} is damaged; delete it and retry")
    return children[0]


def extract_stream(
    raw: BinaryIO, compression: str, target: Path, progress: ProgressCallback | None = None
) -> str:
    """Extract a compressed tar stream into ``target``; returns the sha256 of the raw bytes.

    The archive is never written to disk: bytes flow from the store through the hash,
    the decompressor and tarfile's stream mode.
    """
    hashing = HashingReader(raw, progress)
    decompressed: Any
    if compression == "zst":
        import zstandard

        decompressed = zstandard.ZstdDecompressor().stream_reader(
            cast(BinaryIO, hashing), read_size=1 << 20
        )
    else:
        decompressed = _GunzipReader(hashing)
    # read, hash and decompress on one thread; parse and write files on this one
    prefetch = _Prefetcher(decompressed, hashing)
    try:
        top = _extract_members(prefetch, target)
        if top is None:
            raise ConfigError("dataset archive is empty; it must hold one top-level directory")
        if not (target / top).is_dir():
            raise ConfigError(f"dataset archive's top-level entry {top!r} is not a directory")
        prefetch.drain()
    finally:
        prefetch.close()
    return hashing.digest.hexdigest()


def _extract_members(stream: Any, target: Path) -> str | None:
    """Extract every member, checking each before it is written; returns the top directory."""
    top: str | None = None
    try:
        with tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20) as archive:
            # default 16 KiB: many small reads and writes (attribute missing from typeshed)
            archive.copybufsize = 1 << 20  # type: ignore[attr-defined]
            for member in archive:
                top = _check_member(member, top)
                archive.extract(member, target, filter="data")
    except tarfile.FilterError as exc:
        raise UnsafeArchiveError(f"dataset archive refused: {exc}") from None
    except (tarfile.TarError, zlib.error, EOFError) as exc:
        raise ConfigError(f"dataset archive is damaged or not a tar archive: {exc}") from None
    except Exception as exc:
        if type(exc).__name__ == "ZstdError":
            raise ConfigError(f"dataset archive is not valid zstd: {exc}") from None
        raise
    return top


def _check_member(member: tarfile.TarInfo, top: str | None) -> str:
    name = member.name
    parts = Path(name).parts
    if name.startswith("/") or ".." in parts:
        raise UnsafeArchiveError(f"dataset archive refused: member {name!r} escapes the target")
    if member.issym() or member.islnk():
        link = member.linkname
        if link.startswith("/"):
            raise UnsafeArchiveError(
                f"dataset archive refused: link {name!r} -> {link!r} is absolute"
            )
        base = Path(name).parent if member.issym() else Path()
        depth = 0
        for part in (base / link).parts:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            if depth < 0:
                raise UnsafeArchiveError(
                    f"dataset archive refused: link {name!r} -> {link!r} points outside"
                )
    first = parts[0] if parts and parts[0] != "." else (parts[1] if len(parts) > 1 else "")
    if not first:
        return top or ""
    if top not in (None, "", first):
        raise ConfigError(
            f"dataset archive must hold exactly one top-level directory; found {top!r} and "
            f"{first!r}"
        )
    return first


class _Prefetcher:
    """Reads (and hashes) the raw stream on a background thread, ahead of the extractor.

    Reading, hashing and decompressing then overlap with parsing and writing files: hashlib
    and both decompressors release the GIL on large buffers.
    """

    _CHUNK = 1 << 20
    _DEPTH = 8

    def __init__(self, source: Any, raw: HashingReader) -> None:
        self._raw = raw
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(self._DEPTH)
        self._buffer = b""
        self._eof = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, args=(source,), daemon=True)
        self._thread.start()

    def _pump(self, source: Any) -> None:
        try:
            while not self._stop.is_set():
                chunk = source.read(self._CHUNK)
                self._queue.put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the reading thread
            self._queue.put(exc)

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._buffer) < size):
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                self._eof = True
            self._buffer += item
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Read to the end (tar padding, trailing bytes) so the hash covers every byte."""
        while self.read(self._CHUNK):
            pass
        self._raw.drain()

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.1)


class _GunzipReader:
    """Decompresses a gzip stream (one or more members) as it is read."""

    def __init__(self, raw: HashingReader) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def read(self, size: int = -1) -> bytes:
        while True:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                return self._inflate.flush()
            out = self._inflate.decompress(chunk)
            while self._inflate.eof and self._inflate.unused_data:
                rest = self._inflate.unused_data
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out += self._inflate.decompress(rest)
            if out:
                return out
