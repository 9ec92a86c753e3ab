"""``invoke watch`` killed while jobs change state, then re-attached: the run's records end
complete and written once (moto server's Batch runs real containers that take a while)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.batch import BatchClient
from scheduler.sandbox.batch_resources import BatchSetup, create_batch_resources, with_plain_command
from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer
from scheduler.schedule import ScheduleRequest, schedule_run
from scheduler.submit import Target
from tests.cli import REPO, run_invoke
from tests.jobs import command_job
from worker.resultsdb.sqlite import SqliteResultsStore
from worker.storage import open_store

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]
WORKLOADS = ("alpha", "beta", "gamma")


@pytest.fixture
def slow_batch(aws: MotoServer, base_image: str) -> BatchSetup:
    """Jobs that really take a while: moto Batch runs a plain container that sleeps."""
    setup = create_batch_resources(base_image, aws.endpoint, credentials=CREDENTIALS)
    return with_plain_command(setup, base_image, "sleeper", ["sleep", "6"])


def _watch(run_id: str, storage: str, store_uri: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invoke",
            "watch",
            run_id,
            "--storage",
            storage,
            "--store-uri",
            store_uri,
            "--interval",
            "0.5",
            "--timeout",
            "120",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGINT])
def test_watch_killed_then_reattached_records_every_job_once(
    slow_batch: BatchSetup, tmp_path: Path, kill: signal.Signals
) -> None:
    store = open_store(slow_batch.storage)
    run, _, _ = schedule_run(
        ScheduleRequest(None, command_job(), workloads=WORKLOADS),
        store,
        Target(slow_batch.queue, slow_batch.job_definition),
        BatchClient(),
        env="faults",
    )
    assert len(run.jobs) == len(WORKLOADS)
    store_uri = f"sqlite://{tmp_path / 'results.sqlite'}"

    first = _watch(run.run_id, slow_batch.storage, store_uri)
    assert first.stderr is not None
    seen = first.stderr.readline()  # the first status change: the jobs are moving
    assert " is " in seen, seen
    time.sleep(1.0)
    first.send_signal(kill)
    first.wait(timeout=30)
    assert first.returncode != 0
    if kill == signal.SIGINT:  # detached: it kept what it had seen, mid-flight
        partial = json.loads(store.get_bytes(f"runs/{run.run_id}/jobs.json"))
        assert any(j["status"] != "SUCCEEDED" for j in partial), partial

    again = run_invoke(
        "watch",
        run.run_id,
        "--storage",
        slow_batch.storage,
        "--store-uri",
        store_uri,
        "--interval",
        "0.5",
        "--timeout",
        "120",
        timeout=200,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    jobs = json.loads(store.get_bytes(f"runs/{run.run_id}/jobs.json"))
    assert sorted(j["job_id"] for j in jobs) == sorted(j.job_id for j in run.jobs)
    assert all(j["status"] == "SUCCEEDED" and j["done_at"] for j in jobs), jobs

    with SqliteResultsStore(tmp_path / "results.sqlite") as results:
        records = [r for j in run.jobs for r in results.jobs(j.test_run_id)]
    assert sorted(r.job_id for r in records) == sorted(j.job_id for j in run.jobs)
    for record in records:
        assert record.status == "SUCCEEDED", record
        assert record.queued_at and record.started_at and record.done_at, record
