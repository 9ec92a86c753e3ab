"""regressions and report end to end, on a history of 30 runs written by the real pipeline
(SQLite), and the same history in the real Neo4j."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from scheduler.regressions import Analysis, analyse_history
from tests.cli import REPO, run_invoke
from tests.history.browser import open_page, screenshot
from tests.history.pipeline_history import RUNS, SHIFT_AT, SLOW_BENCHMARK, History, write_history
from tests.history.servicemessages import parse
from tests.resultsdb.conftest import neo4j_credentials
from tests.services.neo4j import Neo4jServer
from worker.resultsdb import ResultsFilter
from worker.resultsdb.neo4j import Neo4jResultsStore
from worker.resultsdb.sqlite import SqliteResultsStore

ARTIFACTS = Path(os.environ.get("BENCH_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))
SLOW_SERIES = f"history/{SLOW_BENCHMARK}"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return write_history(tmp_path_factory.mktemp("history"))


def _slow_finding(findings: list[dict[str, object]]) -> dict[str, object]:
    (found,) = [f for f in findings if f["benchmark"] == SLOW_SERIES]
    return found


def _sqlite_analysis(history: History) -> Analysis:
    return analyse_history(
        csv=None, open_store=lambda: SqliteResultsStore(history.sqlite), flt=ResultsFilter()
    )


def test_regressions_names_the_last_good_and_first_bad_runs(history: History) -> None:
    done = run_invoke("regressions", "--workspace", str(history.workspace), "--json")
    assert done.returncode == 0, done.stderr
    assert "series analysed: 2/2" in done.stderr  # progress on stderr, JSON alone on stdout
    found = _slow_finding(json.loads(done.stdout))
    assert found["direction"] == "slower"
    last_good, first_bad = found["last_good"], found["first_bad"]
    assert isinstance(last_good, dict) and isinstance(first_bad, dict)
    assert last_good["test_run_id"] == history.test_run_ids[SHIFT_AT - 1]
    assert first_bad["test_run_id"] == history.test_run_ids[SHIFT_AT]
    shifted = history.documents[SHIFT_AT]["job"]
    assert (first_bad["commit"], first_bad["build"]) == (
        shifted["neo4j_commit"],
        shifted["teamcity_build"],
    )
    ratio, low, high = (float(str(found[k])) for k in ("ratio", "ratio_low", "ratio_high"))
    assert 1.4 < low <= ratio <= high  # sleep 0.03 -> 0.09 plus process start
    assert float(str(found["p_value"])) < 0.001
    assert found["runs_ago"] == RUNS - SHIFT_AT


def test_fail_on_regression_counts_only_the_newest_runs(history: History) -> None:
    ws = str(history.workspace)
    env = {**os.environ, "TEAMCITY_VERSION": "2025.07"}
    recent = run_invoke("regressions", "--workspace", ws, "--fail-on-regression",
                        "--newest", str(RUNS - SHIFT_AT), env=env)  # fmt: skip
    assert recent.returncode == 3, recent.stderr
    assert SLOW_SERIES in recent.stderr
    messages = parse("\n".join(x for x in recent.stdout.splitlines() if x.startswith("##")))
    (failed,) = [
        p
        for n, p in messages
        if n == "testFailed" and p["name"].startswith(f"regressions.{SLOW_SERIES} [")
    ]
    assert history.test_run_ids[SHIFT_AT] in failed["message"]
    older = run_invoke("regressions", "--workspace", ws, "--fail-on-regression",
                       "--newest", str(RUNS - SHIFT_AT - 1))  # fmt: skip
    assert older.returncode == 0, older.stderr


def test_regressions_reads_a_csv_export(history: History, tmp_path: Path) -> None:
    export = tmp_path / "history.csv"
    with SqliteResultsStore(history.sqlite) as store:
        rows = store.metrics(ResultsFilter(benchmark=SLOW_BENCHMARK))
        commits = {p.test_run_id: p.commit for p in store.provenance(history.test_run_ids).values()}
    with export.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "benchmark", "value", "commit"])
        for row in rows:
            for value in row.samples:
                writer.writerow([row.started_at, row.benchmark, value, commits[row.test_run_id]])
    done = run_invoke("regressions", "--input", str(export), "--json")
    assert done.returncode == 0, done.stderr
    (found,) = json.loads(done.stdout)
    shifted = history.documents[SHIFT_AT]
    assert found["benchmark"] == SLOW_BENCHMARK
    assert found["first_bad"]["time"] == shifted["run"]["started_at"]
    assert found["first_bad"]["commit"] == shifted["job"]["neo4j_commit"]


def test_neo4j_history_gives_the_same_findings(history: History, neo4j: Neo4jServer) -> None:
    with Neo4jResultsStore(neo4j_credentials(neo4j)) as store:
        for document in history.documents:
            store.write_document(document)
    from_neo4j = analyse_history(
        csv=None,
        open_store=lambda: Neo4jResultsStore(neo4j_credentials(neo4j)),
        flt=ResultsFilter(),
    )
    from_sqlite = _sqlite_analysis(history)
    assert [s.name for s in from_neo4j.series] == [s.name for s in from_sqlite.series]
    assert [len(s.points) for s in from_neo4j.series] == [RUNS, RUNS]
    assert from_neo4j.findings == from_sqlite.findings


def test_report_opens_in_a_real_browser(history: History, tmp_path: Path) -> None:
    out = tmp_path / "report"
    env = {**os.environ, "TEAMCITY_VERSION": "2025.07"}
    done = run_invoke("report", "--workspace", str(history.workspace), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    page = out / "index.html"
    assert done.stdout.splitlines()[0] == str(page)
    assert "##teamcity[publishArtifacts" in done.stdout and str(out) in done.stdout
    assert "series drawn: 2/2" in done.stderr
    html = page.read_text()
    assert html.count("<script") == 1 + 2  # plotly.js inline, then one script per figure
    page_itself = html.split("</script>", 1)[1]  # what follows the embedded plotly.js
    for reference in ("<script src=", "<link", 'src="http', 'href="http'):
        assert reference not in html.split("<script>", 1)[0] and reference not in page_itself
    view = open_page(page)
    assert view.console == []  # no errors, no warnings
    assert view.dom.count('class="main-svg"') >= 2 * 2  # Plotly drew both figures
    assert view.dom.count('class="series"') == 2
    assert 'class="slower">slower<' in view.dom  # the regression in the change-point table
    assert history.test_run_ids[SHIFT_AT] in view.dom
    shot = screenshot(page, ARTIFACTS / "report.png")
    assert shot.stat().st_size > 20_000
