"""Progress of long transfers, drawn on a stream the caller owns (stderr in the tasks)."""

from __future__ import annotations

import time
from typing import TextIO


class TransferProgress:
    """A byte counter that redraws at most every ``interval`` seconds."""

    def __init__(self, stream: TextIO, label: str = "transferred", interval: float = 0.5) -> None:
        self.stream = stream
        self.label = label
        self.interval = interval
        self.total = 0
        self._last = 0.0
        self._started = self._finished = time.monotonic()
        self._tty = stream.isatty()

    def __call__(self, nbytes: int) -> None:
        self.total += nbytes
        now = self._finished = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(final=False)

    def _draw(self, *, final: bool) -> None:
        elapsed = max(self._finished - self._started, 1e-6)
        text = (
            f"{self.label}: {self.total / 2**20:.1f} MiB ({self.total / 2**20 / elapsed:.1f} MiB/s)"
        )
        if self._tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.total:
            self._draw(final=True)


class CountProgress:
    """``label: done/total (name)``, redrawn at most every ``interval`` seconds and at the end
    (a long history analysed series by series shows it is moving)."""

    def __init__(self, stream: TextIO, label: str, interval: float = 1.0) -> None:
        self.stream = stream
        self.label = label
        self.interval = interval
        self._last = 0.0
        self._tty = stream.isatty()

    def __call__(self, done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        text = f"{self.label}: {done}/{total}" + (f" ({name})" if done < total else "")
        if self._tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if done == total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
