"""Stopping a job cleanly when it is stopped from outside.

Batch stops a job (timeout, spot interruption, ``terminate-job``, ``docker stop``) with SIGTERM
and sends SIGKILL 30 s later. The worker then has those seconds to stop the benchmark tool and
upload what it has, and must exit with the code Batch retries (75), so that a retry runs the
benchmark again. Ctrl-C (SIGINT) on a local run stops the same way and exits 130.

The worker runs as PID 1 in its container: without a handler of its own, SIGTERM would be
ignored by the kernel and only SIGKILL would end it, losing the logs.

Tool processes start in a session (process group) of their own, so that one signal reaches the
whole tree (a JMH host JVM and its forks); :class:`StopSignal` forwards the signal to every
group it tracks and, when a group is still alive after ``grace_seconds``, kills it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from worker.contract import ExitCode
from worker.errors import BenchInfraError

#: Seconds a tool gets to end after the forwarded signal (Batch allows 30 s in all).
GRACE_SECONDS = 10.0


class JobInterruptedError(BenchInfraError):
    """The job was stopped from outside before it finished."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name} before the job finished")

    @property
    def exit_code(self) -> ExitCode:  # type: ignore[override]
        """SIGTERM (Batch, ``docker stop``): retry. SIGINT (Ctrl-C): the user stopped it."""
        return ExitCode.TRANSIENT if self.signum == signal.SIGTERM else ExitCode.INTERRUPTED


class StopSignal:
    """SIGTERM/SIGINT handling for one worker process (see the module's docstring)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, grace_seconds: float = GRACE_SECONDS) -> None:
        self.grace_seconds = grace_seconds
        self.signum: int | None = None
        self._raised = False
        self._children: set[subprocess.Popen[Any]] = set()
        self._lock = threading.Lock()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignal]:
        """Handle the signals while the block runs; restore them after.

        Only the main thread can handle signals: elsewhere (a job run from a thread) this does
        nothing and the process's own handling stays.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def check(self) -> None:
        """Raise :class:`JobInterruptedError` once a stop was requested (a safe point)."""
        if self.signum is not None and not self._raised:
            self._raised = True
            raise JobInterruptedError(self.signum)

    @contextlib.contextmanager
    def child(self, proc: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
        """Track a tool process (started with ``start_new_session=True``) while it runs.

        After it ends, a pending stop raises :class:`JobInterruptedError`: its non-zero exit code is
        the stop, not a benchmark failure.
        """
        with self._lock:
            self._children.add(proc)
            stopping = self.signum
        if stopping is not None:
            self._stop_group(proc, stopping)
        try:
            yield proc
        finally:
            with self._lock:
                self._children.discard(proc)
        self.check()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            return  # already stopping: let the clean-up finish
        self.signum = signum
        with self._lock:
            children = list(self._children)
        for proc in children:
            self._stop_group(proc, signum)
        if not children:
            self.check()  # nothing to wait for: stop where the worker is

    def _stop_group(self, proc: subprocess.Popen[Any], signum: int) -> None:
        _signal_group(proc, signum)
        timer = threading.Timer(self.grace_seconds, _signal_group, (proc, signal.SIGKILL))
        timer.daemon = True
        timer.start()


def _signal_group(proc: subprocess.Popen[Any], signum: int) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


#: The worker process's one instance: the pipeline installs it, tool adapters track children.
STOP = StopSignal()
