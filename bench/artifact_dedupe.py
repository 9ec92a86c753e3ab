"""Shared artifacts are hashed and checked once per run: preparing JOBS jobs that all name the
same MB jar, against preparing one such job (the yardstick: the cost a run cannot avoid).

Each preparation runs as its own process (``scheduler.plan.prepare_run`` of a fresh run, an
empty hash index) against moto server; requests are counted from moto's own request log
(server side), bytes read by the process from the kernel's ``/proc/<pid>/io``, so neither
comes from the project's counters. Interleaved, order rotated, min and median of --rounds.

    python bench/artifact_dedupe.py [--jobs 50] [--mb 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import REPO, example_job, rounds, summary
from scheduler.sandbox.moto_server import MotoServer, run_moto_server
from worker import aws

BUCKET = "dedupe"
PREPARE = """
import json, os, sys
from pathlib import Path
from scheduler.plan import prepare_run
from worker.job import parse_job
from worker.storage import open_store
spec = json.loads(sys.argv[1])
jobs = [parse_job(spec["job"]) for _ in range(spec["jobs"])]
prepare_run(jobs, open_store(spec["storage"]), job_dir=Path(spec["dir"]))
io = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
print(json.dumps({"read_bytes": int(io["rchar"])}))
"""


def prepare(moto: MotoServer, work: Path, jobs: int, tag: str) -> tuple[float, dict[str, int]]:
    """One preparation as a process: (seconds, counts) with artifact requests from the log."""
    spec = {
        "job": example_job(commands={"true": "true"}, artifacts={"benchmarks": "benchmarks.jar"}),
        "jobs": jobs,
        "storage": f"s3://{BUCKET}/{tag}",
        "dir": str(work),
    }
    env = {**os.environ, "BENCH_HASH_INDEX": str(work / f"index-{tag}.json")}
    offset = moto.log_offset()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PREPARE, json.dumps(spec)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - start
    time.sleep(0.2)  # let the server flush its log line
    counts = {"read MiB": json.loads(done.stdout)["read_bytes"] // 2**20}
    for method, path in moto.requests_since(offset):
        if "/artifacts/sha256/" not in path:
            continue
        # one upload is a PutObject, or CreateMultipartUpload (POST ?uploads) plus its parts
        if method == "PUT" and "partNumber=" in path:
            kind = "part"
        elif method == "PUT" or (method == "POST" and "?uploads" in path):
            kind = "upload"
        else:
            kind = method
        counts[kind] = counts.get(kind, 0) + 1
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dedupe-") as tmp:
        work = Path(tmp)
        (work / "benchmarks.jar").write_bytes(os.urandom(args.mb * 2**20))
        with run_moto_server(work) as moto:
            os.environ.update(moto.env())
            aws.client("s3").create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region()}
            )
            counts: dict[str, list[dict[str, int]]] = {"shared": [], "single": []}
            seq = {"n": 0}

            def contender(name: str, jobs: int) -> float:
                seq["n"] += 1
                elapsed, got = prepare(moto, work, jobs, f"{name}-{seq['n']}")
                counts[name].append(got)
                return elapsed

            times = rounds(
                {
                    "shared": lambda: contender("shared", args.jobs),
                    "single": lambda: contender("single", 1),
                },
                args.rounds,
            )
    print(
        f"prepare a run, whole processes, {args.rounds} rounds interleaved: {args.jobs} jobs "
        f"sharing one {args.mb} MiB jar vs 1 job with it; requests to artifacts/ counted in "
        "moto's request log, bytes read from /proc"
    )
    for name, label in (("shared", f"{args.jobs} jobs"), ("single", "1 job")):
        c = counts[name][-1]
        print(
            f"  {label:8s} {summary(times[name])}  HEAD {c.get('HEAD', 0)}  uploads "
            f"{c.get('upload', 0)} ({c.get('part', 0)} parts)"
            f"  process read {c['read MiB']} MiB"
        )
    shared, single = counts["shared"][-1], counts["single"][-1]
    extra = (shared["read MiB"] - single["read MiB"]) / args.mb
    print(
        f"jar-sized reads beyond the single job's (hash + PUT): {extra:+.1f}; "
        f"requests for the shared jar: HEAD {shared.get('HEAD', 0)}, "
        f"uploads {shared.get('upload', 0)}"
    )
    ratio = statistics.median(times["shared"]) / statistics.median(times["single"])
    print(f"time {args.jobs} jobs / 1 job: {ratio:.2f}x")
    ok = shared.get("HEAD", 0) == 1 and shared.get("upload", 0) <= 1 and abs(extra) < 0.5
    print(
        f"goal, one hash, one HEAD, at most one PUT per distinct file: {'met' if ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
