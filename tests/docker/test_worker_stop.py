"""``docker stop`` on a worker container (what Batch does on a timeout, a spot interruption or
``terminate-job``): the worker, PID 1 of the container, stops its benchmark, keeps what the
attempt has in S3 and exits 75 well before the engine's SIGKILL."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from scheduler.local_run import build_local_run
from scheduler.plan import prepare_run
from scheduler.sandbox.moto_server import MotoServer
from tests.jobs import command_job
from worker import aws as aws_clients
from worker.contract import ExitCode
from worker.job import parse_job
from worker.storage import open_store

BUCKET = "bench-stop"
pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]


def _wait_until(condition: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_docker_stop_keeps_the_attempt_and_exits_75(
    aws: MotoServer, worker_image: str, docker_engine: Any, tmp_path: Path
) -> None:
    s3 = aws_clients.client("s3")
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws_clients.region()}
    )
    job = parse_job(
        command_job(warmup_count=0, measurement_count=1, commands={"hang": "sleep 600"})
    )
    plan = prepare_run([job], open_store(f"s3://{BUCKET}"), job_dir=tmp_path)
    (planned,) = plan.jobs
    spec = build_local_run(worker_image, planned.parameters_uri, os.environ, home=tmp_path)
    client = docker_engine.client()
    container = client.containers.run(
        spec.image,
        spec.command,
        environment=spec.environment,
        name=spec.name,
        network_mode="host",
        detach=True,
    )
    try:
        _wait_until(
            lambda: any("sleep 600" in " ".join(p) for p in container.top()["Processes"]),
            "the benchmark to start",
        )
        started = time.monotonic()
        container.stop(timeout=30)  # SIGTERM, then SIGKILL after 30 s, as Batch does
        status = container.wait(timeout=60)["StatusCode"]
        elapsed = time.monotonic() - started
        output = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
        client.close()
    assert status == ExitCode.TRANSIENT, output[-3000:]
    assert elapsed < 20, f"stopped after {elapsed:.1f} s: the engine had to kill it"
    assert "stopped by SIGTERM" in output and "Traceback" not in output

    prefix = planned.results_uri.removeprefix(f"s3://{BUCKET}/").rstrip("/") + "/"
    keys = {
        o["Key"].removeprefix(prefix)
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    }
    assert "interrupted/attempt-1/interrupted.json" in keys, sorted(keys)
    assert "interrupted/attempt-1/logs/worker.log" in keys, sorted(keys)
    assert "results.json" not in keys, "an interrupted attempt stores no result"
    record = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"{prefix}interrupted/attempt-1/interrupted.json")[
            "Body"
        ].read()
    )
    assert record["status"] == "INTERRUPTED" and record["exit_code"] == ExitCode.TRANSIENT
