"""Running the tasks as users do: ``python -m invoke ...`` from the repository root."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_invoke(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run one task; never raises on a non-zero exit (tests assert on the result)."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one in-process command ended: its exit code and what it printed."""

    code: int
    stdout: str
    stderr: str


def invoke_in_process(*args: str) -> Outcome:
    """Run ``invoke ARGS`` in this process, through Invoke's own ``Program`` and the project's
    collection (what ``invoke`` does, minus the interpreter start). An exception nobody
    classified propagates, so a test sees the traceback a user would."""
    from invoke.program import Program

    import tasks

    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers = list(root.handlers)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                Program(namespace=tasks.ns, name="invoke", binary="invoke", version="0").run(
                    ["invoke", *args]
                )
            except SystemExit as exc:
                code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        for handler in root.handlers[:]:  # the tasks' logging setup bound the captured stream
            if handler not in handlers:
                root.removeHandler(handler)
    return Outcome(code, out.getvalue(), err.getvalue())
