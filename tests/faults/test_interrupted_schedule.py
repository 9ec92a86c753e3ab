"""``invoke schedule`` killed (SIGKILL: no clean-up runs) part-way through a run of 50 jobs,
then run again with the same run id: the run ends with exactly 50 jobs, none twice.

The network to moto is slowed down (Toxiproxy) so that the kill lands where it is meant to:
during the artifact upload, or once Batch accepted the run's array job and before the
manifest recorded it (the resumed schedule must find it by name and tags, not submit again).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from scheduler.sandbox.batch_resources import BatchSetup, create_batch_resources
from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer
from scheduler.sandbox.toxiproxy import Proxy
from tests.cli import REPO, run_invoke
from tests.jobs import PROVENANCE
from worker import aws as aws_clients
from worker.storage import open_store

pytestmark = pytest.mark.timeout(600)
JOBS = 50
RUN_ID = "resume-me-1"


@pytest.fixture
def batch(aws: MotoServer, s3_proxy: Proxy) -> BatchSetup:
    aws.configure_batch(use_docker=False)
    return create_batch_resources("bench/none:latest", aws.endpoint, credentials=CREDENTIALS)


def _job_file(tmp_path: Path, artifact_mib: int) -> Path:
    (tmp_path / "blob.bin").write_bytes(os.urandom(artifact_mib * 1024 * 1024))
    fields: dict[str, Any] = {
        "tool": "command",
        "workload": "w",
        "warmup_count": 0,
        "measurement_count": 1,
        **PROVENANCE,
    }
    lines = [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    lines += ["[commands]", 'true = "true"', "[artifacts]", 'blob = "blob.bin"']
    path = tmp_path / "job.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _schedule_args(job_file: Path, batch: BatchSetup) -> list[str]:
    args = [
        "schedule",
        str(job_file),
        "--storage",
        batch.storage,
        "--job-queue",
        batch.queue,
        "--job-definition",
        batch.job_definition,
        "--run-id",
        RUN_ID,
    ]
    for i in range(JOBS):
        args += ["--workloads", f"w{i:02d}"]
    return args


def _jobs_in_queue(moto_endpoint: str, queue: str) -> list[dict[str, Any]]:
    """Every job submitted to the queue, asked of moto directly (past the proxy). moto lists
    array children with their parent (Batch does not, under a filter): they are left out."""
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = moto_endpoint
    try:
        client = aws_clients.client("batch")
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "jobQueue": queue,
            "filters": [{"name": "JOB_NAME", "values": ["*"]}],
        }
        while True:
            page = client.list_jobs(**request)
            found += [j for j in page["jobSummaryList"] if ":" not in j["jobId"]]
            if not page.get("nextToken"):
                return found
            request["nextToken"] = page["nextToken"]
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved


@pytest.mark.parametrize("where", ["during-upload", "after-submission"])
def test_schedule_killed_then_run_again_ends_with_each_job_once(
    batch: BatchSetup, s3_proxy: Proxy, moto_endpoint: str, tmp_path: Path, where: str
) -> None:
    job_file = _job_file(tmp_path, artifact_mib=24 if where == "during-upload" else 1)
    if where == "during-upload":
        toxic = s3_proxy.add("bandwidth", stream="upstream", rate=1024)  # KB/s: ~24 s
    else:
        toxic = s3_proxy.add("latency", stream="downstream", latency=500)
    first = subprocess.Popen(
        [sys.executable, "-m", "invoke", *_schedule_args(job_file, batch)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    if where == "during-upload":
        time.sleep(3.0)
    else:
        while not _jobs_in_queue(moto_endpoint, batch.queue):
            assert first.poll() is None, "schedule ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    s3_proxy.remove(toxic)
    before = len(_jobs_in_queue(moto_endpoint, batch.queue))
    store = open_store(batch.storage)
    if where == "during-upload":
        assert before == 0
    else:
        assert before == 1, before
        recorded = json.loads(store.get_bytes(f"runs/{RUN_ID}/manifest.json"))
        assert not (recorded.get("batch") or {}).get("group_ids"), "killed too late to matter"

    again = run_invoke(*_schedule_args(job_file, batch), "--json", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]

    (parent,) = _jobs_in_queue(moto_endpoint, batch.queue)  # one array job, not two
    manifest = json.loads(store.get_bytes(f"runs/{RUN_ID}/manifest.json"))
    assert len(manifest["jobs"]) == JOBS
    children = sorted(manifest["batch"]["job_ids"].values())
    assert children == sorted(f"{parent['jobId']}:{i}" for i in range(JOBS))
    described = aws_clients.client("batch").describe_jobs(jobs=[parent["jobId"]])["jobs"]
    assert described[0]["arrayProperties"]["size"] == JOBS
    printed = json.loads(again.stdout)
    assert printed["run_id"] == RUN_ID and len(printed["jobs"]) == JOBS
