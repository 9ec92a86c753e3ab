"""Schedule and watch many jobs against moto server; every request counted on the server side.

1. N jobs (default 1,000) with Batch containers off, in 5 rounds: wall time of prepare and
   submit (min and median), and the requests moto served, by operation (from its request log,
   not our own counters). moto without containers ends every job when it is submitted, so
   that watch is one poll. Goals (issue 13): <= 10 SubmitJob, prepare + submit <= 2 s.
2. A real watch: M jobs (default 20) that moto Batch runs as real containers on the local
   Docker engine, each sleeping 3-12 s so they end at different polls. Reports the polls,
   DescribeJobs per poll (counted in moto's log between two polls), split into polls where no
   job changed (goal <= 3 Batch calls) and polls where some did, and this process's memory.

Usage: python bench/batch_scale.py [--jobs 1000] [--rounds 5] [--real-jobs 20]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.benchlib import quick_job  # noqa: E402
from scheduler.batch import BatchClient  # noqa: E402
from scheduler.plan import expand_jobs, prepare_run  # noqa: E402
from scheduler.sandbox.batch_resources import (  # noqa: E402
    BatchSetup,
    create_batch_resources,
    with_plain_command,
)
from scheduler.sandbox.docker_engine import ensure_base_image, start_engine  # noqa: E402
from scheduler.sandbox.moto_server import MotoServer, run_moto_server  # noqa: E402
from scheduler.submit import SubmitSettings, SubmittedRun, Target, submit_run  # noqa: E402
from scheduler.watch import iter_updates, outcome  # noqa: E402
from worker.job import parse_job  # noqa: E402
from worker.storage.s3 import S3Store  # noqa: E402

JOB = quick_job(workload="w")
#: Each real job sleeps 3-12 s (a random byte mod 10, plus 3).
STAGGERED = "sleep $(( $(od -An -N1 -tu1 /dev/urandom) % 10 + 3 ))"


def served(moto: MotoServer, offset: int) -> collections.Counter[str]:
    """Requests moto served since ``offset``: Batch by operation, S3 by method."""
    counts: collections.Counter[str] = collections.Counter()
    for method, path in moto.requests_since(offset):
        if path.startswith("/v1/"):
            counts[f"batch:{path.removeprefix('/v1/')}"] += 1
        elif not path.startswith("/moto-api"):
            counts[f"s3:{method}"] += 1
    return counts


def schedule(setup: BatchSetup, jobs: int, tmp: Path) -> tuple[SubmittedRun, float, float]:
    store = S3Store(setup.storage)
    planned = expand_jobs(parse_job(JOB), workloads=[f"w{i}" for i in range(jobs)])
    t0 = time.perf_counter()
    plan = prepare_run(planned, store, job_dir=tmp)
    t1 = time.perf_counter()
    run = submit_run(
        plan, store, BatchClient(), SubmitSettings(Target(setup.queue, setup.job_definition))
    )
    return run, t1 - t0, time.perf_counter() - t1


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def many_jobs(moto: MotoServer, jobs: int, rounds: int, tmp: Path) -> None:
    totals: list[float] = []
    for round_ in range(rounds):
        moto.reset()
        moto.configure_batch(use_docker=False)
        setup = create_batch_resources("none:latest", moto.endpoint)
        offset = moto.log_offset()
        run, prepare_s, submit_s = schedule(setup, jobs, tmp)
        totals.append(prepare_s + submit_s)
        print(
            f"  round {round_ + 1}: prepare {prepare_s:.2f} s, submit {submit_s:.2f} s, "
            f"together {prepare_s + submit_s:.2f} s"
        )
    t0 = time.perf_counter()
    final: dict[str, Any] = {}
    for update in iter_updates(BatchClient(), [j.job_id for j in run.jobs], interval=1.0):
        final = dict(update.jobs)
    watch_s = time.perf_counter() - t0
    time.sleep(0.5)  # moto logs a request after answering it
    counts = served(moto, offset)
    print(
        f"{jobs} jobs, containers off, {rounds} rounds: all succeeded: {outcome(final).succeeded}"
    )
    print(
        f"  prepare + submit: min {min(totals):.2f} s, median {statistics.median(totals):.2f} s "
        f"(goal <= 2 s: {'met' if statistics.median(totals) <= 2 else 'MISSED'} on the median)"
    )
    print(f"  watch to the end: {watch_s:.2f} s (every job had ended at the first poll)")
    print("  requests moto served in the last round, by operation:")
    for name, count in sorted(counts.items()):
        print(f"    {name:<28} {count}")
    submits = counts["batch:submitjob"]
    print(f"  SubmitJob: {submits} (goal <= 10: {'met' if submits <= 10 else 'MISSED'})")


def real_watch(moto: MotoServer, jobs: int, tmp: Path) -> None:
    engine = start_engine(tmp / "docker")
    image = ensure_base_image(engine)
    moto.reset()
    moto.configure_batch(use_docker=True)
    setup = create_batch_resources(image, moto.endpoint)
    setup = with_plain_command(setup, image, "staggered", ["sh", "-c", STAGGERED])
    run, _, _ = schedule(setup, jobs, tmp)
    offset = moto.log_offset()
    memory: list[float] = []
    calls: list[tuple[int, bool]] = []  # per poll: Batch requests, some job changed
    changed = [False]

    def sleep(seconds: float) -> None:  # between two polls; moto has logged the last one
        nonlocal offset
        memory.append(rss_mib())
        time.sleep(seconds)
        batch_calls = sum(n for k, n in served(moto, offset).items() if k.startswith("batch:"))
        calls.append((batch_calls, changed[0]))
        changed[0] = False
        offset = moto.log_offset()

    t0 = time.perf_counter()
    final: dict[str, Any] = {}
    for update in iter_updates(
        BatchClient(), [j.job_id for j in run.jobs], interval=1.0, sleep=sleep
    ):
        final = dict(update.jobs)
        changed[0] = True
    watch_s = time.perf_counter() - t0
    polls = len(calls) + 1
    quiet = [n for n, moved in calls if not moved]
    busy = [n for n, moved in calls if moved]
    print(f"{jobs} jobs in real containers at once: all succeeded: {outcome(final).succeeded}")
    print(f"  watch to the end: {watch_s:.1f} s, {polls} polls (1 s apart)")
    print(
        f"  Batch calls per poll where no job changed: {len(quiet)} polls, max "
        f"{max(quiet, default=0)} (goal <= 3: {'met' if max(quiet, default=0) <= 3 else 'MISSED'})"
    )
    print(
        f"  Batch calls per poll where some job changed: {len(busy)} polls, max "
        f"{max(busy, default=0)}, mean {statistics.mean(busy) if busy else 0:.2f}"
    )
    print(f"  this process's memory over the polls: {min(memory):.0f}-{max(memory):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--real-jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, run_moto_server(Path(tmp)) as moto:
        os.environ.update(moto.env())
        many_jobs(moto, args.jobs, args.rounds, Path(tmp))
        if args.real_jobs:
            real_watch(moto, args.real_jobs, Path(tmp))


if __name__ == "__main__":
    main()
