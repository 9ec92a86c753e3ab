"""Fetching what a job needs: its parameters and every artifact, checksums verified."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from worker.errors import ConfigError, NotFoundError
from worker.params import ArtifactRef, JobParameters, parameters_from_json
from worker.storage import open_object

log = logging.getLogger(__name__)


def fetch_parameters(uri: str) -> JobParameters:
    store, key = open_object(uri)
    try:
        raw = store.get_bytes(key)
    except NotFoundError:
        raise ConfigError(f"job parameters: nothing at {uri}; was the run scheduled?") from None
    return parameters_from_json(raw, source=uri)


def fetch_artifacts(artifacts: Mapping[str, ArtifactRef], dest: Path) -> dict[str, Path]:
    """Download every artifact into ``dest/<name>/<file>``; raises IntegrityError on mismatch."""
    paths = {}
    for name, ref in sorted(artifacts.items()):
        store, key = open_object(ref.uri)
        target = dest / name / key.rpartition("/")[2]
        try:
            store.get_file(key, target, expected_sha256=ref.sha256)
        except NotFoundError:
            raise ConfigError(f"artifacts.{name}: nothing at {ref.uri}") from None
        log.info("fetched artifact %s (%d bytes, sha256 %s)", name, ref.size, ref.sha256)
        paths[name] = target
    return paths
