"""A local index of file hashes, so re-scheduling unchanged artifacts reads none of them.

Like git's index: an entry holds a file's sha256 with the size, mtime, inode and device it had
when hashed; a file whose stat still matches is not read again. An entry whose mtime is not
clearly older than the moment it was hashed is "racy" (the file could have changed within the
same clock tick) and is hashed again. The index lives in ``BENCH_HASH_INDEX`` or the user's
cache directory; losing it only costs a re-hash.

Files can be hashed ahead (:meth:`HashIndex.hash_ahead`): ``schedule`` starts hashing the
artifacts in a background thread as soon as the job is validated, so the sha256 passes (which
name the objects and so must precede any byte sent) run on the second core while the main
thread is still importing boto3 and checking Batch, instead of delaying the first upload.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from worker.storage.base import sha256_file

log = logging.getLogger(__name__)

HASH_INDEX_ENV = "BENCH_HASH_INDEX"
#: A file modified less than this before it was hashed may have changed in the same tick.
RACY_NS = 100_000_000
_VERSION = 1


def default_index_path() -> Path:
    explicit = os.environ.get(HASH_INDEX_ENV)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "benchmark-infra" / "sha256-index.json"


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


class HashIndex:
    """sha256 of local files by path, trusted only while size, mtime, inode and device match."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_index_path()
        self._entries: dict[str, Any] = self._load()
        self._dirty = False
        self._lock = threading.Lock()
        #: Files actually read to compute a hash (the rest came from the index).
        self.hashed = 0
        #: Hashes started by :meth:`hash_ahead`: (sha256, stat when read) by resolved path.
        self._ahead: dict[str, Future[tuple[str, list[int]]]] = {}

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def hash_ahead(self, paths: Iterable[Path]) -> None:
        """Start hashing ``paths`` (in this order) in one background thread; :meth:`sha256`
        then waits for each instead of reading it again. One thread is enough: sha256 runs at
        over 1 GB/s, several times what an upload sends. A daemon thread, so a run that fails
        meanwhile exits without waiting for it."""
        todo: list[tuple[Path, Future[tuple[str, list[int]]]]] = []
        with self._lock:
            for path in paths:
                key = str(path.resolve())
                if key not in self._ahead:
                    future: Future[tuple[str, list[int]]] = Future()
                    self._ahead[key] = future
                    todo.append((path, future))
        if todo:
            threading.Thread(
                target=self._hash_all, args=(todo,), name="hash-ahead", daemon=True
            ).start()

    def _hash_all(self, todo: list[tuple[Path, Future[tuple[str, list[int]]]]]) -> None:
        for path, future in todo:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._lookup_or_hash(path))
            except BaseException as exc:  # handed to whoever waits for this file
                future.set_exception(exc)

    def sha256(self, path: Path) -> str:
        """The file's sha256: from the index when its stat is unchanged, else read once."""
        with self._lock:
            ahead = self._ahead.pop(str(path.resolve()), None)
        if ahead is not None:
            try:
                digest, stamp = ahead.result()
            except OSError:
                pass  # read it here, where the error is reported
            else:
                if _stamp(path.stat()) == stamp:  # else it changed since: read it again
                    return digest
        return self._lookup_or_hash(path)[0]

    def _lookup_or_hash(self, path: Path) -> tuple[str, list[int]]:
        """(sha256, the stat it belongs to), from the index or from one read of the file."""
        key = str(path.resolve())
        st = path.stat()
        with self._lock:
            entry = self._entries.get(key)
        if (
            isinstance(entry, dict)
            and entry.get("stat") == _stamp(st)
            and st.st_mtime_ns + RACY_NS < int(entry.get("hashed_at_ns", 0))
        ):
            return str(entry["sha256"]), _stamp(st)
        hashed_at = time.time_ns()
        digest = sha256_file(path)
        with self._lock:
            self.hashed += 1
            if _stamp(path.stat()) == _stamp(st):  # else it changed while read: do not keep
                entry = {"stat": _stamp(st), "sha256": digest, "hashed_at_ns": hashed_at}
                self._entries[key] = entry
                self._dirty = True
        return digest, _stamp(st)

    def save(self) -> None:
        """Write the index atomically; a failure only costs re-hashing next time."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".sha256-index.")
            # files that are gone (old build directories) leave the index
            entries = {k: v for k, v in self._entries.items() if os.path.exists(k)}
            with os.fdopen(fd, "w") as out:
                json.dump({"version": _VERSION, "entries": entries}, out)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError as exc:
            log.warning("could not save the hash index %s: %s", self.path, exc)


_SHARED: dict[Path, HashIndex] = {}
_SHARED_LOCK = threading.Lock()


def shared_index() -> HashIndex:
    """The process's index at :func:`default_index_path`: what ``schedule`` hashed ahead is
    found by the run's upload, which is prepared further down the call chain."""
    path = default_index_path()
    with _SHARED_LOCK:
        if path not in _SHARED:
            _SHARED[path] = HashIndex(path)
        return _SHARED[path]
