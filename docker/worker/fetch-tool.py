"""Fetch a tool's release tarball into a directory while building the worker image.

Usage: fetch-tool.py URL DEST. The tarball's single top-level directory is stripped; members
that would land outside DEST are refused (tarfile's 'data' filter).
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path


def main(url: str, dest: str) -> None:
    target = Path(dest)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "tool.tar.gz"
        with urllib.request.urlopen(url, timeout=120) as resp, archive.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(resp, out)
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        entries = list(unpacked.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
        shutil.copytree(root, target, dirs_exist_ok=True)
    print(f"installed {url} into {target}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
