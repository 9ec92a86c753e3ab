"""End to end through the local path with a real JVM and real JMH (the quickstart's job)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.local import run_locally
from tests.cli import run_invoke
from worker.contract import ExitCode
from worker.jobfile import load_job
from worker.resultsdb import MetricRow, ResultsFilter
from worker.resultsdb.sqlite import SqliteResultsStore

REPO = Path(__file__).resolve().parents[2]
JOB_FILE = REPO / "examples" / "jmh-quickstart" / "job.toml"

pytestmark = pytest.mark.e2e


def test_example_job_end_to_end_stores_every_sample(tmp_path: Path, benchmarks_jar: Path) -> None:
    job = load_job(
        JOB_FILE,
        {
            "queries": "HashMapLookupBenchmark",
            "measurement_count": "2",
            "forks": "2",
            "profilers": "GC,JFR",
        },
    )
    result = run_locally([job], job_dir=JOB_FILE.parent, workspace=tmp_path)
    assert result.exit_code == ExitCode.OK, result.reports[0].messages
    with SqliteResultsStore(tmp_path / "results.sqlite") as store:
        (run,) = store.runs(ResultsFilter())
        metrics = store.metrics(ResultsFilter())
    assert run.status == "SUCCEEDED" and run.tool == "jmh"
    assert sorted(m.params["size"] for m in metrics) == ["100", "10000"]
    for metric in metrics:
        assert metric.benchmark == "HashMapLookupBenchmark.lookup"
        assert len(metric.samples) == 2 * 2  # measurement iterations x forks
        assert metric.unit == "us/op" and metric.mode == "avgt"
        assert metric.summary["count"] == 4
    doc = result.reports[0].document
    assert doc is not None
    prov = doc["provenance"]
    assert prov["jdk_version"].startswith(("openjdk", "java"))
    assert prov["artifacts"]["benchmarks"] and prov["cpu_model"] and prov["cores"] >= 1
    recordings = doc["benchmarks"][0]["recordings"]
    assert any("/gc-" in r and r.endswith(".log") for r in recordings)
    assert any(r.endswith(".jfr") for r in recordings)
    # each @Param set keeps its own recordings (one JMH run each), not copies of all of them
    by_size = {b["params"]["size"]: b["recordings"] for b in doc["benchmarks"]}
    assert all(f"[size={size}]/" in r for size, recs in by_size.items() for r in recs)
    for recs in by_size.values():  # one GC log per forked JVM of this set (2 forks), no more
        assert len([r for r in recs if "/gc-" in r and r.endswith(".log")]) == 2
    _assert_score_error_matches_jmh(tmp_path, metrics)


def _assert_score_error_matches_jmh(workspace: Path, metrics: list[MetricRow]) -> None:
    """Our error (Student's t, 99.9 %) equals the scoreError JMH wrote for the same samples."""
    jmh_errors: dict[str, float] = {}
    for path in workspace.rglob("jmh-*.json"):
        for entry in json.loads(path.read_text()):
            size = entry["params"]["size"]
            jmh_errors[size] = float(entry["primaryMetric"]["scoreError"])
    assert sorted(jmh_errors) == ["100", "10000"]
    for metric in metrics:
        expected = jmh_errors[metric.params["size"]]
        assert metric.summary["error"] == pytest.approx(expected, rel=1e-6)


def test_failing_benchmark_stops_a_fail_policy_job(tmp_path: Path, benchmarks_jar: Path) -> None:
    job = load_job(
        JOB_FILE,
        {
            "queries": "FailingBenchmark,StringBuildingBenchmark",
            "error_policy": "FAIL",
            "profilers": "",
            "jvm_args": "-Dbenchinfra.example.fail=true",
        },
    )
    result = run_locally([job], job_dir=JOB_FILE.parent, workspace=tmp_path)
    doc = result.reports[0].document
    assert result.exit_code == ExitCode.BENCHMARK_FAILED
    assert doc is not None and doc["run"]["status"] == "FAILED"
    assert [f["benchmark"] for f in doc["failures"]] == ["FailingBenchmark.maybeFail"]
    assert doc["benchmarks"] == []  # FAIL stops before StringBuildingBenchmark (JMH order)


def test_quickstart_task_and_results_json(tmp_path: Path, benchmarks_jar: Path) -> None:
    env_ws = str(tmp_path / "ws")
    done = run_invoke(
        "run-worker",
        str(JOB_FILE),
        "--workspace",
        env_ws,
        "--queries",
        "StringBuildingBenchmark",
        "--measurement-count",
        "2",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "SUCCEEDED" in done.stderr
    shown = run_invoke("results", "--workspace", env_ws, "--metrics", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert {r["benchmark"] for r in rows} == {
        "StringBuildingBenchmark.stringBuilder",
        "StringBuildingBenchmark.stringJoin",
    }
    assert all(len(r["samples"]) == 2 for r in rows)
