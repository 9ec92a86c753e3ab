"""``invoke schedule`` and ``invoke watch`` while the Batch API throttles and fails in bursts
(an HTTP proxy in front of moto answers a share of calls with AWS's own error bodies): the run
ends with each job exactly once and the watch sees them all end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scheduler.sandbox.batch_resources import create_batch_resources
from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer
from tests.cli import run_invoke
from tests.jobs import command_job
from tests.services.aws_faults import FaultScript, run_aws_fault_proxy
from worker import aws as aws_clients
from worker.storage import open_store

pytestmark = pytest.mark.timeout(600)
JOBS = 20


def test_schedule_and_watch_ride_out_throttling_and_server_errors(
    aws: MotoServer, tmp_path: Path
) -> None:
    aws.configure_batch(use_docker=False)
    setup = create_batch_resources("bench/none:latest", aws.endpoint, credentials=CREDENTIALS)
    fields = command_job(warmup_count=0, measurement_count=1)
    commands = fields.pop("commands")
    job_file = tmp_path / "job.toml"
    job_file.write_text(
        "\n".join(
            [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
            + ["[commands]", *(f"{k} = {json.dumps(v)}" for k, v in commands.items())]
        )
        + "\n"
    )
    script = FaultScript(
        {
            "/v1/submitjob": [500, 429, 200],  # the run's one array job
            "/v1/describejobs": [429, 429, 200, 500, 200],
        }
    )
    with run_aws_fault_proxy(aws.endpoint, script) as endpoint:
        env = {**os.environ, "AWS_ENDPOINT_URL_BATCH": endpoint}
        args = ["schedule", str(job_file), "--storage", setup.storage, "--json"]
        args += ["--job-queue", setup.queue, "--job-definition", setup.job_definition]
        for i in range(JOBS):
            args += ["--workloads", f"w{i:02d}"]
        scheduled = run_invoke(*args, env=env, timeout=300)
        assert scheduled.returncode == 0, scheduled.stderr[-3000:]
        run_id = json.loads(scheduled.stdout)["run_id"]
        watched = run_invoke(
            "watch", run_id, "--storage", setup.storage, "--interval", "0.5",
            "--timeout", "120", "--store-uri", f"sqlite://{tmp_path / 'results.sqlite'}",
            env=env, timeout=300,
        )  # fmt: skip
        assert watched.returncode == 0, watched.stderr[-3000:]

    injected = {k: n for k, n in script.answered.items() if k[1] != 200}
    assert injected[("/v1/submitjob", 500)] and injected[("/v1/submitjob", 429)], injected
    assert injected[("/v1/describejobs", 429)], injected
    listed = aws_clients.client("batch").list_jobs(
        jobQueue=setup.queue, filters=[{"name": "JOB_NAME", "values": ["*"]}]
    )["jobSummaryList"]
    parents = [j["jobId"] for j in listed if ":" not in j["jobId"]]  # moto lists children too
    assert len(parents) == 1, listed
    described = aws_clients.client("batch").describe_jobs(jobs=parents)["jobs"]
    assert described[0]["arrayProperties"]["size"] == JOBS
    records = json.loads(open_store(setup.storage).get_bytes(f"runs/{run_id}/jobs.json"))
    assert len(records) == JOBS and {r["status"] for r in records} == {"SUCCEEDED"}
