"""The streaming extractor (worker/untar.py) and the stages feeding it (worker/dataset.py), on
real files: bytes, modes, times and links exactly as the archive says, and every refusal."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
import zstandard

from tests.archives import build_tar, member
from worker import dataset
from worker.dataset import extract_stream
from worker.errors import ConfigError, TransientError, UnsafeArchiveError
from worker.untar import ChunkReader, Extractor


def extract(tar: bytes, target: Path, chunk: int = 1000) -> str | None:
    """Extract a plain tar, handed over in chunks of ``chunk`` bytes (boundaries everywhere)."""
    pieces = iter([tar[i : i + chunk] for i in range(0, len(tar), chunk)] + [b""])
    return Extractor(target).extract_all(ChunkReader(lambda: next(pieces)))


def regular(name: str, data: bytes, mode: int, mtime: int = 1_700_000_000) -> tuple:
    info, _ = member(name, data)
    info.mode, info.mtime = mode, mtime
    return info, data


def test_bytes_modes_and_times_come_out_exactly(tmp_path: Path) -> None:
    payload = {name: os.urandom(size) for name, size in [("a", 0), ("b", 1), ("c", 3_000_001)]}
    tar = build_tar(
        [
            member("db/", kind=tarfile.DIRTYPE),
            regular("db/a", payload["a"], 0o644, mtime=1_600_000_000),
            regular("db/sub/deeper/b", payload["b"], 0o755),  # parents made on the way
            regular("db/c", payload["c"], 0o4775),  # setuid, group write: dropped
            regular("db/ro", b"r", 0o400),  # owner read/write always
            regular("db/odd", b"o", 0o071),  # others' exec bits without the owner's: cleared
        ]
    )
    assert extract(tar, tmp_path) == "db"
    db = tmp_path / "db"
    assert (db / "a").read_bytes() == b"" and (db / "sub/deeper/b").read_bytes() == payload["b"]
    assert (db / "c").read_bytes() == payload["c"]
    names = ["a", "sub/deeper/b", "c", "ro", "odd"]
    modes = {p: stat.S_IMODE((db / p).stat().st_mode) for p in names}
    assert modes == {"a": 0o644, "sub/deeper/b": 0o755, "c": 0o755, "ro": 0o600, "odd": 0o640}
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:  # tarfile's data filter agrees
        for name in names:
            filtered = tarfile.data_filter(archive.getmember(f"db/{name}"), str(tmp_path))
            assert filtered.mode == modes[name], name
    assert (db / "a").stat().st_mtime == 1_600_000_000
    assert (db / "c").stat().st_mtime == 1_700_000_000


def test_directories_get_their_times_after_their_contents(tmp_path: Path) -> None:
    top, _ = member("db/", kind=tarfile.DIRTYPE)
    top.mtime = 1_500_000_000
    extract(build_tar([(top, None), regular("db/f", b"x", 0o644)]), tmp_path)
    assert (tmp_path / "db").stat().st_mtime == 1_500_000_000


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_in_gnu_and_pax_archives(tmp_path: Path, fmt: int) -> None:
    name = "db/" + "/".join(["d" * 60] * 4) + "/" + "f" * 120
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        info = tarfile.TarInfo(name)
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
        link = tarfile.TarInfo("db/link")
        link.type, link.linkname = tarfile.SYMTYPE, name[3:]
        tar.addfile(link)
    extract(buf.getvalue(), tmp_path)
    assert (tmp_path / name).read_bytes() == b"hello"
    assert (tmp_path / "db/link").read_bytes() == b"hello"


def test_links_inside_are_made(tmp_path: Path) -> None:
    tar = build_tar(
        [
            member("db/", kind=tarfile.DIRTYPE),
            regular("db/data/f", b"content", 0o640),
            member("db/sym", kind=tarfile.SYMTYPE, link="data/f"),
            member("db/hard", kind=tarfile.LNKTYPE, link="db/data/f"),
            member("db/dirlink", kind=tarfile.SYMTYPE, link="data"),
            regular("db/dirlink/through", b"t", 0o644),  # through a link that stays inside
        ]
    )
    extract(tar, tmp_path)
    db = tmp_path / "db"
    assert os.readlink(db / "sym") == "data/f"
    assert (db / "hard").stat().st_ino == (db / "data/f").stat().st_ino
    assert (db / "data/through").read_bytes() == b"t"


def test_a_later_duplicate_replaces_a_symlink_and_never_writes_through_it(tmp_path: Path) -> None:
    tar = build_tar(
        [
            member("db/", kind=tarfile.DIRTYPE),
            regular("db/target", b"original", 0o644),
            member("db/name", kind=tarfile.SYMTYPE, link="target"),
            regular("db/name", b"replacement", 0o644),
            regular("db/target", b"second", 0o600),
        ]
    )
    extract(tar, tmp_path)
    assert not (tmp_path / "db/name").is_symlink()
    assert (tmp_path / "db/name").read_bytes() == b"replacement"
    assert (tmp_path / "db/target").read_bytes() == b"second"
    assert stat.S_IMODE((tmp_path / "db/target").stat().st_mode) == 0o600


HOSTILE = {
    "a link to the target's root, then a link through it to its parent": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/root", kind=tarfile.SYMTYPE, link=".."),
        member("db/up", kind=tarfile.SYMTYPE, link="root/.."),
    ],
    "dot-dot after a link to the root": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/root", kind=tarfile.SYMTYPE, link=".."),
        member("db/root2", kind=tarfile.SYMTYPE, link="root/db/root"),
        member("db/root2/../escaped"),
    ],
    "a hard link through a symlink to outside": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/root", kind=tarfile.SYMTYPE, link=".."),
        member("db/hard", kind=tarfile.LNKTYPE, link="db/root/../secret"),
    ],
    "a FIFO": [member("db/", kind=tarfile.DIRTYPE), member("db/fifo", kind=tarfile.FIFOTYPE)],
    "a character device": [
        member("db/", kind=tarfile.DIRTYPE),
        member("db/null", kind=tarfile.CHRTYPE),
    ],
    "a block device": [member("db/", kind=tarfile.DIRTYPE), member("db/sda", kind=tarfile.BLKTYPE)],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_and_nothing_lands_outside(tmp_path: Path, case: str) -> None:
    target = tmp_path / "box" / "staging"
    target.mkdir(parents=True)
    (tmp_path / "box" / "secret").write_text("secret")
    with pytest.raises(UnsafeArchiveError, match="refused"):
        extract(build_tar(HOSTILE[case]), target)
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["secret", "staging"]
    assert not any(
        p.is_symlink() and not p.resolve().is_relative_to(target) for p in target.rglob("*")
    )


def test_a_truncated_archive_is_damaged(tmp_path: Path) -> None:
    tar = build_tar([member("db/", kind=tarfile.DIRTYPE), regular("db/f", bytes(5000), 0o644)])
    with pytest.raises(ConfigError, match="unexpected end of data"):
        extract(tar[: 1536 + 1000], tmp_path)


def test_a_hard_link_to_nothing_is_a_config_error(tmp_path: Path) -> None:
    tar = build_tar(
        [member("db/", kind=tarfile.DIRTYPE), member("db/h", kind=tarfile.LNKTYPE, link="db/x")]
    )
    with pytest.raises(ConfigError, match="does not name an earlier file"):
        extract(tar, tmp_path)


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar makes the sparse archive")
@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_sparse_files_from_gnu_tar(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "src" / "db"
    src.mkdir(parents=True)
    with (src / "sparse.bin").open("wb") as fh:
        fh.write(b"head")
        fh.seek(3 * 1024 * 1024)
        fh.write(b"middle")
        fh.seek(8 * 1024 * 1024 - 4)
        fh.write(b"tail")
    expected = (src / "sparse.bin").read_bytes()
    archive = tmp_path / "sparse.tar"
    subprocess.run(
        ["tar", f"--format={fmt}", "-S", "-cf", str(archive), "-C", str(src.parent), "db"],
        check=True,
    )
    with tarfile.open(archive) as tar:
        assert tar.getmember("db/sparse.bin").sparse, "GNU tar did not store it sparse"
    out = tmp_path / "out"
    out.mkdir()
    extract(archive.read_bytes(), out, chunk=4096)
    assert (out / "db/sparse.bin").read_bytes() == expected


def test_the_chunk_reader_reads_across_chunks_and_only_forward() -> None:
    pieces = iter([b"abc", b"defgh", b"i", b""])
    reader = ChunkReader(lambda: next(pieces))
    assert reader.read(2) == b"ab" and reader.read(4) == b"cdef"
    assert reader.seek(7) == 7 and reader.tell() == 7
    with pytest.raises(OSError, match="forward"):
        reader.seek(3)
    assert [bytes(v) for v in reader.views(10)] == [b"h", b"i"]
    assert reader.read(1) == b"" and reader.tell() == 9


# --------------------------------------------------------------------------- the stages


def good_tar(files: int = 20, size: int = 300_000) -> tuple[bytes, dict[str, bytes]]:
    payload = {f"db/d{i % 3}/f{i}": os.urandom(size // 2) + bytes(size // 2) for i in range(files)}
    tar = build_tar(
        [member("db/", kind=tarfile.DIRTYPE)]
        + [regular(name, data, 0o644) for name, data in payload.items()]
    )
    return tar, payload


def tree(target: Path) -> dict[str, bytes]:
    return {str(p.relative_to(target)): p.read_bytes() for p in target.rglob("*") if p.is_file()}


@pytest.mark.parametrize("compression", ["zst", "gz"])
def test_several_frames_or_members_and_trailing_bytes_are_read_and_hashed(
    tmp_path: Path, compression: str
) -> None:
    tar, payload = good_tar()
    half = len(tar) // 2
    compress = zstandard.ZstdCompressor().compress if compression == "zst" else gzip.compress
    raw = compress(tar[:half]) + compress(tar[half:])  # pzstd, pigz and cat make these
    digest = extract_stream(io.BytesIO(raw), compression, tmp_path)
    assert digest == hashlib.sha256(raw).hexdigest()
    assert tree(tmp_path) == payload


def test_decompressed_chunks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small archive of zeros inflates a thousandfold; no chunk may hold all of it."""
    zeros = bytes(64 * 1024 * 1024)
    monkeypatch.setattr(dataset, "_OUT_CHUNK", 1 << 20)
    for compression, raw in [
        ("zst", zstandard.ZstdCompressor().compress(zeros)),
        ("gz", gzip.compress(zeros, 1)),
    ]:
        source = dataset._QueueReader(iter([raw, b""]).__next__)
        inflate = dataset._unzstd if compression == "zst" else dataset._gunzip
        sizes = [len(c) for c in inflate(source)]
        assert sum(sizes) == len(zeros) and max(sizes) <= 1 << 20, compression


@pytest.mark.parametrize("compression", ["zst", "gz"])
def test_garbage_is_a_config_error(tmp_path: Path, compression: str) -> None:
    with pytest.raises(ConfigError, match=r"zstd|damaged"):
        extract_stream(io.BytesIO(b"\x28\xb5\x2f\xfd garbage" * 50), compression, tmp_path)


class BreaksAfter(io.BytesIO):
    """A download stream that fails for good after ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self.limit = limit

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.limit:
            raise TransientError("the network went away")
        return super().read(size)


@pytest.mark.timeout(60)  # a stage thread left waiting would hang extract_stream's close
def test_a_download_failing_midway_raises_in_the_caller_and_stops_the_threads(
    tmp_path: Path,
) -> None:
    tar, _ = good_tar(files=40)
    raw = zstandard.ZstdCompressor().compress(tar)
    before = threading.active_count()
    with pytest.raises(TransientError, match="went away"):
        extract_stream(BreaksAfter(raw, len(raw) // 2), "zst", tmp_path)
    assert threading.active_count() == before


@pytest.mark.timeout(60)
def test_an_extraction_error_stops_the_download_thread(tmp_path: Path) -> None:
    tar = build_tar([member("db/", kind=tarfile.DIRTYPE), member("db/fifo", kind=tarfile.FIFOTYPE)])
    raw = zstandard.ZstdCompressor().compress(tar + os.urandom(8 * 1024 * 1024))
    before = threading.active_count()
    with pytest.raises(UnsafeArchiveError):
        extract_stream(io.BytesIO(raw), "zst", tmp_path)
    assert threading.active_count() == before
