"""Progress display: plain lines off a terminal, bars that end cleanly on a real one (tmux)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from worker.progress import ProgressBoard

REPO = Path(__file__).resolve().parents[2]


def test_off_a_terminal_a_plain_line_every_interval_and_one_at_the_end() -> None:
    out = io.StringIO()
    now = [0.0]
    board = ProgressBoard(out, interval=10.0, clock=lambda: now[0])
    upload = board.task("uploading artifacts", total=100 * 2**20)
    for _ in range(10):
        now[0] += 3.0
        upload(5 * 2**20)
    upload.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "uploading artifacts: 20.0 MiB of 100.0 MiB (20%), 1.7 MiB/s, 48 s left",
        "uploading artifacts: 40.0 MiB of 100.0 MiB (40%), 1.7 MiB/s, 36 s left",
        "uploading artifacts: 50.0 MiB in 30.0 s (1.7 MiB/s)",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_counts_such_as_jobs_done() -> None:
    out = io.StringIO()
    now = [0.0]
    board = ProgressBoard(out, interval=5.0, clock=lambda: now[0])
    jobs = board.task("run r1", total=4, unit="jobs done")
    now[0] = 6.0
    jobs(3)
    assert out.getvalue() == "run r1: 3/4 jobs done after 6 s\n"


SCRIPT = """
import logging, sys, time
from worker.progress import ProgressBoard
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
log = logging.getLogger("demo")
with ProgressBoard() as board:
    first = board.task("uploading benchmarks.jar", total=40 * 2**20)
    second = board.task("uploading macro.jar", total=20 * 2**20)
    for i in range(20):
        first(2**21)
        if i < 10:
            second(2**21)
        if i == 10:
            second.close()
        if i % 5 == 0:
            log.info("log line %d while the bars run", i)
        time.sleep(0.05)
    first.close()
print("| job | status |", file=sys.stderr)
print("| a   | DONE   |", file=sys.stderr)
print("END-OF-DEMO", file=sys.stderr)
"""


@pytest.mark.timeout(120)
def test_on_a_real_terminal_bars_end_cleanly_and_lines_do_not_collide(tmp_path: Path) -> None:
    assert shutil.which("tmux"), "tmux is installed by scripts/install-test-deps.sh"
    script = tmp_path / "demo.py"
    script.write_text(textwrap.dedent(SCRIPT))
    session = f"progress-{uuid.uuid4().hex[:8]}"
    command = f"cd {REPO} && PYTHONPATH={REPO} {sys.executable} {script}; sleep 30"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command],
        check=True,
    )
    try:
        screen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "END-OF-DEMO" not in screen:
            time.sleep(0.3)
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    assert lines[-3:] == ["| job | status |", "| a   | DONE   |", "END-OF-DEMO"]
    body = lines[:-3]
    # every log line whole, on a line of its own; one clean final line per transfer
    for i in (0, 5, 10, 15):
        assert f"INFO log line {i} while the bars run" in body
    assert sum(line.startswith("uploading macro.jar: 20.0 MiB in ") for line in body) == 1
    assert sum(line.startswith("uploading benchmarks.jar: 40.0 MiB in ") for line in body) == 1
    assert len(body) == 6, body
    assert not any("━" in line or "%" in line for line in body), body  # no bar left behind


def test_docker_push_shows_bytes_per_layer_and_one_line_per_pushed_layer() -> None:
    """The engine's push stream as docker-py decodes it (progressDetail per layer)."""
    from scheduler.images import _follow_push
    from scheduler.progress import LayerProgress

    mib = 2**20
    stream = [
        {"status": "The push refers to repository [127.0.0.1:5000/w]"},
        {"status": "Preparing", "progressDetail": {}, "id": "aaa"},
        {"status": "Preparing", "progressDetail": {}, "id": "bbb"},
        {"status": "Layer already exists", "progressDetail": {}, "id": "bbb"},
        {
            "status": "Pushing",
            "progressDetail": {"current": 4 * mib, "total": 8 * mib},
            "id": "aaa",
        },
        {
            "status": "Pushing",
            "progressDetail": {"current": 8 * mib, "total": 8 * mib},
            "id": "aaa",
        },
        {"status": "Pushed", "progressDetail": {}, "id": "aaa"},
        {"status": "t: digest: sha256:abc size: 1"},
        {"progressDetail": {}, "aux": {"Tag": "t", "Digest": "sha256:abc", "Size": 1}},
    ]
    out = io.StringIO()
    ticks = iter(range(100))  # one second per look at the clock
    board = ProgressBoard(out, interval=0.0, clock=lambda: float(next(ticks)), live=False)
    layers = LayerProgress(board)

    digest = _follow_push(stream, "127.0.0.1:5000/w:t", board.write, layers)

    assert digest == "sha256:abc"
    lines = out.getvalue().splitlines()
    assert "layer aaa: 4.0 MiB of 8.0 MiB (50%), 2.0 MiB/s, 2 s left" in lines
    assert sum(line.startswith("layer aaa: 8.0 MiB in") for line in lines) == 1
    assert not any(line.startswith("layer bbb:") for line in lines)  # nothing sent
    assert "bbb: Layer already exists" in lines
