"""The worker pipeline through the local path: real processes, real files, real stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from scheduler.local import LocalRun, run_locally
from tests.archives import good_dataset
from tests.jobs import command_job, macro_job
from worker.contract import Env, ExitCode
from worker.errors import ConfigError
from worker.job import parse_job
from worker.resultsdb import ResultsFilter
from worker.resultsdb.sqlite import SqliteResultsStore

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "build" / "java" / "macro-standin.jar"


def run(tmp_path: Path, job: dict[str, Any]) -> LocalRun:
    return run_locally([parse_job(job)], job_dir=tmp_path, workspace=tmp_path / "ws")


def only_document(result: LocalRun) -> dict[str, Any]:
    (report,) = result.reports
    assert report.document is not None
    return report.document


POLICY_COMMANDS = {"first": "true", "broken": "false", "last": "true"}


@pytest.mark.parametrize(
    ("policy", "exit_code", "status", "measured"),
    [
        ("IGNORE", ExitCode.OK, "SUCCEEDED", ["first", "last"]),
        ("REPORT_THEN_FAIL", ExitCode.BENCHMARK_FAILED, "FAILED", ["first", "last"]),
        ("FAIL", ExitCode.BENCHMARK_FAILED, "FAILED", ["first"]),
    ],
)
def test_error_policy_is_applied(
    tmp_path: Path, policy: str, exit_code: ExitCode, status: str, measured: list[str]
) -> None:
    result = run(tmp_path, command_job(error_policy=policy, commands=POLICY_COMMANDS))
    doc = only_document(result)
    assert result.exit_code == exit_code
    assert doc["run"]["status"] == status
    assert [b["name"] for b in doc["benchmarks"]] == measured
    assert [f["benchmark"] for f in doc["failures"]] == ["broken"]
    with SqliteResultsStore(tmp_path / "ws" / "results.sqlite") as store:
        (row,) = store.runs(ResultsFilter())
        assert row.status == status and row.benchmarks == len(measured) and row.failures == 1


def test_results_document_samples_statistics_and_provenance(tmp_path: Path) -> None:
    result = run(tmp_path, command_job(forks=2, measurement_count=4, profilers="VM_STAT"))
    doc = only_document(result)
    assert result.exit_code == 0
    assert doc["schema"] == "benchmark-infra/results" and doc["version"] == 1
    assert doc["run"]["test_run_id"] == result.plan.jobs[0].test_run_id
    assert doc["run"]["job_id"].startswith("local-") and doc["run"]["attempt"] == 1
    for bench in doc["benchmarks"]:
        assert len(bench["samples"]) == 8  # measurement iterations x forks
        assert bench["unit"] == "ms"
        summary = bench["summary"]
        assert summary["count"] == 8
        assert summary["min"] <= summary["perc_50"] <= summary["perc_99"] <= summary["max"]
    prov = doc["provenance"]
    for key in ("host", "cpu_model", "kernel", "jdk_version"):
        assert prov[key], key
    assert prov["cores"] >= 1 and prov["memory_mib"] > 0


def test_recordings_logs_and_work_dir_are_uploaded(tmp_path: Path) -> None:
    result = run(tmp_path, command_job(profilers="VM_STAT"))
    doc = only_document(result)
    test_run_id = doc["run"]["test_run_id"]
    store = tmp_path / "ws" / "store"
    archive = store / "recordings" / f"{test_run_id}.tar.gz"
    assert doc["recordings"]["archive"] == str(archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert f"{test_run_id}/shell_true/vmstat.txt" in names
    for bench in doc["benchmarks"]:
        assert bench["recordings"], bench["name"]
        assert all(Path(uri).is_file() for uri in bench["recordings"])
    results_dir = Path(result.reports[0].results_uri)
    assert json.loads((results_dir / "results.json").read_text()) == doc
    assert "test run" in (results_dir / "logs" / "worker.log").read_text()
    assert (results_dir / "logs" / "tool.log").is_file()


def test_bad_input_uploads_and_starts_nothing(tmp_path: Path) -> None:
    job = parse_job(macro_job(artifacts={"macro": "missing.jar", "neo4j-config": "none.conf"}))
    with pytest.raises(ConfigError) as err:
        run_locally([job], job_dir=tmp_path, workspace=tmp_path / "ws")
    assert "artifacts.macro:" in str(err.value) and "artifacts.neo4j-config:" in str(err.value)
    assert not (tmp_path / "ws").exists()


def test_a_missing_program_is_bad_configuration(tmp_path: Path) -> None:
    result = run(tmp_path, command_job(commands={"x": "/nonexistent/program"}))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "not found" in result.reports[0].messages[0]


def test_worker_cli_reports_missing_parameters_with_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "run",
            "--job-parameters",
            str(tmp_path / "none" / "job-parameters.json"),
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 2
    assert "nothing at" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_storage_is_a_transient_failure(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker",
            "run",
            "--job-parameters",
            "s3://bucket/runs/r/t/job-parameters.json",
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert done.returncode == ExitCode.TRANSIENT, done.stderr
    assert "Traceback" not in done.stderr


def test_the_password_never_lands_in_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-Pa55word-for-tests"
    monkeypatch.setenv(Env.RESULTS_STORE_PASSWORD, secret)
    run(tmp_path, command_job(commands={"env": "sh -c 'env > env.txt'"}))
    for path in (tmp_path / "ws").rglob("*"):
        if path.is_file() and path.suffix != ".sqlite":
            assert secret.encode() not in path.read_bytes(), path


@pytest.fixture(scope="module")
def standin() -> Path:
    assert STANDIN.is_file(), "run scripts/build-java.sh (the test setup does)"
    return STANDIN


def macro_files(tmp_path: Path, standin: Path) -> None:
    (tmp_path / "macro.jar").write_bytes(standin.read_bytes())
    (tmp_path / "neo4j.conf").write_text("server.memory.heap.max_size=1g\n")
    good_dataset(tmp_path / "accesscontrol.tgz", top="accesscontrol")


def test_macro_tool_gets_the_original_command_line(
    tmp_path: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    macro_files(tmp_path, standin)
    monkeypatch.setenv(Env.RESULTS_STORE_PASSWORD, "macro-password-123")
    result = run(tmp_path, macro_job(queries="Q1,Q2", measurement_count=4, forks=2))
    doc = only_document(result)
    assert result.exit_code == 0, result.reports[0].messages
    assert [b["name"] for b in doc["benchmarks"]] == ["Q1", "Q2"]
    assert all(len(b["samples"]) == 8 and b["unit"] == "us" for b in doc["benchmarks"])
    assert all(any(r.endswith("GC.txt") for r in b["recordings"]) for b in doc["benchmarks"])
    assert doc["provenance"]["dataset"]["sha256"]
    tool_log = (Path(result.reports[0].results_uri) / "logs" / "tool.log").read_text()
    assert "run-workload --workload accesscontrol" in tool_log
    assert "--db-name accesscontrol " in tool_log
    assert "macro-password-123" not in tool_log


def test_the_dataset_fetch_shows_its_progress_and_a_cache_hit_shows_none(
    tmp_path: Path, standin: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    macro_files(tmp_path, standin)
    assert run(tmp_path, macro_job(queries="Q1")).exit_code == 0
    first = capfd.readouterr().err
    assert run(tmp_path, macro_job(queries="Q1")).exit_code == 0
    second = capfd.readouterr().err
    label = "dataset accesscontrol.tgz (download + extract): "
    done = [line for line in first.splitlines() if line.startswith(label)]
    assert len(done) == 1 and " in " in done[0], first  # off a terminal: one plain line
    assert label not in second  # cached: nothing transferred


def test_macro_tool_failures_follow_the_error_policy(tmp_path: Path, standin: Path) -> None:
    macro_files(tmp_path, standin)
    result = run(tmp_path, macro_job(queries="Q1,FAILING,Q2", error_policy="FAIL"))
    doc = only_document(result)
    assert result.exit_code == ExitCode.BENCHMARK_FAILED
    assert [b["name"] for b in doc["benchmarks"]] == ["Q1"]
    assert doc["failures"][0]["benchmark"] == "FAILING"
