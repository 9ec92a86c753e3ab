"""``schedule``: validate everything, prepare the run (upload once), submit its jobs."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scheduler.batch import BatchClient, definition_log_group
from scheduler.jobcheck import load_checked_job
from scheduler.plan import (
    check_run_id,
    expand_jobs,
    plan_from_manifest,
    prepare_run,
    read_manifest,
)
from scheduler.progress import TransferProgress, local_artifact_bytes
from scheduler.submit import (
    SubmitSettings,
    SubmittedRun,
    Target,
    check_submit_options,
    submit_run,
)
from worker.errors import ConfigError, NotFoundError
from worker.job import Job
from worker.params import ResultsStoreRef
from worker.storage import ProgressCallback, Store

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ScheduleRequest:
    job_file: Path | None
    options: Mapping[str, Any]
    workloads: Sequence[str] = ()
    partitions: int = 1
    results_store: ResultsStoreRef | None = None


def load_jobs(request: ScheduleRequest) -> tuple[list[Job], Path]:
    """Parse and expand the jobs (raises ConfigError listing every problem)."""
    job, job_dir = load_checked_job(request.job_file, request.options, runs_here=False)
    return expand_jobs(job, workloads=request.workloads, partitions=request.partitions), job_dir


def schedule_run(
    request: ScheduleRequest,
    store: Store,
    target: Target,
    batch: BatchClient,
    *,
    env: str = "",
    timeout_seconds: int | None = None,
    attempts: int | None = None,
    progress: ProgressCallback | None = None,
    run_id: str | None = None,
    loaded: tuple[list[Job], Path] | None = None,
) -> tuple[SubmittedRun, int, int]:
    """Validate, upload, submit. Returns the run and (artifacts uploaded, bytes sent).

    With ``run_id`` of a run whose manifest exists, the run is resumed instead: its prepared
    jobs are submitted where an earlier, interrupted ``schedule`` did not get to them, and none
    twice (:func:`scheduler.submit.submit_run`). A new ``run_id`` names a new run.
    ``loaded``: what :func:`load_jobs` already made of ``request`` (its checks start a JVM per
    JMH query: not twice).
    """
    jobs, job_dir = loaded or load_jobs(request)
    extra: dict[str, Any] = {}
    if timeout_seconds is not None:
        extra["timeout_seconds"] = timeout_seconds
    if attempts is not None:
        extra["attempts"] = attempts
    settings = SubmitSettings(target, env=env, build=jobs[0].teamcity_build, **extra)
    manifest = _existing_manifest(store, run_id) if run_id else None
    if manifest is not None:
        plan = plan_from_manifest(manifest)
        batch_part = manifest.get("batch") or {}
        queue = batch_part.get("job_queue")
        if queue and queue != target.queue:
            raise ConfigError(
                f"run {run_id} was submitted to job queue {queue}, not {target.queue}: "
                "resume it with the same --job-queue"
            )
        known = batch_part.get("group_ids") or {}
        log.info(
            "resuming run %s: %d of %d array job(s) known", run_id, len(known), len(plan.groups)
        )
        run = submit_run(plan, store, batch, settings, resume=batch_part)
        return run, 0, 0
    plan = prepare_run(
        jobs,
        store,
        job_dir=job_dir,
        results_store=request.results_store,
        progress=progress,
        run_id=run_id,
    )
    run = submit_run(plan, store, batch, settings)
    return run, plan.upload.uploaded, plan.upload.bytes_sent


def _existing_manifest(store: Store, run_id: str) -> dict[str, Any] | None:
    check_run_id(run_id)  # before it becomes part of a key
    try:
        return read_manifest(store, run_id)
    except NotFoundError:
        return None


@dataclasses.dataclass(frozen=True)
class BatchPlacement:
    """Where a run goes on Batch, as the options name it (resolved by :func:`schedule`)."""

    stack: str
    job_queue: str | None = None
    job_definition: str | None = None
    capabilities: str | None = None
    storage: str | None = None
    env: str = ""
    timeout_seconds: int | None = None
    attempts: int | None = None


@dataclasses.dataclass(frozen=True)
class ScheduledRun:
    run: SubmittedRun
    storage: str
    uploaded: int
    bytes_sent: int


def schedule(
    request: ScheduleRequest,
    placement: BatchPlacement,
    *,
    batch: BatchClient | None = None,
    progress: Callable[[int], TransferProgress] | None = None,
    run_id: str | None = None,
) -> ScheduledRun:
    """``invoke schedule``: validate the job before touching AWS, resolve the queue and job
    definition (stack outputs or capabilities) and the storage (option, else the stack's
    bucket), upload the artifacts once and submit one job per workload and partition, as the
    children of one array job
    (``run_id``: see :func:`schedule_run`). ``progress(total bytes)`` makes the upload's
    display."""
    from scheduler.artifacts import hash_ahead
    from scheduler.stackinfo import storage_base
    from scheduler.submit import resolve_target
    from worker.storage import open_store

    loaded = jobs, job_dir = load_jobs(request)
    hash_ahead(jobs, job_dir)  # on the second core while boto3 loads and Batch is checked
    check_submit_options(placement.timeout_seconds, placement.attempts)
    if run_id:
        check_run_id(run_id)
    batch = batch or BatchClient()
    target = resolve_target(
        stack=placement.stack,
        job_queue=placement.job_queue,
        job_definition=placement.job_definition,
        capability_text=placement.capabilities,
        batch=batch,
    )
    store = open_store(storage_base(placement.storage, placement.stack))
    definition = batch.describe_job_definition(target.job_definition)
    if definition is None:
        raise NotFoundError(
            f"job definition {target.job_definition!r}: Batch has no active revision of it"
        )
    shown = progress(local_artifact_bytes(jobs, job_dir)) if progress else None
    try:
        run, uploaded, sent = schedule_run(
            request,
            store,
            target,
            batch,
            env=placement.env,
            timeout_seconds=placement.timeout_seconds,
            attempts=placement.attempts,
            progress=shown,
            run_id=run_id,
            loaded=loaded,
        )
    finally:
        if shown:
            shown.close()
    # the group the jobs really log to (a stack sets its own), not Batch's default
    run = dataclasses.replace(run, log_group=definition_log_group(definition))
    return ScheduledRun(run, store.base_uri, uploaded, sent)
