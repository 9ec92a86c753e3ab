"""Datasets fetched from S3 (moto server): what is asked of the server (counted from its own
request log) and what lands on disk, byte for byte and mode for mode."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from scheduler.sandbox.moto_server import MotoServer
from tests.archives import member, write_archive
from worker import aws as aws_clients
from worker.dataset import fetch_dataset
from worker.errors import ConfigError
from worker.params import ArtifactRef
from worker.storage.s3 import S3Store

BUCKET = "dataset-fetch"
KEY = "datasets/db.tar.zst"


@pytest.fixture
def store(aws: MotoServer) -> S3Store:
    aws_clients.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    return S3Store(f"s3://{BUCKET}")


def _archive(tmp_path: Path) -> tuple[Path, dict[str, tuple[bytes, int]]]:
    files = {
        "db/neostore.db": (os.urandom(3_000_000) + bytes(3_000_000), 0o644),
        "db/bin/tool": (b"#!/bin/sh\necho hi\n", 0o755),
        "db/schema/index-0.bin": (os.urandom(1000), 0o600),
    }
    members = [member("db/", kind=tarfile.DIRTYPE)]
    for name, (data, mode) in files.items():
        info, _ = member(name, data)
        info.mode = mode
        members.append((info, data))
    members.append(member("db/current", kind=tarfile.SYMTYPE, link="neostore.db"))
    return write_archive(tmp_path / "db.tar.zst", members), files


def _dataset_requests(server: MotoServer, offset: int) -> list[str]:
    return [method for method, path in server.requests_since(offset) if KEY in path]


def test_a_dataset_with_its_sha256_costs_one_get_and_comes_out_exactly(
    aws: MotoServer, store: S3Store, tmp_path: Path
) -> None:
    archive, files = _archive(tmp_path)
    info = store.put_file(archive, KEY)
    offset = aws.log_offset()
    dataset = fetch_dataset(ArtifactRef(info.uri, info.sha256, info.size), tmp_path / "cache")
    assert _dataset_requests(aws, offset) == ["GET"]  # no HEAD first
    assert dataset.sha256 == info.sha256 and dataset.path.name == "db"
    for name, (data, mode) in files.items():
        path = dataset.path.parent / name
        assert path.read_bytes() == data, name
        assert stat.S_IMODE(path.stat().st_mode) == mode, name
    assert os.readlink(dataset.path / "current") == "neostore.db"


def test_a_dataset_without_its_sha256_is_looked_up_first(
    aws: MotoServer, store: S3Store, tmp_path: Path
) -> None:
    archive, _ = _archive(tmp_path)
    info = store.put_file(archive, KEY)
    offset = aws.log_offset()
    dataset = fetch_dataset(ArtifactRef(info.uri, None, info.size), tmp_path / "cache")
    assert _dataset_requests(aws, offset) == ["HEAD", "GET"]  # the cache key needs the ETag
    assert dataset.sha256 == info.sha256  # the recorded sha256 is still checked


def test_a_missing_dataset_is_a_config_error_and_leaves_no_cache(
    store: S3Store, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    ref = ArtifactRef(store.uri(KEY), "0" * 64, 10)
    with pytest.raises(ConfigError, match=f"dataset {store.uri(KEY)}: .*no such object"):
        fetch_dataset(ref, cache)
    assert not cache.exists() or list(cache.iterdir()) == []
