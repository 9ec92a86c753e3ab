"""Debian's chromium, headless, as the report's reader: the DOM after scripts ran, the console
messages, a screenshot. Each call gets a fresh profile; flags that make it run as root in a
container and stay off the network."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",  # let the page's scripts run before dumping
)

_CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


@dataclasses.dataclass(frozen=True)
class PageView:
    dom: str
    #: Every console message of the page (errors and uncaught exceptions included).
    console: list[str]


def chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is missing: run scripts/install-test-deps.sh")
    return found


def _run(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def open_page(page: Path) -> PageView:
    done = _run(page, "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [m.group(1) for m in map(_CONSOLE.search, done.stderr.splitlines()) if m]
    return PageView(done.stdout, console)


def screenshot(page: Path, out: Path, width: int = 1200, height: int = 1400) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _run(page, f"--window-size={width},{height}", f"--screenshot={out.resolve()}")
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    return out
