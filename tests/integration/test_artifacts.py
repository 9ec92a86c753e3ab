"""Artifacts shared by many jobs are hashed, checked and uploaded once per run (moto server;
requests counted from the server's own request log)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from scheduler.artifacts import ARTIFACTS_PREFIX, RunArtifacts, hash_ahead
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


def _stored_sha256(store: S3Store, key: str) -> str:
    return hashlib.sha256(store.get_bytes(key)).hexdigest()


def test_files_hashed_ahead_are_read_once_and_land_under_their_hash(
    store: S3Store, tmp_path: Path
) -> None:
    # fresh files: their mtime is within the racy window, so only the ahead hash can spare a
    # second read
    for name in ("a.jar", "b.jar"):
        (tmp_path / name).write_bytes(os.urandom(2 * 1024 * 1024))
    jobs = [parse_job(command_job(artifacts={"a": "a.jar", "b": "b.jar"})) for _ in range(3)]
    index = HashIndex(tmp_path / "index.json")
    hash_ahead(jobs, tmp_path, index)
    refs = RunArtifacts(store, tmp_path, index=index).upload([{"a": "a.jar", "b": "b.jar"}])[0]
    assert index.hashed == 2
    for name, ref in refs.items():
        expected = hashlib.sha256((tmp_path / f"{name}.jar").read_bytes()).hexdigest()
        key = f"{ARTIFACTS_PREFIX}/{expected}/{name}.jar"
        assert ref.sha256 == expected
        assert _stored_sha256(store, key) == expected


def test_a_file_changed_after_it_was_hashed_ahead_is_hashed_again(
    store: S3Store, tmp_path: Path
) -> None:
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"old" * 1000)
    index = HashIndex(tmp_path / "index.json")
    index.hash_ahead([jar])
    index._ahead[str(jar.resolve())].result(timeout=10)  # the old content is hashed
    jar.write_bytes(b"new content" * 1000)
    ref = RunArtifacts(store, tmp_path, index=index).upload([{"a": "a.jar"}])[0]["a"]
    expected = hashlib.sha256(jar.read_bytes()).hexdigest()
    assert (ref.sha256, index.hashed) == (expected, 2)
    assert _stored_sha256(store, f"{ARTIFACTS_PREFIX}/{expected}/a.jar") == expected


def test_unchanged_files_are_not_read_again_even_when_hashed_ahead(
    store: S3Store, tmp_path: Path
) -> None:
    jar = tmp_path / "a.jar"
    jar.write_bytes(os.urandom(1024 * 1024))
    old = jar.stat().st_mtime_ns - 10**9
    os.utime(jar, ns=(old, old))
    index_path = tmp_path / "index.json"
    RunArtifacts(store, tmp_path, index=HashIndex(index_path)).upload([{"a": "a.jar"}])
    index = HashIndex(index_path)
    hash_ahead([parse_job(command_job(artifacts={"a": "a.jar"}))], tmp_path, index)
    run = RunArtifacts(store, tmp_path, index=index)
    run.upload([{"a": "a.jar"}])
    assert (index.hashed, run.stats.uploaded, run.stats.reused) == (0, 0, 1)


class _InFlight(S3Store):
    """The real store, counting uploads in flight at once."""

    def __init__(self, base_uri: str) -> None:
        super().__init__(base_uri)
        self.now = self.most = 0
        self._lock = threading.Lock()

    def put_file(self, path: Path, key: str, **kwargs: Any) -> Any:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return super().put_file(path, key, **kwargs)
        finally:
            with self._lock:
                self.now -= 1


@pytest.mark.parametrize("concurrency", [1, 2])
def test_distinct_files_go_up_at_most_concurrency_at_once(
    store: S3Store, tmp_path: Path, concurrency: int
) -> None:
    artifacts = {}
    for i in range(5):
        (tmp_path / f"f{i}.bin").write_bytes(os.urandom(9 * 1024 * 1024))  # multipart
        artifacts[f"f{i}"] = f"f{i}.bin"
    counting = _InFlight(store.base_uri)
    index = HashIndex(tmp_path / "index.json")
    run = RunArtifacts(counting, tmp_path, index=index, concurrency=concurrency)
    run.upload([artifacts])
    assert run.stats.uploaded == 5
    assert counting.most == concurrency


def test_schedule_reads_each_artifact_once_for_its_hash_and_not_again_when_unchanged(
    aws: MotoServer, store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``schedule`` hashes ahead on the index the run's upload then uses: one read per file
    (a second index would not know the hash yet and read it again), none on the next
    schedule, which finds the hashes in the index file."""
    import yaml

    from scheduler import hashindex
    from scheduler.sandbox.batch_resources import create_batch_resources
    from scheduler.sandbox.moto_server import CREDENTIALS
    from scheduler.schedule import BatchPlacement, ScheduleRequest, schedule

    aws.configure_batch(use_docker=False)
    batch = create_batch_resources("bench/none:latest", aws.endpoint, credentials=CREDENTIALS)
    for name in ("a.jar", "b.jar"):
        (tmp_path / name).write_bytes(os.urandom(1024 * 1024))
        old = (tmp_path / name).stat().st_mtime_ns - 10**9  # older than its hash: not racy
        os.utime(tmp_path / name, ns=(old, old))
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(command_job(artifacts={"a": "a.jar", "b": "b.jar"})))
    monkeypatch.setenv("BENCH_HASH_INDEX", str(tmp_path / "index.json"))
    reads: list[str] = []
    real_sha256_file = hashindex.sha256_file

    def counting(path: Path) -> str:
        reads.append(path.name)
        return real_sha256_file(path)

    monkeypatch.setattr(hashindex, "sha256_file", counting)
    placement = BatchPlacement(
        stack="none", job_queue=batch.queue, job_definition=batch.job_definition,
        storage=batch.storage,
    )  # fmt: skip
    first = schedule(ScheduleRequest(job_file, {}), placement)
    assert sorted(reads) == ["a.jar", "b.jar"]
    assert (first.uploaded, len(first.run.jobs)) == (2, 1)
    hashindex._SHARED.clear()  # as a new process: only what the index file holds
    reads.clear()
    schedule(ScheduleRequest(job_file, {}), placement)
    assert reads == []
