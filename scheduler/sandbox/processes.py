"""Free loopback ports, and waiting for a server process to listen (or to die trying)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import suppress
from pathlib import Path

from scheduler.errors import ServiceStartError

LOG_TAIL_LINES = 15


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a service's log (empty when there is none)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    port: int,
    timeout: float = 60.0,
    host: str = "127.0.0.1",
    *,
    process: subprocess.Popen[bytes] | None = None,
    name: str = "server",
    log: Path | None = None,
) -> None:
    """Return once something listens on ``host:port``.

    With ``process``, a server that exits before it listens is reported at once with the
    cause from its ``log`` (``No module named 'moto'``, a port in use ...) rather than after
    the whole timeout; so is one that never listens.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(host, port):
            return
        if process is not None and process.poll() is not None:
            raise ServiceStartError(_start_failure(name, f"exited with {process.returncode}", log))
        time.sleep(0.1)
    if process is not None:
        stop_process(process.pid)
    raise ServiceStartError(
        _start_failure(name, f"did not listen on {host}:{port} within {timeout:.0f}s", log)
    )


def _start_failure(name: str, what: str, log: Path | None) -> str:
    message = f"{name} {what}"
    if log is None:
        return message
    tail = log_tail(log)
    if not tail:
        return f"{message}; {log} is empty"
    if "Traceback (most recent call last)" in tail:  # a Python server: its last line says why
        return f"{message}: {tail.splitlines()[-1].strip()} (see {log})"
    return f"{message}; the end of {log}:\n{tail}"


def stop_process(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM ``pid`` (then SIGKILL after ``timeout``); False when it was not running."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True
