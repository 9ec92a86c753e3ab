"""Array jobs: how a child's id names its parent and index, and what a parent's summary says.

A run is submitted as array jobs; Batch names each child ``<parent id>:<index>``, which is
also how the run's manifest records it. From a list of such ids the scheduler knows which
parents to poll (one DescribeJobs per 100 parents) instead of describing every child.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

#: The statuses a child can be in; a parent's ``statusSummary`` counts children per status.
DONE_STATUSES = ("SUCCEEDED", "FAILED")


def child_id(parent: str, index: int) -> str:
    return f"{parent}:{index}"


def split_child_id(job_id: str) -> tuple[str, int] | None:
    """``(parent id, index)`` of a child's id; None for any other job id."""
    parent, sep, index = job_id.rpartition(":")
    if not sep or not parent or not index.isdigit():
        return None
    return parent, int(index)


@dataclasses.dataclass(frozen=True)
class Units:
    """What to poll for a set of job ids: array parents (with their children's ids, in index
    order) and plain jobs."""

    parents: Mapping[str, tuple[str, ...]]
    plain: tuple[str, ...]


def units_of(job_ids: Iterable[str]) -> Units:
    parents: dict[str, list[tuple[int, str]]] = {}
    plain: list[str] = []
    for job_id in dict.fromkeys(job_ids):
        split = split_child_id(job_id)
        if split is None:
            plain.append(job_id)
        else:
            parents.setdefault(split[0], []).append((split[1], job_id))
    return Units(
        {parent: tuple(i for _, i in sorted(children)) for parent, children in parents.items()},
        tuple(plain),
    )


def summary_key(summary: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """A parent's ``statusSummary`` without the zero counts (moto lists every status, Batch
    may leave some out): two summaries with the same key describe the same state."""
    return tuple(sorted((status, int(n)) for status, n in summary.items() if int(n)))


def summary_done(summary: Mapping[str, int], size: int) -> int:
    """How many of the ``size`` children have ended, by the summary."""
    return min(size, sum(int(summary.get(status, 0)) for status in DONE_STATUSES))
