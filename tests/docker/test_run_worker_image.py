"""``invoke run-worker --image``: the job runs in the worker image on the local engine, with
the arguments it would get on Batch, against moto (the sandbox's AWS)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.sandbox.moto_server import MotoServer
from tests.cli import run_invoke
from worker import aws as aws_clients

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "pw-run-worker-image-never-leak"
pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(900)]


def test_run_worker_in_image_against_the_sandbox(
    aws: MotoServer, worker_image: str, benchmarks_jar: Path
) -> None:
    s3 = aws_clients.client("s3")
    s3.create_bucket(
        Bucket="sandbox", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    env = {**os.environ, "BENCH_RESULTS_STORE_PASSWORD": PASSWORD}
    result = run_invoke(
        "run-worker",
        "examples/jmh-quickstart/job.toml",
        "--image",
        worker_image,
        "--storage",
        "s3://sandbox",
        env=env,
        timeout=800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results_uri = result.stdout.strip().splitlines()[-1]
    assert results_uri.startswith("s3://sandbox/results/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sandbox")["Contents"]]
    prefix = results_uri.removeprefix("s3://sandbox/")
    assert any(k.startswith(prefix) and k.endswith("results.json") for k in keys), keys
    assert PASSWORD not in result.stdout + result.stderr
    for key in keys:
        assert PASSWORD.encode() not in s3.get_object(Bucket="sandbox", Key=key)["Body"].read()
