"""The command line as users meet it: invoke tasks in a subprocess."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli import run_invoke
from tests.history.servicemessages import parse

REPO = Path(__file__).resolve().parents[2]


def test_every_task_has_a_one_line_help() -> None:
    done = run_invoke("--list")
    assert done.returncode == 0
    for name in ("run-worker", "check-job", "results"):
        assert name in done.stdout


def test_bad_input_exits_2_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    job = REPO / "examples" / "jmh-quickstart" / "job.toml"
    done = run_invoke(
        "run-worker",
        str(job),
        "--workspace",
        str(tmp_path / "ws"),
        "--warmup-count",
        "lots",
        "--time-unit",
        "MINUTES",
        "--profilers",
        "GC,XYZ",
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "warmup_count (--warmup-count): 'lots' is not a whole number" in done.stderr
    assert "time_unit (--time-unit): 'MINUTES' is not one of" in done.stderr
    assert "unknown profiler 'XYZ'" in done.stderr
    assert not (tmp_path / "ws").exists()


def test_missing_artifact_is_named_before_anything_is_uploaded(tmp_path: Path) -> None:
    job = REPO / "examples" / "jmh-quickstart" / "job.toml"
    done = run_invoke(
        "run-worker",
        str(job),
        "--workspace",
        str(tmp_path / "ws"),
        "--artifact",
        f"benchmarks={tmp_path}/missing.jar",
    )
    assert done.returncode == 2
    assert "artifacts.benchmarks:" in done.stderr and "does not exist" in done.stderr
    assert "build it first" in done.stderr
    assert not (tmp_path / "ws").exists()


def test_a_missing_jar_of_this_repository_says_how_it_is_built(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    text = (REPO / "examples" / "jmh-quickstart" / "job.toml").read_text()
    job.write_text(text.replace("../../build/java/benchmarks.jar", "build/java/absent.jar"))
    done = run_invoke("run-worker", str(job), "--workspace", str(tmp_path / "ws"))
    assert done.returncode == 2
    assert "scripts/build-java.sh builds it" in done.stderr, done.stderr


def test_check_job_prints_the_validated_job() -> None:
    done = run_invoke("check-job", str(REPO / "examples" / "command" / "job.toml"), "--forks", "3")
    assert done.returncode == 0, done.stderr
    assert '"forks": 3' in done.stdout


def test_results_on_an_empty_workspace(tmp_path: Path) -> None:
    done = run_invoke("results", "--workspace", str(tmp_path))
    assert done.returncode == 0 and "no results match" in done.stderr


def test_run_worker_under_teamcity_reports_a_statistic_per_benchmark(tmp_path: Path) -> None:
    done = run_invoke(
        "run-worker",
        str(REPO / "examples" / "command" / "job.toml"),
        "--workspace",
        str(tmp_path),
        "--measurement-count",
        "2",
        "--forks",
        "1",
        "--profilers",
        "",
        env={**os.environ, "TEAMCITY_VERSION": "2025.07"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stats = {
        p["key"]: float(p["value"]) for n, p in parse(done.stdout) if n == "buildStatisticValue"
    }
    assert sorted(stats) == [
        "bench.shell-tools.shell-tools/gzip-1mb.median.ms",
        "bench.shell-tools.shell-tools/sort-10k.median.ms",
    ]
    assert all(v > 0 for v in stats.values())


def test_the_new_result_tasks_have_help() -> None:
    for name in ("regressions", "report", "compare"):
        done = run_invoke("--help", name)
        assert done.returncode == 0, done.stderr
        assert "--teamcity" in done.stdout
    assert "--input" in run_invoke("--help", "regressions").stdout
