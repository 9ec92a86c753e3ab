"""The storage contract, run against both real backends: a directory and S3 (moto server)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.sandbox.moto_server import MotoServer
from worker import aws
from worker.errors import ConfigError, IntegrityError, NotFoundError
from worker.storage import Store, open_object, open_store
from worker.storage.s3 import SHA256_META, S3Store

BUCKET = "bench-storage-test"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        yield open_store(f"file://{tmp_path}/store")
        return
    server: MotoServer = request.getfixturevalue("aws")
    aws.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region()}
    )
    assert server.endpoint == os.environ["AWS_ENDPOINT_URL"]
    yield open_store(f"s3://{BUCKET}/prefix")


def test_put_and_get_a_file_with_its_checksum(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(100_000))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    info = store.put_file(src, "dir/a.bin")
    assert info.sha256 == digest and info.size == 100_000
    assert info.uri == store.uri("dir/a.bin")
    head = store.head("dir/a.bin")
    assert head is not None and head.sha256 == digest and head.size == 100_000
    dest = tmp_path / "out" / "a.bin"
    store.get_file("dir/a.bin", dest, expected_sha256=digest)
    assert dest.read_bytes() == src.read_bytes()


def test_a_wrong_checksum_is_detected_and_nothing_is_left(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"hello")
    store.put_file(src, "a.bin")
    dest = tmp_path / "out" / "a.bin"
    with pytest.raises(IntegrityError, match="does not match"):
        store.get_file("a.bin", dest, expected_sha256="0" * 64)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir()] == []


def test_empty_and_small_files_round_trip_with_their_checksums(
    store: Store, tmp_path: Path
) -> None:
    for size in (0, 10, 5000):
        src = tmp_path / f"f{size}"
        src.write_bytes(b"x" * size)
        info = store.put_file(src, f"small/{size}")
        assert info.sha256 == hashlib.sha256(b"x" * size).hexdigest()
        head = store.head(f"small/{size}")
        assert head is not None and (head.size, head.sha256) == (size, info.sha256)
        assert store.get_bytes(f"small/{size}") == b"x" * size
    store.put_bytes("small/empty", b"")
    assert store.get_bytes("small/empty") == b""


def test_missing_objects(store: Store, tmp_path: Path) -> None:
    assert store.head("nope") is None
    with pytest.raises(NotFoundError):
        store.get_bytes("nope")
    with pytest.raises(NotFoundError):
        store.get_file("nope", tmp_path / "x")


def test_bytes_listing_and_streaming(store: Store) -> None:
    store.put_bytes("runs/r1/a.json", b'{"a": 1}')
    store.put_bytes("runs/r1/b.json", b'{"b": 2}')
    store.put_bytes("other/c.json", b"{}")
    assert store.get_bytes("runs/r1/a.json") == b'{"a": 1}'
    assert list(store.iter_keys("runs/")) == ["runs/r1/a.json", "runs/r1/b.json"]
    with store.open_read("runs/r1/b.json") as stream:
        assert stream.read() == b'{"b": 2}'


def test_open_object_splits_a_uri(store: Store) -> None:
    store.put_bytes("x/y.txt", b"y")
    other, key = open_object(store.uri("x/y.txt"))
    assert key == "y.txt" and other.get_bytes(key) == b"y"


def test_multipart_upload_records_the_checksum(aws: MotoServer, tmp_path: Path) -> None:
    aws_client = aws_s3()
    aws_client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(40 * 1024 * 1024))  # > 16 MiB: multipart, several parts
    store = S3Store(f"s3://{BUCKET}")
    moved: list[int] = []
    store.put_file(src, "big.bin", progress=moved.append)
    head = aws_client.head_object(Bucket=BUCKET, Key="big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three 16 MiB parts
    assert head["Metadata"][SHA256_META] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert sum(moved) == src.stat().st_size
    store.get_file("big.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()


def aws_s3():  # type: ignore[no-untyped-def]
    return aws.client("s3")


def test_unknown_scheme_is_bad_config() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        open_store("gs://bucket/x")


def test_local_store_refuses_keys_outside_its_root(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="outside"):
        open_store(str(tmp_path)).get_bytes("../../etc/passwd")
