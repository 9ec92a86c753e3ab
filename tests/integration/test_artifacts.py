"""Artifacts shared by many jobs are hashed, checked and uploaded once per run (moto server;
requests counted from the server's own request log)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.artifacts import ARTIFACTS_PREFIX, RunArtifacts
from scheduler.hashindex import HashIndex
from scheduler.plan import prepare_run
from scheduler.sandbox.moto_server import MotoServer
from tests.jobs import command_job
from worker import aws as aws_clients
from worker.job import parse_job
from worker.storage.s3 import S3Store

BUCKET = "artifact-dedupe"


@pytest.fixture
def store(aws: MotoServer) -> S3Store:
    aws.reset()
    client = aws_clients.client("s3")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    return S3Store(f"s3://{BUCKET}/base")


def _artifact_requests(server: MotoServer, offset: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for method, path in server.requests_since(offset):
        if f"/{ARTIFACTS_PREFIX}/" in path:
            counts[method] = counts.get(method, 0) + 1
    return counts


def test_fifty_jobs_sharing_a_jar_cost_one_hash_one_head_one_put(
    aws: MotoServer, store: S3Store, tmp_path: Path
) -> None:
    jar = tmp_path / "benchmarks.jar"
    jar.write_bytes(os.urandom(3 * 1024 * 1024))
    other = tmp_path / "other.jar"
    other.write_bytes(os.urandom(1024))
    jobs = [
        parse_job(command_job(artifacts={"benchmarks": "benchmarks.jar", "extra": "other.jar"}))
        for _ in range(50)
    ]
    os.environ["BENCH_HASH_INDEX"] = str(tmp_path / "index.json")
    try:
        offset = aws.log_offset()
        plan = prepare_run(jobs, store, job_dir=tmp_path)
        first = _artifact_requests(aws, offset)
        offset = aws.log_offset()
        again = prepare_run(jobs, store, job_dir=tmp_path)
        second = _artifact_requests(aws, offset)
    finally:
        del os.environ["BENCH_HASH_INDEX"]
    assert first == {"HEAD": 2, "PUT": 2}, first
    assert (plan.upload.uploaded, plan.upload.reused) == (2, 0)
    assert second == {"HEAD": 2}, second
    assert (again.upload.uploaded, again.upload.reused, again.upload.bytes_sent) == (0, 2, 0)
    keys = list(store.iter_keys(ARTIFACTS_PREFIX))
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["benchmarks.jar", "other.jar"]


def test_the_hash_index_reads_an_unchanged_file_once_and_a_changed_one_again(
    store: S3Store, tmp_path: Path
) -> None:
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"one" * 1000)
    old = jar.stat().st_mtime_ns - 10**9
    os.utime(jar, ns=(old, old))  # clearly older than the hash: not racy
    index_path = tmp_path / "index.json"

    def upload() -> tuple[str, int]:
        index = HashIndex(index_path)
        ref = RunArtifacts(store, tmp_path, index=index).upload([{"a": "a.jar"}])[0]["a"]
        return ref.sha256 or "", index.hashed

    first_sha, first_reads = upload()
    same_sha, same_reads = upload()
    jar.write_bytes(b"two" * 1000)  # same size; new mtime
    os.utime(jar, ns=(old + 5, old + 5))
    changed_sha, changed_reads = upload()
    assert (first_reads, same_reads, changed_reads) == (1, 0, 1)
    assert same_sha == first_sha != changed_sha
    assert store.head(f"{ARTIFACTS_PREFIX}/{changed_sha}/a.jar") is not None


def test_a_file_modified_right_after_hashing_is_hashed_again(tmp_path: Path) -> None:
    jar = tmp_path / "racy.jar"
    jar.write_bytes(b"x" * 100)
    index = HashIndex(tmp_path / "index.json")
    index.sha256(jar)
    index.sha256(jar)
    assert index.hashed == 2  # mtime within the racy window of the hash: not trusted
