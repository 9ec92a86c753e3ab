"""End to end on moto server + real Docker: moto Batch runs OUR worker image.

schedule (upload once, submit) -> moto starts the container -> the worker fetches the JMH jar
from moto S3, runs JMH, writes results and recordings to moto S3 -> watch sees SUCCEEDED ->
logs shows the worker's output in CloudWatch Logs. A failing benchmark makes ``invoke watch``
exit 3.

The password is not checked here: moto does not inject job-definition ``secrets``, so it would
never reach these containers and an assertion on it could not fail. The Neo4j end-to-end test
(``test_batch_neo4j_e2e.py``) has the worker read it from Secrets Manager and checks S3, the job
description and the log; ``tests/integration/test_tool_environment.py`` checks that benchmark
processes never see it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from scheduler.batch import BatchClient, JobStatus
from scheduler.logs import iter_job_log
from scheduler.sandbox.batch_resources import BatchSetup, create_batch_resources
from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer
from scheduler.schedule import ScheduleRequest, schedule_run
from scheduler.submit import Target
from scheduler.watch import iter_updates, outcome, run_jobs
from tests.cli import run_invoke
from tests.history.servicemessages import parse
from tests.jobs import PROVENANCE
from worker import aws
from worker import aws as aws_clients
from worker.storage import open_store

REPO = Path(__file__).resolve().parents[2]
JOB_FILE = REPO / "examples" / "jmh-quickstart" / "job.toml"
pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture
def batch(aws: MotoServer, worker_image: str, benchmarks_jar: Path) -> BatchSetup:
    return create_batch_resources(worker_image, aws.endpoint, credentials=CREDENTIALS)


def _schedule(
    setup: BatchSetup, options: dict[str, Any], job_file: Path | None = JOB_FILE
) -> tuple[str, list[str]]:
    store = open_store(setup.storage)
    run, _, _ = schedule_run(
        ScheduleRequest(job_file, options),
        store,
        Target(setup.queue, setup.job_definition),
        BatchClient(),
        env="e2e",
        timeout_seconds=600,
    )
    return run.run_id, [j.job_id for j in run.jobs]


def _everything_stored(setup: BatchSetup) -> dict[str, bytes]:
    s3 = aws.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=setup.bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = s3.get_object(Bucket=setup.bucket, Key=obj["Key"])["Body"].read()
    return out


def test_jmh_job_runs_in_the_worker_image_on_moto_batch(batch: BatchSetup) -> None:
    run_id, job_ids = _schedule(batch, {})
    client = BatchClient()
    seen: list[JobStatus] = []
    final: dict[str, Any] = {}
    for update in iter_updates(client, job_ids, interval=1.0, timeout=600):
        seen += [c.job.status for c in update.changes]
        final = dict(update.jobs)
    result = outcome(final)
    assert result.succeeded, [(j.status, j.reason) for j in result.jobs]
    assert seen[-1] is JobStatus.SUCCEEDED

    # re-attachable: the run's jobs are found from its manifest
    store = open_store(batch.storage)
    assert list(run_jobs(store, run_id)) == job_ids

    objects = _everything_stored(batch)
    results = [
        k for k in objects if k.startswith(f"results/{run_id}/") and k.endswith("results.json")
    ]
    assert len(results) == 1, sorted(objects)
    document = json.loads(objects[results[0]])
    assert document["run"]["status"] == "SUCCEEDED"
    assert document["run"]["job_id"] == job_ids[0] and document["run"]["run_id"] == run_id
    assert not document["failures"], document["failures"]
    for query in ("StringBuildingBenchmark", "HashMapLookupBenchmark", "ArraySortBenchmark"):
        assert any(query in json.dumps(b) for b in document["benchmarks"]), query
    for benchmark in document["benchmarks"]:
        assert benchmark["unit"] == "us/op" and len(benchmark["samples"]) >= 1, benchmark
    test_run_id = document["run"]["test_run_id"]
    assert f"recordings/{test_run_id}.tar.gz" in objects, sorted(objects)

    log_lines = [e.message for e in iter_job_log(job_ids[0])]
    assert any("results document written to s3://" in line for line in log_lines), log_lines


def test_failing_benchmark_makes_watch_exit_3(batch: BatchSetup) -> None:
    run_id, job_ids = _schedule(
        batch,
        {"queries": "FailingBenchmark", "jvm_args": "-Xmx512m -Dbenchinfra.example.fail=true"},
    )
    env = {**os.environ, "INVOKE_BENCH_STORAGE": batch.storage}
    result = run_invoke(
        "watch", run_id, "--interval", "1", "--timeout", "600", "--teamcity", env=env, timeout=700
    )
    assert result.returncode == 3, result.stderr[-3000:]
    messages = parse(result.stdout)
    assert messages[0] == ("blockOpened", {**messages[0][1], "name": f"waiting for run {run_id}"})
    (problem,) = [p for n, p in messages if n == "buildProblem"]
    assert problem["identity"] == job_ids[0] and "/aws/batch/job" in problem["description"]
    assert "there are failed jobs" in result.stderr
    assert job_ids[0] in result.stderr
    assert "/aws/batch/job" in result.stderr  # where its log is
    assert f"is {JobStatus.FAILED.value}" in result.stderr


def test_cancel_terminates_the_unfinished_jobs_of_a_run(batch: BatchSetup) -> None:
    sleeper = {
        "tool": "command",
        "workload": "sleeper",
        "warmup_count": "0",
        "measurement_count": "1",
        "commands": {"sleep": "sleep 300"},
        **PROVENANCE,
    }
    run_id, (job_id,) = _schedule(batch, sleeper, job_file=None)
    for update in iter_updates(BatchClient(), [job_id], interval=1.0, timeout=300):
        if update.jobs[job_id].status is JobStatus.RUNNING:
            break
    env = {**os.environ, "INVOKE_BENCH_STORAGE": batch.storage}
    cancelled = run_invoke("cancel", run_id, "--reason", "stop it", env=env, timeout=300)
    assert cancelled.returncode == 0, cancelled.stderr[-2000:]
    assert cancelled.stdout.split() == [job_id]
    final: dict[str, Any] = {}
    for update in iter_updates(BatchClient(), [job_id], interval=1.0, timeout=300):
        final = dict(update.jobs)
    assert final[job_id].status is JobStatus.FAILED
    again = run_invoke("cancel", run_id, env=env, timeout=300)
    assert again.returncode == 0 and again.stdout.strip() == ""  # nothing left to cancel


def test_logs_says_when_there_is_no_stream_yet_and_follow_waits_for_it(
    batch: BatchSetup,
) -> None:
    _, (job_id,) = _schedule(batch, {"queries": "StringBuildingBenchmark"})
    early = run_invoke("logs", job_id, timeout=300)
    # moto writes a job's log when its container exits, well after this
    assert early.returncode != 0 and "has no log stream yet" in early.stderr, early.stderr
    assert f"invoke logs {job_id} --follow" in early.stderr
    followed = run_invoke("logs", job_id, "--follow", timeout=600)
    assert followed.returncode == 0, followed.stderr[-2000:]
    assert "results document written to s3://" in followed.stdout


def test_a_run_of_several_jobs_is_one_array_job_and_one_child_can_be_cancelled(
    aws: MotoServer, worker_image: str
) -> None:
    """Three jobs (one per query of a command job) as the children of one array job: moto runs
    each child in its own container; each finds its own parameters by its index (moto gives
    only ``AWS_BATCH_JOB_ID=<parent>:<index>``), stores its own result; the third, which
    sleeps, is cancelled alone by its child id."""
    setup = create_batch_resources(worker_image, aws.endpoint, credentials=CREDENTIALS)
    sleeper = {
        "tool": "command",
        "workload": "array",
        "warmup_count": "0",
        "measurement_count": "1",
        "commands": {"a": "true", "b": "true", "c": "sleep 300"},
        **PROVENANCE,
    }
    store = open_store(setup.storage)
    run, _, _ = schedule_run(
        ScheduleRequest(None, {**sleeper, "queries": "a,b,c"}, partitions=3),
        store,
        Target(setup.queue, setup.job_definition),
        BatchClient(),
        env="e2e",
        timeout_seconds=600,
    )
    job_ids = [j.job_id for j in run.jobs]
    parent = job_ids[0].rpartition(":")[0]
    assert job_ids == [f"{parent}:{i}" for i in range(3)]
    (described,) = aws_clients.client("batch").describe_jobs(jobs=[parent])["jobs"]
    assert described["arrayProperties"]["size"] == 3

    states: dict[str, Any] = {}
    for update in iter_updates(BatchClient(), job_ids, interval=1.0, timeout=600):
        states = dict(update.jobs)
        if [getattr(states.get(i), "status", None) for i in job_ids] == [
            JobStatus.SUCCEEDED, JobStatus.SUCCEEDED, JobStatus.RUNNING,
        ]:  # fmt: skip
            break
    env = {**os.environ, "INVOKE_BENCH_STORAGE": setup.storage}
    cancelled = run_invoke("cancel", job_ids[2], "--reason", "only this one", env=env, timeout=300)
    assert cancelled.returncode == 0, cancelled.stderr[-2000:]
    assert cancelled.stdout.split() == [job_ids[2]]

    watched = run_invoke(
        "watch", run.run_id, "--interval", "1", "--timeout", "300", "--json", env=env, timeout=400
    )
    assert watched.returncode == 3, watched.stderr[-3000:]  # the cancelled child failed
    final = {j["job_id"]: j["status"] for j in json.loads(watched.stdout)}
    assert final == {job_ids[0]: "SUCCEEDED", job_ids[1]: "SUCCEEDED", job_ids[2]: "FAILED"}
    names = [j.name for j in run.jobs]
    assert all(name in watched.stderr for name in names)  # each child under its own name

    objects = _everything_stored(setup)
    documents = [
        json.loads(body)
        for key, body in objects.items()
        if key.startswith(f"results/{run.run_id}/") and key.endswith("/results.json")
    ]
    by_job = {d["run"]["job_id"]: d for d in documents}
    assert sorted(by_job) == job_ids[:2], sorted(objects)
    for index, job in enumerate(run.jobs[:2]):
        document = by_job[job.job_id]
        assert document["run"]["test_run_id"] == job.test_run_id
        (benchmark,) = document["benchmarks"]
        assert "abc"[index] in json.dumps(benchmark)  # its own query, from its own entry
    records = json.loads(store.get_bytes(f"runs/{run.run_id}/jobs.json"))
    assert sorted(r["job_id"] for r in records) == job_ids
    log_lines = list(iter_job_log(job_ids[1]))
    assert any("results document written to s3://" in e.message for e in log_lines)
