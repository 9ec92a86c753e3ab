"""Artifacts are uploaded once per content hash and reused by every job and every run.

Layout: ``<base>/artifacts/sha256/<hex>/<file name>``. The hash comes first (it names the
object), then one HEAD: content already stored (the usual case for an unchanged jar) sends zero
bytes. Within a run every distinct file is hashed, checked and uploaded once, and a local hash
index (:mod:`scheduler.hashindex`) spares re-reading files that did not change since.

Why the hash is not computed while sending: the key must be known before the first byte, and
content already stored must send nothing. Sending to a provisional key while hashing, then a
server-side copy to the content key, would send every already-stored file whose index entry is
missing or stale (a fresh CI checkout, a rebuilt but identical jar) and make the server copy
every new one a second time (on a server-bound upload, 2x the server's work). Instead the
hashes are started ahead (:func:`hash_ahead`), overlapping the command's start-up.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scheduler.hashindex import HashIndex, shared_index
from worker.errors import ConfigError
from worker.job import Job
from worker.params import ArtifactRef
from worker.storage import ProgressCallback, Store, open_object
from worker.storage.base import sha256_file

log = logging.getLogger(__name__)

ARTIFACTS_PREFIX = "artifacts/sha256"
#: Distinct files hashed and uploaded at once: one hashes while another is on the wire.
FILE_CONCURRENCY = 2


@dataclasses.dataclass
class UploadStats:
    uploaded: int = 0
    reused: int = 0
    bytes_sent: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # not a field: asdict() and == see only the counts

    def add(self, *, uploaded: int = 0, reused: int = 0, bytes_sent: int = 0) -> None:
        """Count from any upload thread."""
        with self._lock:
            self.uploaded += uploaded
            self.reused += reused
            self.bytes_sent += bytes_sent


def resolve_local(value: str, base_dir: Path) -> Path | None:
    """The local file an artifact value names, or None when it is a remote URI."""
    if value.startswith("s3://"):
        return None
    raw = value[len("file://") :] if value.startswith("file://") else value
    path = Path(raw)
    return path if path.is_absolute() else (base_dir / path)


def check_artifacts(artifacts: Mapping[str, str], base_dir: Path) -> list[str]:
    """Problems with the named artifacts (missing files), before anything is uploaded."""
    problems = []
    for name, value in sorted(artifacts.items()):
        path = resolve_local(value, base_dir)
        if path is not None and not path.is_file():
            problems.append(
                f"artifacts.{name}: {path} does not exist or is not a file; {how_to_build(path)}"
            )
    return problems


#: Artifacts this repository builds itself, and the command that builds them.
BUILT_HERE = {"build/java": "scripts/build-java.sh builds it (Java 17 and Maven)"}


def how_to_build(path: Path) -> str:
    """What to run to get a missing artifact (a relative path is read from the job file's
    directory)."""
    text = path.resolve().as_posix()
    for where, command in BUILT_HERE.items():
        if f"/{where}/" in text:
            return command
    return "build it first, or fix the path (relative to the job file's directory)"


def upload_artifact(
    store: Store,
    path: Path,
    stats: UploadStats,
    progress: ProgressCallback | None = None,
    index: HashIndex | None = None,
) -> ArtifactRef:
    """Upload ``path`` under its content hash unless it is already there."""
    digest = index.sha256(path) if index is not None else sha256_file(path)
    key = f"{ARTIFACTS_PREFIX}/{digest}/{path.name}"
    existing = store.head(key)
    if existing is not None and existing.size == path.stat().st_size:
        stats.add(reused=1)
        log.info("artifact %s already stored as %s", path.name, existing.uri)
        return ArtifactRef(existing.uri, digest, existing.size)
    info = store.put_file(path, key, sha256=digest, progress=progress)
    stats.add(uploaded=1, bytes_sent=info.size)
    log.info("uploaded %s (%d bytes) to %s", path.name, info.size, info.uri)
    return ArtifactRef(info.uri, digest, info.size)


def hash_ahead(jobs: Sequence[Job], base_dir: Path, index: HashIndex | None = None) -> None:
    """Start hashing the jobs' distinct local artifacts in the background (see
    :meth:`HashIndex.hash_ahead`), in the order the upload will want them."""
    from scheduler.jobcheck import local_inputs  # jobcheck imports this module

    paths: dict[Path, Path] = {}
    for job in jobs:
        for value in local_inputs(job).values():
            path = resolve_local(value, base_dir)
            if path is not None and path.is_file():
                paths.setdefault(path.resolve(), path)
    (index or shared_index()).hash_ahead(paths.values())


def reference_remote(uri: str) -> ArtifactRef:
    """An artifact already in a store (e.g. a dataset in S3): look up its size and hash."""
    store, key = open_object(uri)
    info = store.head(key)
    if info is None:
        raise ConfigError(f"{uri}: no such object")
    return ArtifactRef(uri, info.sha256, info.size)


class RunArtifacts:
    """A run's artifacts: each distinct file is hashed, checked (HEAD) and uploaded at most
    once per run, however many jobs share it; distinct files go up concurrently."""

    def __init__(
        self,
        store: Store,
        base_dir: Path,
        *,
        progress: ProgressCallback | None = None,
        index: HashIndex | None = None,
        stats: UploadStats | None = None,
        concurrency: int = FILE_CONCURRENCY,
    ) -> None:
        self.store = store
        self.base_dir = base_dir
        self.progress = progress
        self.index = index if index is not None else shared_index()
        self.stats = stats if stats is not None else UploadStats()
        self.concurrency = concurrency
        self._refs: dict[str, ArtifactRef] = {}

    def _identity(self, value: str) -> tuple[str, Path | None]:
        path = resolve_local(value, self.base_dir)
        return (value, None) if path is None else (str(path.resolve()), path)

    def upload(self, artifact_sets: Sequence[Mapping[str, str]]) -> list[dict[str, ArtifactRef]]:
        """References for every set (one per job); validates all first, uploads each file once."""
        problems = sorted({p for a in artifact_sets for p in check_artifacts(a, self.base_dir)})
        if problems:
            raise ConfigError(problems)
        pending: dict[str, Path | None] = {}
        for artifacts in artifact_sets:
            for value in artifacts.values():
                ident, path = self._identity(value)
                if ident not in self._refs:
                    pending[ident] = path
        self._resolve(pending)
        return [
            {name: self._refs[self._identity(value)[0]] for name, value in sorted(a.items())}
            for a in artifact_sets
        ]

    def _resolve(self, pending: Mapping[str, Path | None]) -> None:
        def one(ident: str, path: Path | None) -> tuple[str, ArtifactRef]:
            if path is None:
                return ident, reference_remote(ident)
            return ident, upload_artifact(self.store, path, self.stats, self.progress, self.index)

        try:
            if len(pending) <= 1 or self.concurrency <= 1:
                results = [one(i, p) for i, p in pending.items()]
            else:
                with ThreadPoolExecutor(self.concurrency, "artifact-upload") as pool:
                    results = list(pool.map(lambda item: one(*item), pending.items()))
        finally:
            self.index.save()
        self._refs.update(results)


def upload_all(
    store: Store,
    artifacts: Mapping[str, str],
    base_dir: Path,
    stats: UploadStats,
    progress: ProgressCallback | None = None,
) -> dict[str, ArtifactRef]:
    """Upload (or reference) every artifact; validates all first so a bad one uploads nothing."""
    run = RunArtifacts(store, base_dir, progress=progress, stats=stats)
    return run.upload([artifacts])[0]
