"""What the quickstart shows, in a real terminal (tmux): upload progress that ends cleanly,
one short line per finished benchmark, the results table intact; JMH's own console output
only in tool.log (or with --verbose)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.cli import run_invoke

REPO = Path(__file__).resolve().parents[2]
QUICK = ["--queries", "StringBuildingBenchmark", "--warmup-count", "1", "--measurement-count", "2"]
LINE = re.compile(r"^StringBuildingBenchmark\.\w+: \S+ ± \S+ us/op \(mean ± sd of 2\)$")


def _in_tmux(command: str, marker: str, timeout: float = 240) -> list[str]:
    session = f"quickstart-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "150", "-y", "50",
         f"{command}; echo {marker}; sleep 60"],
        check=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            time.sleep(0.5)
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-J", "-S", "-500", "-t", session],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
            if marker in lines:
                return lines
        raise AssertionError("no end marker:\n" + "\n".join(lines))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_the_quickstart_run_in_a_terminal(tmp_path: Path, benchmarks_jar: Path) -> None:
    assert shutil.which("tmux"), "tmux is installed by scripts/install-test-deps.sh"
    marker = f"END-{uuid.uuid4().hex[:6]}"
    command = (
        f"cd {REPO} && PYTHONPATH={REPO} {sys.executable} -m invoke run-worker "
        f"examples/jmh-quickstart/job.toml {' '.join(QUICK)} --workspace {tmp_path}"
    )
    lines = _in_tmux(command, marker)
    body = lines[: lines.index(marker)]

    assert sum(1 for x in body if x.startswith("uploading artifacts: 2.8 MiB in ")) == 1
    summaries = [x for x in body if LINE.match(x)]
    assert len(summaries) == 2, body
    assert not any("# JMH version" in x or "Iteration" in x for x in body), body
    assert not any("━" in x for x in body), body  # no progress bar left behind
    header = next(i for i, x in enumerate(body) if x.startswith("test run  started"))
    assert body[header + 1].startswith("--------")
    assert "SUCCEEDED" in body[header + 2] and "jmh-quickstart" in body[header + 2]
    assert body[header + 3].startswith("results: ")
    tool_log = body[header + 4].removeprefix("tool output: ").split(" ")[0]
    assert "# JMH version" in Path(tool_log).read_text()  # the raw output is kept
    assert len(body) < 25, body


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_verbose_shows_the_tools_own_output(tmp_path: Path, benchmarks_jar: Path) -> None:
    done = run_invoke(
        "run-worker", "examples/jmh-quickstart/job.toml", *QUICK,
        "--workspace", str(tmp_path), "--verbose",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "# JMH version" in done.stderr
    assert sum(1 for x in done.stderr.splitlines() if LINE.match(x)) == 2
