"""Artifacts are uploaded once per content hash and reused by every job and every run.

Layout: ``<base>/artifacts/sha256/<hex>/<file name>``. A HEAD before each PUT means that
re-running with unchanged artifacts uploads zero bytes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

from worker.errors import ConfigError
from worker.params import ArtifactRef
from worker.storage import ProgressCallback, Store, open_object
from worker.storage.base import sha256_file

log = logging.getLogger(__name__)

ARTIFACTS_PREFIX = "artifacts/sha256"


@dataclasses.dataclass
class UploadStats:
    uploaded: int = 0
    reused: int = 0
    bytes_sent: int = 0


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
    store: Store, path: Path, stats: UploadStats, progress: ProgressCallback | None = None
) -> ArtifactRef:
    """Upload ``path`` under its content hash unless it is already there."""
    digest = sha256_file(path)
    key = f"{ARTIFACTS_PREFIX}/{digest}/{path.name}"
    existing = store.head(key)
    if existing is not None and existing.size == path.stat().st_size:
        stats.reused += 1
        log.info("artifact %s already stored as %s", path.name, existing.uri)
        return ArtifactRef(existing.uri, digest, existing.size)
    info = store.put_file(path, key, sha256=digest, progress=progress)
    stats.uploaded += 1
    stats.bytes_sent += info.size
    log.info("uploaded %s (%d bytes) to %s", path.name, info.size, info.uri)
    return ArtifactRef(info.uri, digest, info.size)


def reference_remote(uri: str) -> ArtifactRef:
    """An artifact already in a store (e.g. a dataset in S3): look up its size and hash."""
    store, key = open_object(uri)
    info = store.head(key)
    if info is None:
        raise ConfigError(f"{uri}: no such object")
    return ArtifactRef(uri, info.sha256, info.size)


def upload_all(
    store: Store,
    artifacts: Mapping[str, str],
    base_dir: Path,
    stats: UploadStats,
    progress: ProgressCallback | None = None,
) -> dict[str, ArtifactRef]:
    """Upload (or reference) every artifact; validates all first so a bad one uploads nothing."""
    problems = check_artifacts(artifacts, base_dir)
    if problems:
        raise ConfigError(problems)
    refs: dict[str, ArtifactRef] = {}
    for name, value in sorted(artifacts.items()):
        path = resolve_local(value, base_dir)
        refs[name] = (
            reference_remote(value)
            if path is None
            else upload_artifact(store, path, stats, progress)
        )
    return refs
