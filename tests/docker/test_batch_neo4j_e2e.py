"""End to end into the real Neo4j results store: moto Batch runs OUR worker image, the worker
reads the results-store credentials from Secrets Manager at run time and writes its results
to the Neo4j harness; ``invoke watch`` then records the run's Job nodes (``RUN_BY``), and
``invoke logs`` shows what the worker printed. The password appears nowhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.batch import BatchClient
from scheduler.sandbox.batch_resources import create_batch_resources
from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer
from scheduler.schedule import ScheduleRequest, schedule_run
from scheduler.submit import Target
from tests.cli import run_invoke
from tests.services.neo4j import Neo4jServer
from worker import aws
from worker.contract import Env
from worker.params import ResultsStoreRef
from worker.resultsdb import ResultsFilter
from worker.resultsdb.factory import open_results_store
from worker.storage import open_store

REPO = Path(__file__).resolve().parents[2]
JOB_FILE = REPO / "examples" / "jmh-quickstart" / "job.toml"
pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(900)]


def test_worker_container_writes_to_neo4j_and_watch_records_its_jobs(
    aws: MotoServer, worker_image: str, neo4j: Neo4jServer, tmp_path: Path
) -> None:
    secret_arn = aws_secret(neo4j)
    setup = create_batch_resources(
        worker_image,
        aws.endpoint,
        name="neo4j-e2e",
        bucket="bench-neo4j-e2e",
        credentials=CREDENTIALS,
        extra_environment={Env.RESULTS_STORE_SECRET: secret_arn},
    )
    run, _, _ = schedule_run(
        ScheduleRequest(
            JOB_FILE, {"queries": "HashMapLookupBenchmark", "forks": "2", "measurement_count": "2"}
        ),
        open_store(setup.storage),
        Target(setup.queue, setup.job_definition),
        BatchClient(),
        env="e2e",
        timeout_seconds=600,
    )
    (job,) = run.jobs

    watched = run_invoke(
        "watch",
        run.run_id,
        "--storage",
        setup.storage,
        "--interval",
        "1",
        "--timeout",
        "600",
        "--store-secret",
        secret_arn,
        timeout=700,
    )
    assert watched.returncode == 0, watched.stderr[-3000:]
    assert f"job {job.job_id} is SUCCEEDED" in watched.stderr

    logs = run_invoke("logs", job.job_id, timeout=700)
    assert logs.returncode == 0, logs.stderr
    assert "results stored in the results store" in logs.stdout + logs.stderr

    with open_results_store(ResultsStoreRef(secret_id=secret_arn), workspace=tmp_path) as store:
        (test_run,) = store.runs(ResultsFilter(test_run_id=job.test_run_id))
        metrics = store.metrics(ResultsFilter(test_run_id=job.test_run_id))
        (record,) = store.jobs(job.test_run_id)
    assert test_run.status == "SUCCEEDED" and test_run.job_id == job.job_id
    assert len(metrics) == 2 and all(len(m.samples) == 2 * 2 for m in metrics)
    assert record.job_id == job.job_id and record.status == "SUCCEEDED"
    assert record.queued_at and record.done_at and record.log_stream_name

    # the password: not in S3, not in the job's description, not in its log
    s3 = aws_client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=setup.bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=setup.bucket, Key=obj["Key"])["Body"].read()
            assert neo4j.password.encode() not in body, obj["Key"]
    described = json.dumps(aws_client("batch").describe_jobs(jobs=[job.job_id]), default=str)
    assert neo4j.password not in described
    assert neo4j.password not in logs.stdout + logs.stderr + watched.stderr + watched.stdout


def aws_secret(neo4j: Neo4jServer) -> str:
    secret = aws_client("secretsmanager").create_secret(
        Name="neo4j-e2e-results-store",
        SecretString=json.dumps(
            {"username": neo4j.user, "password": neo4j.password, "uri": neo4j.uri}
        ),
    )
    return str(secret["ARN"])


def aws_client(service: str):  # type: ignore[no-untyped-def]
    return aws.client(service)
