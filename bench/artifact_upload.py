"""Artifact upload as whole processes: ``invoke schedule`` (what CI runs) against the AWS CLI and
s5cmd, on SeaweedFS (a fast real S3 server on loopback); Batch is moto server (no containers).

Per round, interleaved and with the order rotated, each contender uploads the same FILES x MB
set of fresh random files to a fresh prefix:

* ``ours``: ``python -m invoke schedule`` of one job naming the files as artifacts (validate,
  sha256, HEAD, PUT, job parameters, manifest, SubmitJob), with an empty hash index;
* ``aws``: ``aws s3 cp --recursive``;
* ``s5cmd``: ``s5cmd cp`` with its defaults, and ``s5cmd-2core`` tuned for 2 cores
  (``--numworkers 4 cp --concurrency 2 --part-size 16``).

Then the unchanged set again: ``ours`` re-scheduling (the hash index is warm) against
``s5cmd sync`` (size and mtime only), with ``aws s3 sync`` and a bare ``import boto3`` plus
one S3 client beside them to show what any Python process on boto3 pays before its first
request. Bytes are counted on the server side (what the SeaweedFS process read, from /proc).
The project is byte-compiled first, as an install is, and the yardsticks run without
launchers in front of them (no pyenv shim, the s5cmd Go binary itself:
:func:`bench.benchlib.tool`). Prints min and median of --rounds and the goals.

    python bench/artifact_upload.py [--files 5] [--mb 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    REPO,
    SeaweedFS,
    compile_project,
    example_job,
    goal_line,
    ratio,
    rounds,
    run_seaweedfs,
    run_timed,
    summary,
    tool,
)
from scheduler.sandbox.batch_resources import create_batch_resources
from scheduler.sandbox.moto_server import run_moto_server

BUCKET = "bench"


def make_files(src: Path, files: int, mb: int) -> dict[str, str]:
    src.mkdir(parents=True)
    artifacts = {}
    for i in range(files):
        path = src / f"artifact-{i}.bin"
        with path.open("wb") as out:
            for _ in range(mb):
                out.write(os.urandom(1024 * 1024))
        artifacts[f"a{i}"] = str(path)
    return artifacts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    compile_project()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        work = Path(tmp)
        with run_seaweedfs(work, [BUCKET]) as weed, run_moto_server(work) as moto:
            env = {**weed.env(), "AWS_ENDPOINT_URL": moto.endpoint}
            os.environ.update(env)
            moto.configure_batch(use_docker=False)
            batch = create_batch_resources("bench/worker:none", moto.endpoint, name="upload")
            env["AWS_ENDPOINT_URL_S3"] = weed.endpoint
            measure(args, work, weed, env, batch.queue, batch.job_definition)


def measure(
    args: argparse.Namespace,
    work: Path,
    weed: SeaweedFS,
    env: dict[str, str],
    queue: str,
    definition: str,
) -> None:
    src = work / "artifacts"
    job_file = work / "job.yaml"
    job_file.write_text(
        yaml.safe_dump(
            example_job(commands={"true": "true"}, artifacts=make_files(src, args.files, args.mb))
        )
    )
    total = args.files * args.mb * 2**20
    sent: dict[str, list[int]] = {}
    server_cpu: dict[str, list[float]] = {}
    counter = {"round": 0}

    def on_server(name: str, fn: Callable[[], float]) -> float:
        """Run one contender; record what the server read and the CPU time it spent."""
        before, cpu = weed.read_bytes(), weed.cpu_seconds()
        elapsed = fn()
        sent.setdefault(name, []).append(weed.read_bytes() - before)
        server_cpu.setdefault(name, []).append(weed.cpu_seconds() - cpu)
        return elapsed

    def schedule(prefix: str, index: Path) -> float:
        return run_timed(
            [
                sys.executable,
                "-m",
                "invoke",
                "schedule",
                "--job-file",
                str(job_file),
                "--job-queue",
                queue,
                "--job-definition",
                definition,
                "--storage",
                f"s3://{BUCKET}/{prefix}",
            ],
            env={**env, "BENCH_HASH_INDEX": str(index)},
            cwd=REPO,
        )

    def cli(name: str, cmd: Callable[[str], list[str]]) -> Callable[[], float]:
        def run() -> float:
            dest = f"s3://{BUCKET}/{name}-{counter['round']}/"
            return on_server(name, lambda: run_timed(cmd(dest), env=env))

        return run

    def ours() -> float:
        r = counter["round"]
        return on_server("ours", lambda: schedule(f"ours-{r}", work / f"index-{r}.json"))

    s5, aws = [tool("s5cmd"), "--endpoint-url", weed.endpoint], tool("aws")
    contenders = {
        "ours": ours,
        "aws": cli(
            "aws",
            lambda dest: [
                aws, "s3", "cp", "--recursive", "--quiet", str(src), dest,
                "--endpoint-url", weed.endpoint,
            ],
        ),
        "s5cmd": cli("s5cmd", lambda dest: [*s5, "cp", f"{src}/*", dest]),
        "s5cmd-2core": cli(
            "s5cmd-2core",
            lambda dest: [
                *s5, "--numworkers", "4", "cp", "--concurrency", "2", "--part-size", "16",
                f"{src}/*", dest,
            ],
        ),
    }  # fmt: skip
    first = rounds(_counting(contenders, counter), args.rounds)

    def ours_again() -> float:
        r = counter["round"] % args.rounds
        return on_server("ours again", lambda: schedule(f"ours-{r}", work / f"index-{r}.json"))

    def s5_sync() -> float:
        dest = f"s3://{BUCKET}/s5cmd-{counter['round'] % args.rounds}/"
        return on_server("s5cmd sync", lambda: run_timed([*s5, "sync", f"{src}/", dest], env=env))

    def aws_sync() -> float:
        dest = f"s3://{BUCKET}/aws-{counter['round'] % args.rounds}/"
        cmd = [aws, "s3", "sync", "--quiet", str(src), dest, "--endpoint-url", weed.endpoint]
        return on_server("aws s3 sync", lambda: run_timed(cmd, env=env))

    def boto3_start() -> float:
        code = "import boto3; boto3.client('s3')"
        return run_timed([sys.executable, "-c", code], env=env)

    counter["round"] = 0
    again = rounds(
        _counting(
            {
                "ours again": ours_again,
                "s5cmd sync": s5_sync,
                "aws s3 sync": aws_sync,
                "boto3 start": boto3_start,
            },
            counter,
        ),
        args.rounds,
    )
    report(args, first, again, sent, server_cpu, total)


def _counting(
    contenders: dict[str, Callable[[], float]], counter: dict[str, int]
) -> dict[str, Callable[[], float]]:
    """Advance the round counter after the last contender of each round."""
    names = list(contenders)
    calls = {"n": 0}

    def wrap(fn: Callable[[], float]) -> Callable[[], float]:
        def run() -> float:
            elapsed = fn()
            calls["n"] += 1
            if calls["n"] % len(names) == 0:
                counter["round"] += 1
            return elapsed

        return run

    return {name: wrap(fn) for name, fn in contenders.items()}


def report(
    args: argparse.Namespace,
    first: dict[str, list[float]],
    again: dict[str, list[float]],
    sent: dict[str, list[int]],
    server_cpu: dict[str, list[float]],
    total: int,
) -> None:
    import statistics

    mib = 2**20
    print(
        f"upload {args.files} x {args.mb} MiB = {total // mib} MiB, whole processes, "
        f"{args.rounds} rounds interleaved (order rotated); server: what the SeaweedFS "
        "process read (sockets and disk, all its internal hops) and its CPU time (median)"
    )
    for name, times in {**first, **again}.items():
        got = sent.get(name, [0])
        cpu = statistics.median(server_cpu.get(name, [0.0]))
        print(
            f"  {name:12s} {summary(times)}  server read {max(got) / mib:7.1f} MiB"
            f"  cpu {cpu:5.2f} s"
        )
    best_s5 = ratio(first["ours"], _faster(first["s5cmd"], first["s5cmd-2core"]))
    print(goal_line("ours/best s5cmd", best_s5, 1.0))
    print(goal_line("ours/aws s3 cp", ratio(first["ours"], first["aws"]), 0.8))
    print(
        goal_line("re-upload ours/s5cmd sync", ratio(again["ours again"], again["s5cmd sync"]), 1.5)
    )
    print(f"re-upload ours/aws s3 sync: {ratio(again['ours again'], again['aws s3 sync']):.2f}x")


def _faster(a: list[float], b: list[float]) -> list[float]:
    import statistics

    return a if statistics.median(a) <= statistics.median(b) else b


if __name__ == "__main__":
    main()
