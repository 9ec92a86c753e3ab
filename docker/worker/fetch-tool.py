"""Fetch a tool's release tarball into a directory while building the worker image.

Usage: fetch-tool.py URL DEST [SHA256]. With SHA256, a download of other content is refused.
The tarball's single top-level directory is stripped; members that would land outside DEST are
refused (tarfile's 'data' filter).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path


def main(url: str, dest: str, sha256: str = "") -> None:
    target = Path(dest)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "tool.tar.gz"
        with urllib.request.urlopen(url, timeout=120) as resp, archive.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(resp, out)
        if sha256:
            digest = hashlib.sha256(archive.read_bytes()).hexdigest()
            if digest != sha256.lower():
                sys.exit(f"{url}: SHA-256 {digest}, expected {sha256}")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        entries = list(unpacked.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
        shutil.copytree(root, target, dirs_exist_ok=True)
    print(f"installed {url} into {target}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
