"""A worker stopped from outside (Batch's SIGTERM, Ctrl-C): real processes, real signals.

The stopped attempt ends its tool, keeps its logs and an ``interrupted.json`` under
``interrupted/attempt-<n>/``, exits 75 (SIGTERM) or 130 (SIGINT) and stores no result; the
retry then leaves exactly one complete result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.plan import prepare_run
from tests.jobs import command_job
from worker.contract import ExitCode
from worker.interrupt import JobInterruptedError, StopSignal
from worker.job import parse_job
from worker.resultsdb import ResultsFilter
from worker.resultsdb.sqlite import SqliteResultsStore
from worker.storage import open_store

REPO = Path(__file__).resolve().parents[2]


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_worker(parameters_uri: str, workspace: Path, attempt: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "run",
            "--job-parameters",
            parameters_uri,
            "--workspace",
            str(workspace),
            "--attempt",
            str(attempt),
            "--job-id",
            "job-under-test",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def hanging_job(tmp_path: Path) -> tuple[str, Path, Path]:
    """A prepared run whose one benchmark hangs while ``<marks>/hang`` exists.

    The benchmark's shell writes its pid to ``<marks>/pid`` (and so its process tree can be
    checked after the stop).
    """
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "hang").touch()
    script = f"echo $$ > {marks}/pid; if [ -e {marks}/hang ]; then sleep 600; fi"
    job = parse_job(
        command_job(
            warmup_count=0, measurement_count=1, commands={"maybe-hang": f"sh -c '{script}'"}
        )
    )
    workspace = tmp_path / "ws"
    store = open_store(str(workspace / "store"))
    plan = prepare_run([job], store, job_dir=tmp_path)
    (prepared,) = plan.jobs
    return prepared.parameters_uri, workspace, marks


def _results_prefix(workspace: Path) -> Path:
    (parameters,) = (workspace / "store").rglob("job-parameters.json")
    (entry,) = json.loads(parameters.read_text())["jobs"]
    uri = str(entry["results_uri"])
    return Path(uri.removeprefix("file://"))


def test_sigterm_stops_the_tool_keeps_the_attempt_and_the_retry_stores_one_result(
    hanging_job: tuple[str, Path, Path],
) -> None:
    uri, workspace, marks = hanging_job
    proc = _start_worker(uri, workspace, attempt=1)
    _wait_for(marks / "pid")
    tool_pid = int((marks / "pid").read_text())
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.TRANSIENT, err
    assert time.monotonic() - started < 15, "the stop must fit in Batch's 30 s"
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    assert not _alive(tool_pid), "the benchmark's process tree must be stopped"

    results = _results_prefix(workspace)
    kept = results / "interrupted" / "attempt-1"
    record = json.loads((kept / "interrupted.json").read_text())
    assert record["status"] == "INTERRUPTED" and record["attempt"] == 1
    assert record["exit_code"] == ExitCode.TRANSIENT
    assert "stopped by SIGTERM" in (kept / "logs" / "worker.log").read_text()
    assert not (results / "results.json").exists(), "an interrupted attempt stores no result"
    with SqliteResultsStore(workspace / "results.sqlite") as store:
        assert store.runs(ResultsFilter()) == []

    (marks / "hang").unlink()  # the retry: same parameters, the benchmark now completes
    retry = _start_worker(uri, workspace, attempt=2)
    _out, err = retry.communicate(timeout=60)
    assert retry.returncode == ExitCode.OK, err
    document = json.loads((results / "results.json").read_text())
    assert document["run"]["status"] == "SUCCEEDED" and document["run"]["attempt"] == 2
    assert [b["name"] for b in document["benchmarks"]] == ["maybe-hang"]
    with SqliteResultsStore(workspace / "results.sqlite") as store:
        (row,) = store.runs(ResultsFilter())
        assert row.status == "SUCCEEDED"
    assert (kept / "interrupted.json").exists(), "the retry keeps the first attempt's record"


def test_ctrl_c_stops_the_same_way_with_exit_130(hanging_job: tuple[str, Path, Path]) -> None:
    uri, workspace, marks = hanging_job
    proc = _start_worker(uri, workspace, attempt=1)
    _wait_for(marks / "pid")
    tool_pid = int((marks / "pid").read_text())
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED == 130, err
    assert "Traceback" not in err
    assert not _alive(tool_pid)
    kept = _results_prefix(workspace) / "interrupted" / "attempt-1"
    assert json.loads((kept / "interrupted.json").read_text())["exit_code"] == 130


def test_a_tool_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stop = StopSignal(grace_seconds=0.5)
    ignore_term = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", ignore_term],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    with stop.installed(), pytest.raises(JobInterruptedError) as caught, stop.child(child):
        os.kill(os.getpid(), signal.SIGTERM)
        assert child.wait(timeout=10) == -signal.SIGKILL
    assert caught.value.exit_code == ExitCode.TRANSIENT


def test_a_stop_with_no_tool_running_interrupts_at_once() -> None:
    stop = StopSignal()
    with stop.installed(), pytest.raises(JobInterruptedError):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the handler is restored"
