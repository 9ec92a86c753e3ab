"""Building dataset archives (good and malicious) for the tests."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

import zstandard


def member(
    name: str, data: bytes = b"x", *, kind: bytes = tarfile.REGTYPE, link: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
        return info, None
    info.linkname = link
    return info, None


def build_tar(members: Iterable[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def write_archive(path: Path, members: Iterable[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    raw = build_tar(members)
    if path.name.endswith(".tar.zst"):
        path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    else:
        import gzip

        path.write_bytes(gzip.compress(raw))
    return path


def good_dataset(path: Path, top: str = "db", files: int = 3, size: int = 1000) -> Path:
    members = [member(f"{top}/", kind=tarfile.DIRTYPE)]
    members += [member(f"{top}/data/file{i}.bin", bytes([i % 256]) * size) for i in range(files)]
    members.append(member(f"{top}/current", kind=tarfile.SYMTYPE, link="data/file0.bin"))
    return write_archive(path, members)
