"""The results-store tasks, called as invoke calls them (embedded store, local object store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke import Context, Exit

from scheduler.tasks import runs as tasks
from tests.resultsdb.documents import make_benchmarks, make_document
from worker.results import dump_document
from worker.storage.local import LocalStore


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    objects = LocalStore(str(tmp_path / "results"))
    for i, scale in enumerate((1.0, 1.1)):
        doc = make_document(
            f"tr-{i}",
            run_id="run-1",
            started_at=f"2026-05-0{i + 1}T10:00:00+00:00",
            benchmarks=make_benchmarks(3, 100, seed=i, scale=scale),
        )
        objects.put_bytes(f"run-1/tr-{i}/results.json", dump_document(doc))
    return tmp_path / "results"


def test_sync_then_compare(
    results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "ws")
    tasks.results_sync(Context(), results_uri=str(results_dir), workspace=ws, json=True)
    counts = json.loads(capsys.readouterr().out)
    assert (counts["found"], counts["written"], counts["failed"]) == (2, 2, 0)
    tasks.results_sync(Context(), results_uri=str(results_dir), workspace=ws)
    assert capsys.readouterr().out.startswith("0 written, 2 already there, 0 skipped")

    tasks.compare(Context(), "tr-0", "tr-1", workspace=ws, json=True)
    rows = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in rows] == ["slower"] * 3
    with pytest.raises(Exit) as caught:
        tasks.compare(Context(), "tr-0", "tr-1", workspace=ws, fail_on_slower=True)
    assert caught.value.code == 3
    with pytest.raises(Exit) as caught:
        tasks.compare(Context(), "tr-0", "nope", workspace=ws)
    assert caught.value.code == 2 and "nope" in str(caught.value.message)


def test_sync_needs_a_results_uri(tmp_path: Path) -> None:
    with pytest.raises(Exit) as caught:
        tasks.results_sync(Context(), workspace=str(tmp_path))
    assert caught.value.code == 2
