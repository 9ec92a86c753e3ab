"""Fetching what a job needs: its parameters and every artifact, checksums verified."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from worker.errors import ConfigError, IntegrityError, NotFoundError
from worker.params import ArtifactRef, JobParameters, parameters_from_json
from worker.storage import open_object

log = logging.getLogger(__name__)

T = TypeVar("T")


def fetch_parameters(uri: str, index: int | None = None) -> JobParameters:
    """The job's parameters (``index``: its entry in an array job's group)."""
    store, key = open_object(uri)
    try:
        raw = store.get_bytes(key)
    except NotFoundError:
        raise ConfigError(f"job parameters: nothing at {uri}; was the run scheduled?") from None
    return parameters_from_json(raw, source=uri, index=index)


def fetch_verified(download: Callable[[], T]) -> T:
    """``download()``, once more when its checksum did not match (a garbled transfer); a
    second mismatch means the stored object is wrong: :class:`IntegrityError`, not retried."""
    try:
        return download()
    except IntegrityError as exc:
        log.warning("%s; downloading it once more", exc)
    try:
        return download()
    except IntegrityError as exc:
        raise IntegrityError(
            f"{exc} (twice): the stored object is wrong; upload it again (invoke schedule "
            "re-uploads changed artifacts) instead of retrying the job"
        ) from None


def fetch_artifacts(artifacts: Mapping[str, ArtifactRef], dest: Path) -> dict[str, Path]:
    """Download every artifact into ``dest/<name>/<file>``; raises IntegrityError on mismatch."""
    paths = {}
    for name, ref in sorted(artifacts.items()):
        store, key = open_object(ref.uri)
        target = dest / name / key.rpartition("/")[2]
        try:
            fetch_verified(
                functools.partial(store.get_file, key, target, expected_sha256=ref.sha256)
            )
        except NotFoundError:
            raise ConfigError(f"artifacts.{name}: nothing at {ref.uri}") from None
        log.info("fetched artifact %s (%d bytes, sha256 %s)", name, ref.size, ref.sha256)
        paths[name] = target
    return paths
