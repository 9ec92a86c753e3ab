"""Load: 1,000 jobs through ``invoke schedule`` and ``invoke watch`` (moto, no containers): one
array job, one SubmitJob; and 20 real containers at once on this machine. Every job must reach
a final state; Batch calls are counted on the server side (moto's request log), and the
watch's memory is sampled from ``/proc`` while it polls."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.batch import BatchClient
from scheduler.sandbox.batch_resources import create_batch_resources, with_plain_command
from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer
from scheduler.schedule import ScheduleRequest, schedule_run
from scheduler.submit import Target
from tests.cli import REPO, run_invoke
from tests.jobs import command_job
from worker.storage import open_store

pytestmark = pytest.mark.timeout(900)


def _batch_requests(moto: MotoServer, offset: int) -> collections.Counter[str]:
    """Batch API requests moto served since ``offset`` of its log, by operation."""
    return collections.Counter(
        path.removeprefix("/v1/")
        for method, path in moto.requests_since(offset)
        if method == "POST" and path.startswith("/v1/")
    )


def _job_file(tmp_path: Path) -> Path:
    fields = command_job(warmup_count=0, measurement_count=1)
    commands = fields.pop("commands")
    lines = [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    lines += ["[commands]", *(f"{k} = {json.dumps(v)}" for k, v in commands.items())]
    path = tmp_path / "job.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_thousand_jobs_through_schedule_and_watch(aws: MotoServer, tmp_path: Path) -> None:
    jobs = 1000
    aws.configure_batch(use_docker=False)
    setup = create_batch_resources("bench/none:latest", aws.endpoint, credentials=CREDENTIALS)
    offset = aws.log_offset()
    args = ["schedule", str(_job_file(tmp_path)), "--storage", setup.storage, "--json"]
    args += ["--job-queue", setup.queue, "--job-definition", setup.job_definition]
    for i in range(jobs):
        args += ["--workloads", f"w{i:04d}"]
    scheduled = run_invoke(*args, timeout=600)
    assert scheduled.returncode == 0, scheduled.stderr[-2000:]
    run_id = json.loads(scheduled.stdout)["run_id"]
    submitted = _batch_requests(aws, offset)
    assert submitted["submitjob"] == 1, submitted  # one array job of 1,000 children

    offset = aws.log_offset()
    watched = run_invoke(
        "watch", run_id, "--storage", setup.storage, "--interval", "1", "--timeout", "300",
        "--store-uri", f"sqlite://{tmp_path / 'results.sqlite'}", timeout=600,
    )  # fmt: skip
    assert watched.returncode == 0, watched.stderr[-2000:]
    watching = _batch_requests(aws, offset)
    # every job ended before the first poll (moto without containers): one poll, the parent
    # then its children, 100 ids a call
    assert watching["describejobs"] == 1 + jobs // 100, watching
    assert set(watching) == {"describejobs"}, watching
    records = json.loads(open_store(setup.storage).get_bytes(f"runs/{run_id}/jobs.json"))
    assert len(records) == jobs and {r["status"] for r in records} == {"SUCCEEDED"}


def _rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) if match else None


@pytest.mark.docker
def test_twenty_real_containers_at_once(aws: MotoServer, base_image: str, tmp_path: Path) -> None:
    jobs = 20
    setup = create_batch_resources(base_image, aws.endpoint, credentials=CREDENTIALS)
    # each job sleeps 3-12 s, so they end at different times and the watch has work to do
    staggered = "sleep $(( $(od -An -N1 -tu1 /dev/urandom) % 10 + 3 ))"
    setup = with_plain_command(setup, base_image, "staggered", ["sh", "-c", staggered])
    run, _, _ = schedule_run(
        ScheduleRequest(None, command_job(), workloads=[f"w{i}" for i in range(jobs)]),
        open_store(setup.storage),
        Target(setup.queue, setup.job_definition),
        BatchClient(),
    )
    offset = aws.log_offset()
    watch = subprocess.Popen(
        [
            sys.executable, "-m", "invoke", "watch", run.run_id, "--storage", setup.storage,
            "--interval", "1", "--timeout", "600",
            "--store-uri", f"sqlite://{tmp_path / 'results.sqlite'}",
        ],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    samples: list[int] = []
    started = time.monotonic()
    while watch.poll() is None:
        rss = _rss_kib(watch.pid)
        if rss is not None and time.monotonic() - started > 3:  # after start-up imports
            samples.append(rss)
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    _, err = watch.communicate()
    assert watch.returncode == 0, err[-2000:]
    requests = _batch_requests(aws, offset)
    # a poll is one DescribeJobs (the array job), two when its summary changed (+ 20 children)
    calls = requests["describejobs"]
    assert 3 <= calls <= 2 * (elapsed / 1.0 + 2), (calls, elapsed)
    assert set(requests) == {"describejobs"}, requests
    # flat from the first quarter on (start-up imports can outlast 3 s on a loaded machine)
    assert len(samples) >= 4 and max(samples) - samples[len(samples) // 4] < 8 * 1024, samples
    records = json.loads(open_store(setup.storage).get_bytes(f"runs/{run.run_id}/jobs.json"))
    assert len(records) == jobs and {r["status"] for r in records} == {"SUCCEEDED"}, records
    print(
        f"\n20 containers: watch {elapsed:.1f} s, {calls} DescribeJobs, "
        f"RSS {samples[0] // 1024}-{max(samples) // 1024} MiB"
    )
