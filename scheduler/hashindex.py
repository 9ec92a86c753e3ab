"""A local index of file hashes, so re-scheduling unchanged artifacts reads none of them.

Like git's index: an entry holds a file's sha256 with the size, mtime, inode and device it had
when hashed; a file whose stat still matches is not read again. An entry whose mtime is not
clearly older than the moment it was hashed is "racy" (the file could have changed within the
same clock tick) and is hashed again. The index lives in ``BENCH_HASH_INDEX`` or the user's
cache directory; losing it only costs a re-hash.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
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

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def sha256(self, path: Path) -> str:
        """The file's sha256: from the index when its stat is unchanged, else read once."""
        key = str(path.resolve())
        st = path.stat()
        with self._lock:
            entry = self._entries.get(key)
        if (
            isinstance(entry, dict)
            and entry.get("stat") == _stamp(st)
            and st.st_mtime_ns + RACY_NS < int(entry.get("hashed_at_ns", 0))
        ):
            return str(entry["sha256"])
        hashed_at = time.time_ns()
        digest = sha256_file(path)
        with self._lock:
            self.hashed += 1
            if _stamp(path.stat()) == _stamp(st):  # else it changed while read: do not keep
                entry = {"stat": _stamp(st), "sha256": digest, "hashed_at_ns": hashed_at}
                self._entries[key] = entry
                self._dirty = True
        return digest

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
