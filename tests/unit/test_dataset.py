"""Dataset fetching: streaming extraction, safety checks and the checksum cache."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from tests.archives import good_dataset, member, write_archive
from worker.dataset import fetch_dataset
from worker.errors import ConfigError, IntegrityError, UnsafeArchiveError
from worker.params import ArtifactRef
from worker.storage.local import LocalStore


def ref_of(path: Path, sha: str | None = "auto") -> ArtifactRef:
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if sha == "auto" else sha
    return ArtifactRef(str(path), digest, path.stat().st_size)


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz", ".tar.zst"])
def test_extracts_both_compressions(tmp_path: Path, suffix: str) -> None:
    archive = good_dataset(tmp_path / f"db{suffix}")
    dataset = fetch_dataset(ref_of(archive), tmp_path / "cache")
    assert dataset.path.name == "db"
    assert (dataset.path / "data" / "file2.bin").read_bytes() == bytes([2]) * 1000
    assert (dataset.path / "current").is_symlink()
    assert dataset.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert not dataset.cached


def test_second_fetch_comes_from_the_cache_without_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = good_dataset(tmp_path / "db.tar.zst")
    first = fetch_dataset(ref_of(archive), tmp_path / "cache")

    def no_download(self: LocalStore, key: str) -> None:
        raise AssertionError("the dataset was downloaded again")

    monkeypatch.setattr(LocalStore, "open_read", no_download)
    second = fetch_dataset(ref_of(archive), tmp_path / "cache")
    assert second.cached and second.path == first.path and second.sha256 == first.sha256


def test_a_cache_hit_by_sha256_does_not_ask_the_store(tmp_path: Path) -> None:
    archive = good_dataset(tmp_path / "db.tar.zst")
    first = fetch_dataset(ref_of(archive), tmp_path / "cache")
    moved = ArtifactRef("s3://no-such-bucket/db.tar.zst", first.sha256, archive.stat().st_size)
    second = fetch_dataset(moved, tmp_path / "cache")  # no S3 endpoint: any request would fail
    assert second.cached and second.path == first.path


def test_no_temporary_copy_of_the_archive_is_written(tmp_path: Path) -> None:
    archive = good_dataset(tmp_path / "db.tar.gz", files=2, size=10)
    cache = tmp_path / "cache"
    fetch_dataset(ref_of(archive), cache)
    leftovers = [p for p in cache.rglob("*") if p.name.endswith((".gz", ".zst", ".tar"))]
    assert leftovers == []


def test_checksum_mismatch_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    archive = good_dataset(tmp_path / "db.tar.gz")
    with pytest.raises(IntegrityError, match="sha256"):
        fetch_dataset(ref_of(archive, sha="0" * 64), tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


MALICIOUS = {
    "absolute path": [member("/etc/evil")],
    "dot-dot": [member("db/", kind=tarfile.DIRTYPE), member("db/../../evil")],
    "symlink outside": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/link", kind=tarfile.SYMTYPE, link="../../etc/passwd"),
    ],
    "absolute symlink": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/link", kind=tarfile.SYMTYPE, link="/etc/passwd"),
    ],
    "hardlink outside": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/hard", kind=tarfile.LNKTYPE, link="../etc/passwd"),
    ],
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_archives_are_refused(tmp_path: Path, case: str) -> None:
    archive = write_archive(tmp_path / "evil.tar.gz", MALICIOUS[case])
    with pytest.raises(UnsafeArchiveError, match="refused"):
        fetch_dataset(ref_of(archive), tmp_path / "cache")
    assert not (tmp_path / "evil").exists()
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([member("a/x"), member("b/y")], "exactly one top-level directory"),
        ([member("file.txt")], "is not a directory"),
        ([], "empty"),
    ],
)
def test_layout_must_be_one_top_level_directory(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], message: str
) -> None:
    archive = write_archive(tmp_path / "bad.tar.zst", members)
    with pytest.raises(ConfigError, match=message):
        fetch_dataset(ref_of(archive), tmp_path / "cache")


def test_damaged_archive(tmp_path: Path) -> None:
    archive = tmp_path / "damaged.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00garbage-not-gzip" * 10)
    with pytest.raises(ConfigError, match="damaged"):
        fetch_dataset(ref_of(archive), tmp_path / "cache")


def test_unsupported_extension(tmp_path: Path) -> None:
    archive = tmp_path / "db.zip"
    archive.write_bytes(b"PK")
    with pytest.raises(ConfigError, match="unsupported archive"):
        fetch_dataset(ref_of(archive), tmp_path / "cache")
