"""Stopping jobs: a whole run (its array jobs and plain jobs) or one job or array child.

TerminateJob on an array parent stops its children that have not started (Batch cancels
them with it); children already STARTING or RUNNING need a TerminateJob of their own (Batch's
CancelJob/TerminateJob documentation), so only those are described and terminated one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from scheduler.arrays import summary_done, units_of
from scheduler.batch import BatchClient, JobDescription, JobStatus

log = logging.getLogger(__name__)

_STARTED = (JobStatus.STARTING, JobStatus.RUNNING)


def _unfinished(job: JobDescription) -> bool:
    if job.array_size:  # a parent's own status lags its children: count them
        return summary_done(job.status_summary, job.array_size) < job.array_size
    return not job.status.done


def cancel_jobs(batch: BatchClient, job_ids: Sequence[str], reason: str) -> list[JobDescription]:
    """Terminate each unfinished job of ``job_ids`` (array parents, plain jobs or children)
    and the started children of the parents among them; the jobs terminated."""
    terminated: list[JobDescription] = []
    for job in batch.describe_jobs(job_ids):
        if not _unfinished(job):
            continue
        batch.terminate_job(job.job_id, reason)
        terminated.append(job)
        log.info("terminated %s (%s)", job.job_id, job.name)
        if job.array_size and any(job.status_summary.get(s.value) for s in _STARTED):
            for child in batch.describe_children(job):
                if child.status in _STARTED:
                    batch.terminate_job(child.job_id, reason)
                    terminated.append(child)
                    log.info("terminated %s (%s)", child.job_id, child.name)
    return terminated


def cancel_run(
    batch: BatchClient, job_ids: Sequence[str], reason: str = "cancelled by the operator"
) -> list[JobDescription]:
    """Terminate every unfinished job of a run, given its jobs' ids (array children as
    ``<parent>:<index>``): one TerminateJob per array job, not per child."""
    units = units_of(job_ids)
    return cancel_jobs(batch, [*units.parents, *units.plain], reason)
