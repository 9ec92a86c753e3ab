"""Progress of long transfers and waits, for people: on stderr, never on stdout.

On a terminal, ``rich`` draws one live bar per transfer (done / total, rate, time left) below
the log lines, and replaces it by one plain line when the transfer ends, so nothing runs into
the next line. Anywhere else (CI logs, Batch's CloudWatch stream) there is no bar: a plain
line every ``interval`` seconds while it runs, and one when it ends. The counting side is the
storage layer's ``ProgressCallback`` (bytes as they pass), so any transfer can report here;
callbacks may come from several threads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

#: Seconds between plain progress lines when the stream is not a terminal.
PLAIN_INTERVAL = 15.0


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} GiB"


def _amount(value: float, unit: str) -> str:
    return human_bytes(value) if unit == "bytes" else f"{int(value)}"


class ProgressBoard:
    """Several concurrent transfers (or one count, such as jobs done) on one stream."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval: float = PLAIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        live: bool | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._rich: Any = None
        self._handlers: list[tuple[logging.StreamHandler[Any], Any]] = []
        if self.live:
            self._rich = _rich_progress(self.stream)
            self._rich.start()
            self._route_logging_above_the_bars()

    def _route_logging_above_the_bars(self) -> None:
        """Log records written straight to the stream would run into the bars: while they
        show, the root logger's handlers on this stream write through rich's proxy."""
        proxy = sys.stderr  # rich's FileProxy while redirect_stderr is on
        if proxy is self.stream:
            return
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.stream:
                self._handlers.append((handler, handler.setStream(proxy)))

    def task(self, label: str, total: float | None = None, unit: str = "bytes") -> Transfer:
        """Start showing one transfer; call it with each increment, ``close()`` it at the end."""
        return Transfer(self, label, total, unit)

    def write(self, line: str) -> None:
        """A log line that must not collide with the bars."""
        with self._lock:
            if self._rich is not None:
                self._rich.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                self.stream.write(line + "\n")
                self.stream.flush()

    def close(self) -> None:
        for handler, stream in self._handlers:
            handler.setStream(stream)
        self._handlers.clear()
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def __enter__(self) -> ProgressBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transfer:
    """One transfer's counter; a ``ProgressCallback`` (call it with byte counts)."""

    def __init__(self, board: ProgressBoard, label: str, total: float | None, unit: str) -> None:
        self.board = board
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0.0
        self.started = self._last_line = board.clock()
        self._closed = False
        self._task_id: Any = None
        if board._rich is not None:
            self._task_id = board._rich.add_task(label, total=total, unit=unit)

    def __call__(self, amount: float) -> None:
        with self.board._lock:
            self.done += amount
            if self._task_id is not None:
                self.board._rich.update(self._task_id, completed=self.done)
                return
            now = self.board.clock()
            if now - self._last_line < self.board.interval:
                return
            self._last_line = now
        self.board.write(self.status_line(final=False))

    def set_total(self, total: float) -> None:
        with self.board._lock:
            self.total = total
            if self._task_id is not None:
                self.board._rich.update(self._task_id, total=total)

    def status_line(self, *, final: bool) -> str:
        elapsed = max(self.board.clock() - self.started, 1e-6)
        done = _amount(self.done, self.unit)
        if self.unit == "bytes":
            rate = f"{human_bytes(self.done / elapsed)}/s"
            if final:
                return f"{self.label}: {done} in {elapsed:.1f} s ({rate})"
            if self.total:
                left = (self.total - self.done) / max(self.done / elapsed, 1e-9)
                pct = 100 * self.done / self.total
                return (
                    f"{self.label}: {done} of {human_bytes(self.total)} ({pct:.0f}%), {rate}, "
                    f"{left:.0f} s left"
                )
            return f"{self.label}: {done}, {rate}"
        of = f"/{_amount(self.total, self.unit)}" if self.total is not None else ""
        return f"{self.label}: {done}{of} {self.unit} after {elapsed:.0f} s"

    def close(self, *, quiet: bool = False) -> None:
        """End the transfer: its bar goes, one line says what it did (unless ``quiet``)."""
        if self._closed:
            return
        self._closed = True
        if self._task_id is not None:
            self.board._rich.remove_task(self._task_id)
        if not quiet:
            self.board.write(self.status_line(final=True))


class TransferProgress(Transfer):
    """A single transfer with a board of its own: ``TransferProgress("uploading", total)``."""

    def __init__(
        self,
        label: str,
        total: float | None = None,
        *,
        stream: TextIO | None = None,
        unit: str = "bytes",
        live: bool | None = None,
        interval: float = PLAIN_INTERVAL,
    ) -> None:
        super().__init__(ProgressBoard(stream, live=live, interval=interval), label, total, unit)

    def close(self, *, quiet: bool = False) -> None:
        super().close(quiet=quiet or not self.done)
        self.board.close()


def _rich_progress(stream: TextIO) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class AmountColumn(ProgressColumn):
        """Bytes as size and rate, counts (jobs) as n/total."""

        def __init__(self) -> None:
            super().__init__()
            self._bytes = DownloadColumn(binary_units=True)
            self._speed = TransferSpeedColumn()
            self._count = MofNCompleteColumn()

        def render(self, task: Any) -> Text:
            if task.fields.get("unit") == "bytes":
                return Text.assemble(self._bytes.render(task), " ", self._speed.render(task))
            return Text.assemble(self._count.render(task), f" {task.fields.get('unit', '')}")

    console = Console(file=stream, stderr=stream is sys.stderr, highlight=False)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        AmountColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=stream is sys.stderr,
    )
