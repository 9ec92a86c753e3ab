"""Replaying results documents from the object store (a real local store and SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.resultsync import iter_result_keys, sync_results
from tests.resultsdb.documents import make_benchmarks, make_document
from worker.contract import RESULTS_FILE
from worker.errors import ConfigError
from worker.results import dump_document
from worker.resultsdb.base import ResultsFilter
from worker.resultsdb.sqlite import SqliteResultsStore
from worker.storage.local import LocalStore


@pytest.fixture
def objects(tmp_path: Path) -> LocalStore:
    store = LocalStore(str(tmp_path / "results"))
    for run_id, test_run_id, day in (
        ("run-a", "tr-1", "01"),
        ("run-a", "tr-2", "02"),
        ("run-b", "tr-3", "03"),
    ):
        doc = make_document(
            test_run_id,
            run_id=run_id,
            started_at=f"2026-04-{day}T10:00:00+00:00",
            benchmarks=make_benchmarks(3, 10),
        )
        store.put_bytes(f"{run_id}/{test_run_id}/{RESULTS_FILE}", dump_document(doc))
        store.put_bytes(f"{run_id}/{test_run_id}/worker.log", b"not a results document\n")
    return store


def test_finds_only_results_documents(objects: LocalStore) -> None:
    assert list(iter_result_keys(objects)) == [
        f"run-a/tr-1/{RESULTS_FILE}",
        f"run-a/tr-2/{RESULTS_FILE}",
        f"run-b/tr-3/{RESULTS_FILE}",
    ]
    assert list(iter_result_keys(objects, "run-b")) == [f"run-b/tr-3/{RESULTS_FILE}"]


def test_sync_everything_twice_is_idempotent(objects: LocalStore, tmp_path: Path) -> None:
    db = SqliteResultsStore(tmp_path / "r.sqlite")
    first = sync_results(objects, db)
    second = sync_results(objects, db)
    assert (first.found, first.written, first.already_there, first.failed) == (3, 3, 0, 0)
    assert (second.found, second.written, second.already_there) == (3, 0, 3)
    assert [r.test_run_id for r in db.runs(ResultsFilter())] == ["tr-3", "tr-2", "tr-1"]
    assert len(db.metrics(ResultsFilter())) == 9


def test_sync_one_run_or_since(objects: LocalStore, tmp_path: Path) -> None:
    db = SqliteResultsStore(tmp_path / "r.sqlite")
    counts = sync_results(objects, db, run_id="run-a")
    assert (counts.found, counts.written) == (2, 2)
    db2 = SqliteResultsStore(tmp_path / "r2.sqlite")
    counts = sync_results(objects, db2, since="2026-04-02")
    assert (counts.found, counts.written, counts.skipped) == (3, 2, 1)
    assert {r.test_run_id for r in db2.runs(ResultsFilter())} == {"tr-2", "tr-3"}
    with pytest.raises(ConfigError, match="not an ISO date"):
        sync_results(objects, db2, since="last tuesday")


def test_unreadable_documents_are_counted_and_the_rest_synced(
    objects: LocalStore, tmp_path: Path
) -> None:
    objects.put_bytes(f"run-c/tr-9/{RESULTS_FILE}", b"{not json")
    objects.put_bytes(f"run-c/tr-8/{RESULTS_FILE}", b'{"schema": "something-else"}')
    db = SqliteResultsStore(tmp_path / "r.sqlite")
    counts = sync_results(objects, db)
    assert (counts.found, counts.written, counts.failed) == (5, 3, 2)
    assert all("run-c" in p for p in counts.problems)
