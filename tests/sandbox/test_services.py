"""The sandbox's services start for real, and one that dies on start says why (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.errors import ServiceStartError
from scheduler.sandbox.moto_server import start_moto_server
from scheduler.sandbox.processes import free_port, stop_process, wait_for_port
from tests.cli import REPO, run_invoke
from worker.contract import ExitCode


def _python_without_site_packages(tmp_path: Path) -> str:
    """A Python that cannot import moto: what `pip install .[ops]` alone leaves behind."""
    wrapper = tmp_path / "python-no-site"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_moto_server_that_dies_on_start_is_reported_with_the_cause_from_its_log(
    tmp_path: Path,
) -> None:
    with pytest.raises(ServiceStartError) as raised:
        start_moto_server(tmp_path, python=_python_without_site_packages(tmp_path))

    message = str(raised.value)
    assert "moto server exited with 1" in message
    assert "No module named 'moto'" in message  # the cause, from moto-server.log
    assert str(tmp_path / "moto-server.log") in message
    assert raised.value.exit_code == ExitCode.BAD_CONFIG


def test_a_server_that_never_listens_is_stopped_and_reported(tmp_path: Path) -> None:
    log = tmp_path / "quiet.log"
    log.write_text("starting up\nstill thinking\n")
    proc = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(ServiceStartError, match="still thinking"):
            wait_for_port(free_port(), timeout=0.5, process=proc, name="quiet", log=log)
        with pytest.raises(ProcessLookupError):  # stopped and reaped, not left behind
            os.kill(proc.pid, 0)
    finally:
        stop_process(proc.pid)


def test_the_moto_server_answers_and_stops(tmp_path: Path) -> None:
    server = start_moto_server(tmp_path)
    try:
        server.reset()  # a real HTTP round trip
    finally:
        assert stop_process(server.pid)
    assert not stop_process(server.pid)


def test_sandbox_up_with_a_broken_moto_exits_2_with_the_cause(tmp_path: Path) -> None:
    """`invoke sandbox-up` as a user runs it, with a moto whose import fails."""
    shadow = tmp_path / "shadow" / "moto"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("import a_dependency_that_is_not_installed\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(shadow.parent), str(REPO)]),
        "INVOKE_BENCH_SANDBOX_DIR": str(tmp_path / "sandbox"),
    }
    done = run_invoke("sandbox-up", "--image", "unused:latest", env=env, timeout=120)

    assert done.returncode == 2, done.stderr
    assert "error: moto server exited with 1" in done.stderr
    assert "No module named 'a_dependency_that_is_not_installed'" in done.stderr
    assert not done.stderr.startswith("Traceback")
    assert done.stdout == ""  # nothing to eval
    assert not (tmp_path / "sandbox" / "state.json").exists()
