"""Uploading recordings and logs in the original's layout.

Recordings of successful benchmarks go to ``<recordings-base>/<test-run-id>/<benchmark>/...``
plus one archive ``<recordings-base>/<test-run-id>.tar.gz``. The work dir and logs go under
the test run's results prefix.
"""

from __future__ import annotations

import logging
import re
import tarfile
from collections.abc import Mapping
from pathlib import Path

from worker.storage import Store

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.=,\-\[\]]+")


def safe_key(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "_"


def files_under(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.is_file())


def upload_tree(store: Store, directory: Path, prefix: str) -> list[str]:
    """Upload every file under ``directory`` to ``prefix``; returns the URIs."""
    uris = []
    for path in files_under(directory):
        rel = path.relative_to(directory).as_posix()
        uris.append(store.put_file(path, f"{prefix}/{rel}").uri)
    return uris


def upload_recordings(
    store: Store, test_run_id: str, recordings: Mapping[str, Path], staging: Path
) -> tuple[dict[str, list[str]], str | None]:
    """Upload each benchmark's recordings and the archive of them all.

    Returns benchmark key -> recording URIs, and the archive URI (None when nothing recorded).
    """
    uploaded: dict[str, list[str]] = {}
    archive = staging / f"{test_run_id}.tar.gz"
    members = 0
    with tarfile.open(archive, "w:gz") as tar:
        for key, directory in sorted(recordings.items()):
            files = files_under(directory)
            if not files:
                continue
            prefix = f"{test_run_id}/{safe_key(key)}"
            uploaded[key] = upload_tree(store, directory, prefix)
            tar.add(directory, arcname=prefix)
            members += len(files)
    if members == 0:
        archive.unlink()
        return uploaded, None
    uri = store.put_file(archive, f"{test_run_id}.tar.gz").uri
    log.info("uploaded %d recordings of %d benchmarks; archive %s", members, len(uploaded), uri)
    return uploaded, uri
