"""Replays results documents from the object store into the results store.

Every worker writes ``results.json`` to the object store before it writes to the results
store, so the object store is the record of truth. ``sync_results`` finds the documents under
a results prefix (``<base>/results/<run_id>/<test_run_id>/results.json``) and writes each one
whose test run the results store does not hold yet; a test run is written in one
transaction, so one that is there is complete, and it is counted as already there (writing
is idempotent anyway, so a race with a worker changes nothing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator

from worker.contract import RESULTS_FILE
from worker.errors import ConfigError
from worker.results import load_document
from worker.resultsdb.base import ResultsFilter, ResultsStore
from worker.storage.base import Store

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SyncCounts:
    """What one sync did."""

    #: Documents found under the prefix.
    found: int = 0
    #: Documents written to the results store.
    written: int = 0
    #: Documents whose test run the results store already held (not written again).
    already_there: int = 0
    #: Documents left out by ``since``.
    skipped: int = 0
    #: Documents that could not be read (each named in ``problems``).
    failed: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


def iter_result_keys(store: Store, run_id: str | None = None) -> Iterator[str]:
    """Keys of ``results.json`` documents under the store (one run's, with ``run_id``)."""
    prefix = f"{run_id.strip('/')}/" if run_id else ""
    for key in store.iter_keys(prefix):
        if key == RESULTS_FILE or key.endswith("/" + RESULTS_FILE):
            yield key


def check_since(since: str) -> str:
    """``since`` must be an ISO date or timestamp (compared as text with ``started_at``)."""
    try:
        dt.datetime.fromisoformat(since)
    except ValueError:
        raise ConfigError(
            f"since {since!r} is not an ISO date or timestamp, e.g. 2026-01-31 or "
            "2026-01-31T12:00:00+00:00"
        ) from None
    return since


def sync_results(
    store: Store,
    results_store: ResultsStore,
    *,
    run_id: str | None = None,
    since: str | None = None,
) -> SyncCounts:
    """Write every results document under ``store`` (a results prefix) to ``results_store``.

    ``run_id`` limits the sync to one scheduling run; ``since`` to test runs started at or
    after it. Unreadable documents are counted and named, and the sync goes on; a results
    store that fails (``TransientError``, ``ConfigError``) stops it: run it again later, it
    only rewrites what is already there.
    """
    if since is not None:
        check_since(since)
    counts = SyncCounts()
    for key in iter_result_keys(store, run_id):
        counts.found += 1
        uri = store.uri(key)
        try:
            document = load_document(store.get_bytes(key), source=uri)
        except ConfigError as exc:
            counts.failed += 1
            counts.problems.append(str(exc))
            log.warning("skipping %s: %s", uri, exc)
            continue
        run = document.get("run")
        if not isinstance(run, dict) or not run.get("test_run_id"):
            counts.failed += 1
            counts.problems.append(f"{uri}: no run.test_run_id")
            log.warning("skipping %s: no run.test_run_id", uri)
            continue
        started_at = str(run.get("started_at", ""))
        if since is not None and started_at < since:
            counts.skipped += 1
            continue
        if results_store.runs(ResultsFilter(test_run_id=str(run["test_run_id"]), limit=1)):
            counts.already_there += 1
            log.info("already in the results store: %s", uri)
            continue
        results_store.write_document(document)
        counts.written += 1
        log.info("synced %s", uri)
    log.info(
        "results sync of %s: %d found, %d written, %d already there, %d skipped, %d unreadable",
        store.base_uri,
        counts.found,
        counts.written,
        counts.already_there,
        counts.skipped,
        counts.failed,
    )
    return counts


def results_base(results_uri: str | None, storage: str | None) -> str:
    """Where the results documents are: the given prefix, else ``<storage>/results``."""
    from worker.storage import join_uri

    if results_uri:
        return results_uri
    if storage:
        return join_uri(storage, "results")
    raise ConfigError(
        "results-sync: give --results-uri (or set bench.results_uri or bench.storage)"
    )
