"""Schedule and watch N jobs (default 1,000) against moto server with Batch containers off.

Reports wall time of prepare+submit and of watching to the end, and the AWS API calls made,
by operation. Usage: python bench/batch_scale.py [--jobs 1000]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scheduler.batch import BatchClient  # noqa: E402
from scheduler.plan import expand_jobs, prepare_run  # noqa: E402
from scheduler.sandbox.batch_resources import create_batch_resources  # noqa: E402
from scheduler.sandbox.moto_server import run_moto_server  # noqa: E402
from scheduler.submit import SubmitSettings, Target, submit_run  # noqa: E402
from scheduler.watch import iter_updates, outcome  # noqa: E402
from tests.jobs import PROVENANCE  # noqa: E402
from worker import aws  # noqa: E402
from worker.job import parse_job  # noqa: E402
from worker.storage.s3 import S3Store  # noqa: E402

JOB = {
    "tool": "command",
    "workload": "w",
    "warmup_count": 0,
    "measurement_count": 1,
    "commands": {"noop": "true"},
    **PROVENANCE,
}


def counted(service: str, calls: collections.Counter[str]) -> Any:
    client = aws.client(service)

    def count(model: Any, **_: Any) -> None:
        calls[f"{service}:{model.name}"] += 1

    client.meta.events.register("before-call", count)
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, run_moto_server(Path(tmp)) as moto:
        os.environ.update(moto.env())
        moto.configure_batch(use_docker=False)
        setup = create_batch_resources("none:latest", moto.endpoint)
        calls: collections.Counter[str] = collections.Counter()
        store = S3Store(setup.storage, client=counted("s3", calls))
        batch = BatchClient(counted("batch", calls))
        jobs = expand_jobs(parse_job(JOB), workloads=[f"w{i}" for i in range(args.jobs)])
        t0 = time.perf_counter()
        plan = prepare_run(jobs, store, job_dir=Path(tmp))
        t1 = time.perf_counter()
        run = submit_run(
            plan, store, batch, SubmitSettings(Target(setup.queue, setup.job_definition))
        )
        t2 = time.perf_counter()
        final: dict[str, Any] = {}
        for update in iter_updates(batch, [j.job_id for j in run.jobs], interval=1.0):
            final = dict(update.jobs)
        t3 = time.perf_counter()
        result = outcome(final)
        print(f"jobs: {len(run.jobs)}, all succeeded: {result.succeeded}")
        print(f"prepare (job parameters + manifest): {t1 - t0:.2f} s")
        print(f"submit: {t2 - t1:.2f} s ({len(run.jobs) / (t2 - t1):.0f} jobs/s)")
        print(f"watch to the end: {t3 - t2:.2f} s")
        print("API calls by operation:")
        for name, count in sorted(calls.items()):
            print(f"  {name:<32} {count}")


if __name__ == "__main__":
    main()
