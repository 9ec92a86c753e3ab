"""One poll of a run's jobs: array parents first, their children only when something changed.

A poll describes the unfinished array parents and plain jobs (one DescribeJobs per 100: a
run of 1,000 jobs in one array job is one call while nothing changes). A parent's
``arrayProperties.statusSummary`` counts its children per status; only when it differs from
the last poll (or its ``statusSummaryLastUpdatedAt`` moved, or ``refresh`` seconds passed,
which catches two children swapping states between polls) are the parent's unfinished
children described, by id (``<parent>:<index>``), in chunks of 100. Children give the
per-job records: status, reason, attempts, log stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from scheduler.arrays import summary_done, summary_key, units_of
from scheduler.batch import BatchClient, JobDescription
from worker.errors import NotFoundError

#: Describe an array's unfinished children at least this often, even with an unchanged summary.
DEFAULT_CHILD_REFRESH = 300.0


def forgotten(ids: list[str]) -> NotFoundError:
    return NotFoundError(
        f"Batch does not know job(s) {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}; "
        "Batch forgets jobs about 7 days after they end"
    )


@dataclasses.dataclass
class _Parent:
    children: tuple[str, ...]
    summary: object = None
    described_at: float | None = None


class RunPoller:
    """Polls the jobs ``job_ids`` (array children as ``<parent>:<index>``, plain job ids),
    remembering each parent's last summary. :meth:`poll` returns the descriptions it got."""

    def __init__(
        self,
        batch: BatchClient,
        job_ids: Iterable[str],
        *,
        refresh: float = DEFAULT_CHILD_REFRESH,
    ) -> None:
        units = units_of(job_ids)
        self._batch = batch
        self._refresh = refresh
        self._parents = {p: _Parent(children) for p, children in units.parents.items()}
        self._plain = units.plain
        self._done: set[str] = set()

    def poll(self, now: float) -> dict[str, JobDescription]:
        """Describe what may have changed; raises NotFoundError for jobs Batch does not know
        (never seen, or forgotten)."""
        parents = [p for p, s in self._parents.items() if not self._all_done(s.children)]
        plain = [i for i in self._plain if i not in self._done]
        described = {j.job_id: j for j in self._batch.describe_jobs([*parents, *plain])}
        missing = [i for i in [*parents, *plain] if i not in described]
        if missing:
            raise forgotten(missing)
        found = {i: described[i] for i in plain}
        for parent_id in parents:
            found.update(self._children(parent_id, described[parent_id], now))
        for job_id, job in found.items():
            if job.status.done:
                self._done.add(job_id)
        return found

    def _all_done(self, ids: Iterable[str]) -> bool:
        return all(i in self._done for i in ids)

    def _children(
        self, parent_id: str, parent: JobDescription, now: float
    ) -> Mapping[str, JobDescription]:
        state = self._parents[parent_id]
        key = (summary_key(parent.status_summary), parent.summary_updated_at)
        stale = state.described_at is None or now - state.described_at >= self._refresh
        if key == state.summary and not stale:
            return {}
        unfinished = [c for c in state.children if c not in self._done]
        children = {j.job_id: j for j in self._batch.describe_jobs(unfinished)}
        size = parent.array_size or len(state.children)
        if summary_done(parent.status_summary, size) >= size:
            # every child ended: each must be there (children not created yet are fine before)
            gone = [c for c in unfinished if c not in children]
            if gone:
                raise forgotten(gone)
        state.summary, state.described_at = key, now
        return children
