"""Which provenance differences make a comparison of two sets of runs questionable.

A 10 % "regression" between an m5d.xlarge and a c5.xlarge, or between JDK 17 and 21, says
nothing about the change under test. ``compare`` names every field that differs so the reader
(or ``--same-provenance``) can decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from worker.resultsdb.base import Provenance

#: Fields whose difference changes performance by itself (commit and build are what differs
#: on purpose; host names and image tags are not performance-relevant).
RELEVANT_FIELDS: tuple[str, ...] = (
    "tool",
    "instance_type",
    "cpu_model",
    "cores",
    "memory_mib",
    "jdk",
    "kernel",
    "jvm_args",
    "dataset_sha256",
)


@dataclasses.dataclass(frozen=True)
class ProvenanceDifference:
    field: str
    base: tuple[str, ...]
    contender: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.field} differs: base {_show(self.base)}, contender {_show(self.contender)}"


def _show(values: tuple[str, ...]) -> str:
    return " | ".join(repr(v) for v in values) if values else "(unknown)"


def _values(runs: Iterable[Provenance], field: str) -> tuple[str, ...]:
    return tuple(sorted({str(getattr(p, field)) for p in runs}))


def provenance_differences(
    base: Iterable[Provenance], contender: Iterable[Provenance]
) -> list[ProvenanceDifference]:
    """One difference per relevant field whose values differ between the two sides."""
    base_runs, contender_runs = list(base), list(contender)
    out = []
    for field in RELEVANT_FIELDS:
        left, right = _values(base_runs, field), _values(contender_runs, field)
        if left != right:
            out.append(ProvenanceDifference(field, left, right))
    return out
