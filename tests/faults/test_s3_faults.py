"""S3 through a faulty network (Toxiproxy in front of moto server).

Each fault either heals (the transfer resumes or restarts and the bytes are exact, checked by
sha256 against what moto holds) or persists (a ``TransientError``: the job exits 75, Batch
retries it, and nothing half-written is left behind).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from scheduler.sandbox.toxiproxy import Proxy
from worker import aws
from worker.dataset import fetch_dataset
from worker.errors import TransientError
from worker.params import ArtifactRef
from worker.storage import open_store

BUCKET = "bench-faults"
MIB = 1024 * 1024
pytestmark = pytest.mark.timeout(300)


def _moto_sha256(endpoint: str, key: str) -> str:
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        body = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved
    return hashlib.sha256(body).hexdigest()


@pytest.fixture
def bucket(s3_proxy: Proxy) -> str:
    aws.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region()}
    )
    return BUCKET


def _random_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_upload_cut_mid_way_restarts_and_lands_byte_exact(
    s3_proxy: Proxy, bucket: str, tmp_path: Path, moto_endpoint: str
) -> None:
    artifact = tmp_path / "macro.jar"
    digest = _random_file(artifact, 40 * MIB)
    # every connection is closed after 3 MiB of request bytes, until the fault heals
    toxic = s3_proxy.add("limit_data", stream="upstream", bytes=3 * MIB)
    s3_proxy.remove_after(toxic, 2.0)
    started = time.monotonic()
    info = open_store(f"s3://{bucket}").put_file(artifact, "artifacts/macro.jar")
    assert time.monotonic() - started > 2.0, "the fault never bit"
    assert info.sha256 == digest
    assert _moto_sha256(moto_endpoint, "artifacts/macro.jar") == digest


def test_upload_into_a_lasting_fault_is_transient(
    s3_proxy: Proxy, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    artifact = tmp_path / "macro.jar"
    _random_file(artifact, 8 * MIB)
    with (
        s3_proxy.toxic("limit_data", stream="upstream", bytes=1 * MIB),
        pytest.raises(TransientError),
    ):
        open_store(f"s3://{bucket}").put_file(artifact, "artifacts/macro.jar")
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=bucket)


def _dataset(tmp_path: Path, size: int) -> tuple[Path, dict[str, str]]:
    """A .tar.gz of incompressible files under one top-level directory; name -> sha256."""
    files = {f"db/part-{i}.bin": os.urandom(size // 4) for i in range(4)}
    archive = tmp_path / "db.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return archive, {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}


def _upload_dataset(bucket: str, archive: Path) -> ArtifactRef:
    info = open_store(f"s3://{bucket}").put_file(archive, "datasets/db.tar.gz")
    return ArtifactRef(info.uri, info.sha256, archive.stat().st_size)


def test_dataset_download_cut_mid_stream_resumes_and_extracts_exactly(
    s3_proxy: Proxy, bucket: str, tmp_path: Path
) -> None:
    archive, expected = _dataset(tmp_path, 24 * MIB)
    ref = _upload_dataset(bucket, archive)
    # the response stream is cut after 5 MiB, on every connection, until it heals
    toxic = s3_proxy.add("limit_data", stream="downstream", bytes=5 * MIB)
    s3_proxy.remove_after(toxic, 2.0)
    dataset = fetch_dataset(ref, tmp_path / "cache")
    assert not dataset.cached and dataset.sha256 == ref.sha256
    got = {
        str(p.relative_to(dataset.path.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in dataset.path.rglob("*")
        if p.is_file()
    }
    assert got == expected


def test_dataset_download_into_a_lasting_fault_is_transient_and_leaves_no_cache(
    s3_proxy: Proxy, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    archive, expected = _dataset(tmp_path, 8 * MIB)
    ref = _upload_dataset(bucket, archive)
    cache = tmp_path / "cache"
    with (
        s3_proxy.toxic("limit_data", stream="downstream", bytes=MIB // 2),
        pytest.raises(TransientError),
    ):
        fetch_dataset(ref, cache)
    leftovers = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert leftovers == [], leftovers
    again = fetch_dataset(ref, cache)  # the retry, once the network is back
    assert not again.cached
    assert {
        str(p.relative_to(again.path.parent)) for p in again.path.rglob("*") if p.is_file()
    } == set(expected)


def test_latency_spikes_slow_transfers_down_but_keep_them_exact(
    s3_proxy: Proxy, bucket: str, tmp_path: Path
) -> None:
    artifact = tmp_path / "tool.jar"
    digest = _random_file(artifact, 3 * MIB)
    store = open_store(f"s3://{bucket}")
    with s3_proxy.toxic("latency", stream="downstream", latency=300, jitter=250):
        started = time.monotonic()
        store.put_file(artifact, "artifacts/tool.jar")
        store.get_file("artifacts/tool.jar", tmp_path / "back.jar")
        assert time.monotonic() - started > 0.3
    assert hashlib.sha256((tmp_path / "back.jar").read_bytes()).hexdigest() == digest


def test_a_bandwidth_limit_slows_an_upload_but_keeps_it_exact(
    s3_proxy: Proxy, bucket: str, tmp_path: Path, moto_endpoint: str
) -> None:
    artifact = tmp_path / "tool.jar"
    digest = _random_file(artifact, 4 * MIB)
    with s3_proxy.toxic("bandwidth", stream="upstream", rate=2048):  # KB/s
        started = time.monotonic()
        open_store(f"s3://{bucket}").put_file(artifact, "artifacts/tool.jar")
        assert time.monotonic() - started > 1.5
    assert _moto_sha256(moto_endpoint, "artifacts/tool.jar") == digest


def test_an_artifact_upload_cut_for_good_leaves_nothing_under_a_content_key(
    s3_proxy: Proxy, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
) -> None:  # fmt: skip
    from scheduler.artifacts import ARTIFACTS_PREFIX, RunArtifacts
    from scheduler.hashindex import HashIndex
    from worker.storage import s3

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setattr(s3, "TRANSFER_RESTART_DELAYS", (0.1,))
    artifacts = {name: f"{name}.jar" for name in ("a", "b")}
    digests = {name: _random_file(tmp_path / path, 20 * MIB) for name, path in artifacts.items()}
    index = HashIndex(tmp_path / "index.json")
    index.hash_ahead(tmp_path / path for path in artifacts.values())
    store = open_store(f"s3://{bucket}/base")
    with (
        s3_proxy.toxic("limit_data", stream="upstream", bytes=2 * MIB),
        pytest.raises(TransientError),
    ):
        RunArtifacts(store, tmp_path, index=index).upload([artifacts])
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # what the server holds
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="base/")
    assert "Contents" not in listed, listed.get("Contents")
    refs = RunArtifacts(store, tmp_path, index=index).upload([artifacts])[0]  # healed
    for name, digest in digests.items():
        assert refs[name].sha256 == digest
        key = f"base/{ARTIFACTS_PREFIX}/{digest}/{name}.jar"
        assert _moto_sha256(moto_endpoint, key) == digest
