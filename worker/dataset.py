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
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

from worker.errors import ConfigError, IntegrityError, NotFoundError
from worker.fetch import fetch_verified
from worker.params import ArtifactRef
from worker.storage import ProgressCallback, open_object
from worker.storage.base import HashingReader
from worker.untar import ChunkReader, Extractor, queue_source

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

    A dataset scheduled with its sha256 is found in the cache without asking the store, and
    fetched with one request (the GET says whether it exists; no HEAD first)."""
    if ref.sha256 and (cache_dir / ref.sha256 / _MARKER).is_file():
        return _cached(ref, cache_dir / ref.sha256)
    compression = compression_of(ref.uri)
    store, key = open_object(ref.uri)
    expected = ref.sha256
    if ref.sha256:
        entry = cache_dir / ref.sha256
    else:
        info = store.head(key)
        if info is None:
            raise ConfigError(f"dataset {ref.uri}: no such object")
        expected = info.sha256
        entry = cache_dir / _cache_key(ref, info.etag)
        if (entry / _MARKER).is_file():
            return _cached(ref, entry)
    cache_dir.mkdir(parents=True, exist_ok=True)

    def stream_into_cache() -> str:
        try:
            raw = store.open_read(key)
        except NotFoundError as exc:
            raise ConfigError(f"dataset {ref.uri}: {exc}") from None
        staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".incoming-"))
        try:
            with raw:
                digest = extract_stream(raw, compression, staging, progress)
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

    The archive is never written to disk. Three stages overlap on their own threads: the
    download (read and hashed as it arrives), the decompression, and the extraction (this
    thread: headers parsed, files written straight from the decompressed chunks). Hashing,
    decompressing and writing release the GIL on large buffers.
    """
    stages = _Stages(raw, compression, progress)
    try:
        top = Extractor(target).extract_all(ChunkReader(stages.next_chunk))
        if top is None:
            raise ConfigError("dataset archive is empty; it must hold one top-level directory")
        if not (target / top).is_dir():
            raise ConfigError(f"dataset archive's top-level entry {top!r} is not a directory")
        return stages.finish()
    finally:
        stages.close()


#: Raw bytes per read from the store, and the most decompressed bytes in one chunk (a chunk
#: of zeros inflates a thousandfold: the decompressors are asked for bounded output).
_RAW_CHUNK = 1 << 20
_OUT_CHUNK = 4 << 20


class _Stages:
    """The download and decompression threads feeding the extractor through bounded queues.

    Any exception on a stage thread travels down the queues and is raised in the extractor's
    thread; :meth:`close` stops both threads whatever happened."""

    def __init__(self, raw: BinaryIO, compression: str, progress: ProgressCallback | None):
        self._hashing = HashingReader(raw, progress)
        self._compression = compression
        self._raw: queue.Queue[bytes | BaseException] = queue.Queue(16)
        self._out: queue.Queue[bytes | BaseException] = queue.Queue(8)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._download, name="dataset-download", daemon=True),
            threading.Thread(target=self._inflate, name="dataset-inflate", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.next_chunk = queue_source(self._out)

    def _put(self, into: queue.Queue[bytes | BaseException], item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                into.put(item, timeout=0.1)
                return

    def _download(self) -> None:
        try:
            while not self._stop.is_set():
                chunk = self._hashing.read(_RAW_CHUNK)
                self._put(self._raw, chunk)
                if not chunk:
                    return
        except BaseException as exc:  # raised in the extractor's thread
            self._put(self._raw, exc)

    def _next_raw(self) -> bytes:
        """The next raw chunk for the decompression thread, which must not wait for good
        on a download thread that was stopped."""
        while True:
            if self._stop.is_set():
                raise _StoppedError
            with contextlib.suppress(queue.Empty):
                item = self._raw.get(timeout=0.1)
                if isinstance(item, BaseException):
                    raise item
                return item

    def _inflate(self) -> None:
        raw = _QueueReader(self._next_raw)
        try:
            inflated = _unzstd(raw) if self._compression == "zst" else _gunzip(raw)
            for chunk in inflated:
                self._put(self._out, chunk)
                if self._stop.is_set():
                    return
            raw.drain()  # bytes after the compressed data: hashed all the same
            self._put(self._out, b"")
        except _StoppedError:
            return
        except BaseException as exc:
            self._put(self._out, exc)

    def finish(self) -> str:
        """Reads the rest of the stream (tar padding, trailing bytes) so the hash covers every
        byte; the sha256 of the whole object."""
        ChunkReader(self.next_chunk).drain()
        for thread in self._threads:
            thread.join()
        return self._hashing.digest.hexdigest()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            while thread.is_alive():
                for q in (self._raw, self._out):
                    with contextlib.suppress(queue.Empty):
                        q.get_nowait()
                thread.join(0.05)


class _StoppedError(Exception):
    """The extractor gave up (an error of its own): the stage threads end quietly."""


class _QueueReader:
    """``read(n)`` over the raw chunks, for the zstd stream reader; ``b""`` at the end."""

    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self.next_chunk = next_chunk
        self._buffer = memoryview(b"")
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        if not self._buffer:
            if self._eof:
                return b""
            chunk = self.next_chunk()
            self._eof = not chunk
            if size < 0 or len(chunk) <= size:
                return chunk  # the usual case: the whole chunk, not a copy
            self._buffer = memoryview(chunk)
        take = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        out, self._buffer = self._buffer[:take], self._buffer[take:]
        return out.tobytes()

    def chunks(self) -> Iterator[bytes]:
        while data := self.read():
            yield data

    def drain(self) -> None:
        for _ in self.chunks():
            pass


def _unzstd(raw: _QueueReader) -> Iterator[bytes]:
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(
        cast(BinaryIO, raw), read_size=_RAW_CHUNK, read_across_frames=True
    )
    try:
        while chunk := reader.read(_OUT_CHUNK):
            yield chunk
    except zstandard.ZstdError as exc:
        raise ConfigError(f"dataset archive is not valid zstd: {exc}") from None


def _gunzip(raw: _QueueReader) -> Iterator[bytes]:
    """Decompresses gzip (one or more members), never more than ``_OUT_CHUNK`` at a time."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        for chunk in raw.chunks():
            data = chunk
            while data:
                if inflate.eof:  # the next gzip member
                    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out = inflate.decompress(data, _OUT_CHUNK)
                data = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
                if out:
                    yield out
        if tail := inflate.flush():
            yield tail
    except zlib.error as exc:
        raise ConfigError(f"dataset archive is damaged or not a tar archive: {exc}") from None
