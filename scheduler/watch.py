"""Watching a run: a generator of job state changes, with injected sleep and clock.

The run's jobs come from its manifest (``runs/<run_id>/manifest.json``), so any machine can
re-attach. Each poll describes the array parents and unfinished plain jobs, and an array's
children only when its status summary changed (:mod:`scheduler.poll`); it yields an
:class:`Update` only when some job changed (status, reason or attempt count); the caller
decides how to show it. Queued/started/done times come from Batch's own timestamps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from scheduler.batch import BatchClient, JobDescription, JobStatus
from scheduler.errors import JobsFailedError, WatchTimeoutError
from scheduler.plan import read_manifest
from scheduler.poll import DEFAULT_CHILD_REFRESH, RunPoller
from scheduler.submit import job_ids_of
from worker.errors import ConfigError, NotFoundError
from worker.resultsdb import JobRecord
from worker.storage import Store

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 10.0
JOBS_FILE = "jobs.json"


@dataclasses.dataclass(frozen=True)
class Change:
    job: JobDescription
    previous: JobStatus | None
    #: Ended attempts before this change (see :attr:`Attempt.ended`).
    previous_attempts: int = 0

    @property
    def retried(self) -> bool:
        """An attempt ended and Batch queued another one."""
        return self.job.ended_attempts > self.previous_attempts and not self.job.status.done


@dataclasses.dataclass(frozen=True)
class Update:
    """One poll's changes and the state of every job seen so far (an array's children appear
    once Batch has created them)."""

    changes: tuple[Change, ...]
    jobs: Mapping[str, JobDescription]
    elapsed: float
    #: How many jobs the run has (``jobs`` may not hold them all yet).
    total: int = 0

    @property
    def done(self) -> bool:
        return len(self.jobs) >= self.total and all(j.status.done for j in self.jobs.values())


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    jobs: tuple[JobDescription, ...]

    @property
    def failed(self) -> tuple[JobDescription, ...]:
        return tuple(j for j in self.jobs if j.status is JobStatus.FAILED)

    @property
    def succeeded(self) -> bool:
        return bool(self.jobs) and not self.failed and all(j.status.done for j in self.jobs)


def _key(job: JobDescription) -> tuple[JobStatus, str, int]:
    return job.status, job.reason, job.ended_attempts


def iter_updates(
    batch: BatchClient,
    job_ids: Sequence[str],
    *,
    interval: float = DEFAULT_INTERVAL,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    names: Mapping[str, str] | None = None,
    refresh: float = DEFAULT_CHILD_REFRESH,
) -> Iterator[Update]:
    """Poll until every job is done; yield an :class:`Update` whenever something changed.

    ``job_ids``: plain jobs and array children (``<parent>:<index>``), whose parents are
    polled instead (:class:`scheduler.poll.RunPoller`). ``names``: the jobs' own names (an
    array child carries its parent's name on Batch). Raises :class:`WatchTimeoutError` when
    ``timeout`` seconds pass first (the jobs keep running) and :class:`NotFoundError` when
    Batch no longer knows a job.
    """
    start = clock()
    expected = list(dict.fromkeys(job_ids))
    poller = RunPoller(batch, expected, refresh=refresh)
    states: dict[str, JobDescription] = {}
    while True:
        changes = []
        for job_id, described in poller.poll(clock()).items():
            job = described
            if names and job_id in names:
                job = dataclasses.replace(described, name=names[job_id])
            before = states.get(job_id)
            if before is None or _key(before) != _key(job):
                changes.append(
                    Change(
                        job,
                        before.status if before else None,
                        before.ended_attempts if before else job.ended_attempts,
                    )
                )
            states[job_id] = job
        pending = [i for i in expected if i not in states or not states[i].status.done]
        if changes:
            ordered = {i: states[i] for i in expected if i in states}
            yield Update(tuple(changes), ordered, clock() - start, len(expected))
        if not pending:
            return
        if timeout is not None and clock() - start + interval > timeout:
            raise WatchTimeoutError(
                f"{len(pending)} job(s) still unfinished after {timeout:.0f}s; they keep "
                "running: watch again or cancel the run"
            )
        sleep(interval)


def run_jobs(
    store: Store, run_id: str, manifest: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Batch job id -> job name of a run, from its manifest (read unless given)."""
    jobs = job_ids_of(manifest if manifest is not None else read_manifest(store, run_id))
    if not jobs:
        raise NotFoundError(f"run {run_id}: its manifest lists no submitted Batch jobs")
    return jobs


def outcome(jobs: Mapping[str, JobDescription]) -> RunOutcome:
    return RunOutcome(tuple(jobs.values()))


def check_outcome(result: RunOutcome, describe_log: Callable[[JobDescription], str]) -> None:
    """Raise :class:`JobsFailedError` listing each failed job, its reason and its log."""
    if not result.failed:
        return
    lines = [
        f"{j.name} (job {j.job_id}): {j.reason or 'no reason given'}; logs: {describe_log(j)}"
        for j in result.failed
    ]
    raise JobsFailedError(f"there are failed jobs ({len(lines)}):\n" + "\n".join(lines))


def record_jobs(store: Store, run_id: str, jobs: Mapping[str, JobDescription]) -> str:
    """Write ``runs/<run_id>/jobs.json``: each job's status, reason and times."""
    data: list[dict[str, Any]] = [
        {
            "job_id": j.job_id,
            "name": j.name,
            "status": j.status.value,
            "status_reason": j.reason,
            "queued_at": j.created_at,
            "run_at": j.started_at,
            "done_at": j.stopped_at,
            "attempts": len(j.attempts),
            "log_group": j.log_group,
            "log_stream_name": j.log_stream,
        }
        for j in jobs.values()
    ]
    info = store.put_bytes(
        f"runs/{run_id}/{JOBS_FILE}",
        json.dumps(data, indent=2, sort_keys=True).encode(),
        content_type="application/json",
    )
    return info.uri


def _iso(millis: int | None) -> str | None:
    if millis is None:
        return None
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat(timespec="milliseconds")


def job_records(manifest: Mapping[str, Any], jobs: Mapping[str, JobDescription]) -> list[JobRecord]:
    """The results store's ``Job`` records of a run: one per Batch job, linked to its test run
    (queued/started/done times, status, reason, log stream)."""
    batch = manifest.get("batch") or {}
    test_run_of = {job_id: test_run for test_run, job_id in (batch.get("job_ids") or {}).items()}
    return [
        JobRecord(
            job_id=job.job_id,
            test_run_id=test_run_of[job.job_id],
            name=job.name,
            queue=str(batch.get("job_queue") or ""),
            status=job.status.value,
            status_reason=job.reason,
            log_stream_name=job.log_stream or "",
            queued_at=_iso(job.created_at),
            started_at=_iso(job.started_at),
            done_at=_iso(job.stopped_at),
        )
        for job in jobs.values()
        if job.job_id in test_run_of
    ]


#: The longest pause between two polls (Batch keeps its jobs for days; an hour is plenty).
MAX_INTERVAL = 3600.0


def check_watch_options(interval: float, timeout: float | None) -> None:
    """ConfigError for a poll interval or a deadline that makes no sense."""
    problems = []
    if not 0 < interval <= MAX_INTERVAL:
        problems.append(
            f"interval (--interval): {interval} is not between 0 and {MAX_INTERVAL:.0f}"
        )
    if timeout is not None and timeout < 0:
        problems.append(f"timeout (--timeout): {timeout} is negative")
    if problems:
        raise ConfigError(problems)


def watch_run(
    batch: BatchClient,
    store: Store,
    run_id: str,
    *,
    on_update: Callable[[Update], None],
    write_jobs: Callable[[Sequence[JobRecord]], None],
    interval: float = DEFAULT_INTERVAL,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RunOutcome:
    """``invoke watch``: follow a run's jobs (from its manifest) until they end, handing each
    update to ``on_update``. Whatever happens (the end, a timeout, Ctrl-C), the jobs seen so
    far are kept, as the original did: ``runs/<run>/jobs.json`` and one ``Job`` record each
    (``write_jobs``)."""
    check_watch_options(interval, timeout)
    manifest = read_manifest(store, run_id)
    jobs = run_jobs(store, run_id, manifest)
    states: dict[str, JobDescription] = {}
    try:
        for update in iter_updates(
            batch,
            list(jobs),
            interval=interval,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            names=jobs,
        ):
            states = dict(update.jobs)
            on_update(update)
    finally:
        if states:
            record_jobs(store, run_id, states)
            write_jobs(job_records(manifest, states))
    return outcome(states)
