"""Progress on the operator side: the display lives in :mod:`worker.progress` (the worker shows
dataset downloads too); here what the scheduler knows about the size of its transfers."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from scheduler.artifacts import resolve_local
from worker.job import Job
from worker.progress import ProgressBoard, Transfer, TransferProgress

__all__ = [
    "CountProgress",
    "LayerProgress",
    "ProgressBoard",
    "Transfer",
    "TransferProgress",
    "local_artifact_bytes",
]


def local_artifact_bytes(jobs: Iterable[Job], job_dir: Path) -> int:
    """Bytes of the distinct local artifact files of ``jobs``: the upload's total (artifacts
    already stored are skipped by the upload, so the bar may end early; never late)."""
    paths = set()
    for job in jobs:
        for value in job.artifacts.values():
            path = resolve_local(value, job_dir)
            if path is not None and path.is_file():
                paths.add(path.resolve())
    return sum(p.stat().st_size for p in paths)


#: Push statuses after which a layer sends nothing more.
_LAYER_DONE = ("Pushed", "Layer already exists", "Mounted from")


class LayerProgress:
    """``docker push`` on a board: one bar per layer while its bytes go, then one line."""

    def __init__(self, board: ProgressBoard) -> None:
        self.board = board
        self._layers: dict[str, Transfer] = {}

    def __call__(self, layer: str, status: str, current: int, total: int | None) -> None:
        transfer = self._layers.get(layer)
        if status.startswith(_LAYER_DONE):
            if transfer is not None:
                transfer.close()
            return
        if status != "Pushing" or not current:
            return
        if transfer is None:
            transfer = self._layers[layer] = self.board.task(f"layer {layer}", total)
        elif total and transfer.total != total:
            transfer.set_total(total)
        transfer(current - transfer.done)

    def close(self) -> None:
        for transfer in self._layers.values():
            transfer.close(quiet=True)


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
