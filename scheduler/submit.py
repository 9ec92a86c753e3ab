"""Submitting a prepared run to AWS Batch: one array job per group of planned jobs.

A run goes to one queue and job definition; its jobs are the children of one array job (more
only beyond Batch's 10,000 children per array), so a run of 1,000 jobs costs one SubmitJob, and
either all of it is submitted or none (:func:`submit_run`). A group of one job is a plain job.
Each array job (or plain job) gets a unique, sanitised name (<= 128 characters), tags carrying
the run id, build and env, a Batch timeout, and a retry strategy that retries only the worker's
"transient infrastructure" exit code (75) and host terminations, never a benchmark failure
(Batch applies both to each child). The only Batch
parameter is the URI of the group's ``job-parameters.json``; no container override carries
anything (secrets come from the job definition's ``secrets`` at run time). The job ids are
added to the run manifest so that ``watch`` and ``cancel`` work from any machine.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from scheduler import capabilities
from scheduler.arrays import child_id
from scheduler.batch import DEFAULT_LOG_GROUP, BatchClient
from scheduler.errors import BatchError
from scheduler.plan import (
    MAX_ARRAY_SIZE,
    MAX_JOB_NAME,
    PlannedGroup,
    PlannedJob,
    RunPlan,
    write_manifest,
)
from scheduler.stackinfo import output, read_outputs
from scheduler.tags import sanitise_tags
from worker.contract import BATCH_JOB_PARAMETERS, ExitCode
from worker.errors import ConfigError
from worker.storage import Store

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 6 * 3600
#: Batch refuses attemptDurationSeconds below 60.
MIN_TIMEOUT_SECONDS = 60
DEFAULT_ATTEMPTS = 3
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
TAG_RUN_ID = "benchmark-run-id"
TAG_TEST_RUN_ID = "benchmark-test-run-id"
#: On an array job: which group of the run it is (its children are the group's jobs).
TAG_ARRAY_GROUP = "benchmark-array-group"


@dataclasses.dataclass(frozen=True)
class Target:
    """Where jobs go: real queue and job definition names (or ARNs)."""

    queue: str
    job_definition: str


def check_submit_options(timeout_seconds: int | None, attempts: int | None) -> None:
    """ConfigError for a timeout or an attempt count Batch would refuse."""
    problems = []
    if timeout_seconds is not None and timeout_seconds < MIN_TIMEOUT_SECONDS:
        problems.append(
            f"timeout: {timeout_seconds}s is below Batch's minimum of {MIN_TIMEOUT_SECONDS}s"
        )
    if attempts is not None and not 1 <= attempts <= 10:
        problems.append(f"attempts: {attempts} must be between 1 and 10")
    if problems:
        raise ConfigError(problems)


@dataclasses.dataclass(frozen=True)
class SubmitSettings:
    target: Target
    env: str = ""
    build: str = ""
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    attempts: int = DEFAULT_ATTEMPTS

    def __post_init__(self) -> None:
        check_submit_options(self.timeout_seconds, self.attempts)


@dataclasses.dataclass(frozen=True)
class SubmittedJob:
    test_run_id: str
    name: str
    job_id: str
    parameters_uri: str
    results_uri: str


@dataclasses.dataclass(frozen=True)
class SubmittedRun:
    run_id: str
    target: Target
    jobs: tuple[SubmittedJob, ...]
    log_group: str = DEFAULT_LOG_GROUP


def sanitise_job_name(name: str) -> str:
    """Letters, digits, '-' and '_' only; starts with a letter or digit; <= 128 characters."""
    clean = _NAME_BAD.sub("-", name).strip("-_") or "job"
    return clean[:MAX_JOB_NAME]


def retry_strategy(attempts: int) -> dict[str, Any]:
    """Retry exit 75 and host terminations; every other end (any exit code, any reason) exits.

    Batch retries when no condition matches, hence the catch-all EXIT entries.
    """
    return {
        "attempts": attempts,
        "evaluateOnExit": [
            {"onExitCode": str(int(ExitCode.TRANSIENT)), "action": "RETRY"},
            {"onStatusReason": "Host EC2*", "action": "RETRY"},
            {"onExitCode": "*", "action": "EXIT"},
            {"onReason": "*", "action": "EXIT"},
            {"onStatusReason": "*", "action": "EXIT"},
        ],
    }


def build_tags(run_id: str, test_run_id: str, settings: SubmitSettings) -> dict[str, str]:
    tags = {
        "owner": "benchmarking",
        TAG_RUN_ID: run_id,
        TAG_TEST_RUN_ID: test_run_id,
        "build": settings.build,
        "env": settings.env,
    }
    return sanitise_tags(tags)


def _common_request(name: str, uri: str, settings: SubmitSettings) -> dict[str, Any]:
    return {
        "jobName": sanitise_job_name(name),
        "jobQueue": settings.target.queue,
        "jobDefinition": settings.target.job_definition,
        "parameters": {BATCH_JOB_PARAMETERS: uri},
        "retryStrategy": retry_strategy(settings.attempts),
        "timeout": {"attemptDurationSeconds": settings.timeout_seconds},
        "propagateTags": True,
    }


def build_submit_request(job: PlannedJob, run_id: str, settings: SubmitSettings) -> dict[str, Any]:
    """The SubmitJob request of one plain job (pure: tests assert on it)."""
    return {
        **_common_request(job.name, job.parameters_uri, settings),
        "tags": build_tags(run_id, job.test_run_id, settings),
    }


def build_array_request(
    group: PlannedGroup, run_id: str, settings: SubmitSettings
) -> dict[str, Any]:
    """The SubmitJob request of an array job of ``group.size`` children (2..10,000). Batch
    applies the retry strategy and the timeout to each child; every child gets the same
    parameters (the group's ``job-parameters.json``) and finds its entry by its index."""
    if not 2 <= group.size <= MAX_ARRAY_SIZE:
        raise ConfigError(
            f"array job {group.name}: {group.size} children; Batch takes 2 to {MAX_ARRAY_SIZE}"
        )
    tags = sanitise_tags(
        {
            "owner": "benchmarking",
            TAG_RUN_ID: run_id,
            TAG_ARRAY_GROUP: str(group.index),
            "build": settings.build,
            "env": settings.env,
        }
    )
    return {
        **_common_request(group.name, group.parameters_uri, settings),
        "arrayProperties": {"size": group.size},
        "tags": tags,
    }


def build_group_request(
    plan: RunPlan, group: PlannedGroup, settings: SubmitSettings
) -> dict[str, Any]:
    """An array job for a group of several jobs, a plain job for a group of one (Batch's
    arrays have at least 2 children)."""
    if group.size == 1:
        (job,) = plan.members(group)
        return build_submit_request(job, plan.run_id, settings)
    return build_array_request(group, plan.run_id, settings)


def member_job_id(group_job_id: str, group: PlannedGroup, job: PlannedJob) -> str:
    """The Batch job id of ``job``: the array child ``<parent>:<index>``, or the plain job."""
    return group_job_id if group.size == 1 else child_id(group_job_id, job.array_index)


def submit_run(
    plan: RunPlan,
    store: Store,
    batch: BatchClient,
    settings: SubmitSettings,
    *,
    resume: Mapping[str, Any] | None = None,
) -> SubmittedRun:
    """Submit ``plan`` as one array job per group (a plain job for a group of one), all of
    them or none: when a group's SubmitJob fails for good, the groups already submitted are
    terminated (and recorded as withdrawn) before the error is raised. The manifest records
    what was submitted whatever happens.

    ``resume`` (the ``batch`` part of the run's manifest) continues a run whose scheduler
    stopped part-way (killed: nothing could be withdrawn): known groups are kept, and each
    other group is first looked up by its unique name and tags in the queue (the scheduler may
    have been killed after Batch accepted it and before the manifest recorded it), so that no
    job is submitted twice. Jobs withdrawn earlier are never taken for the run's.
    """
    requests = [build_group_request(plan, group, settings) for group in plan.groups]
    names = [r["jobName"] for r in requests]
    if len(set(names)) != len(names):
        raise ConfigError("job names of the run are not unique after sanitising")
    known = {int(k): str(v) for k, v in ((resume or {}).get("group_ids") or {}).items()}
    withdrawn = [str(i) for i in (resume or {}).get("withdrawn") or []]
    submitted: dict[int, str] = {}
    try:
        for group, request in zip(plan.groups, requests, strict=True):
            job_id = known.get(group.index)
            if job_id is None and resume is not None:
                job_id = batch.find_submitted(request, exclude=withdrawn)
                if job_id:
                    log.info("%s was already submitted as %s", group.name, job_id)
            if job_id is None:
                try:
                    job_id = batch.submit_job(request, exclude=withdrawn)
                except BatchError as exc:
                    withdrawn += _withdraw(batch, plan.run_id, submitted, exc)
                    submitted.clear()
                    raise
                log.info("submitted %s (%d job(s)) as %s", group.name, group.size, job_id)
            submitted[group.index] = job_id
    finally:
        write_manifest(
            store, plan, extra={"batch": batch_manifest(settings, plan, submitted, withdrawn)}
        )
    return SubmittedRun(plan.run_id, settings.target, tuple(_submitted_jobs(plan, submitted)))


def _withdraw(
    batch: BatchClient, run_id: str, submitted: Mapping[int, str], cause: BatchError
) -> list[str]:
    """Terminate the jobs of ``run_id`` submitted before ``cause``; the ids terminated. The
    error's message is extended to say what happened to them."""
    from scheduler.cancel import cancel_jobs

    ids = list(submitted.values())
    if not ids:
        return []
    reason = f"run {run_id} withdrawn: a later submission failed"
    try:
        cancel_jobs(batch, ids, reason)
    except BatchError as exc:
        cause.args = (
            f"{cause}; run {run_id} is only partly submitted and its jobs {', '.join(ids)} could "
            f"not be terminated ({exc}): invoke cancel {run_id}",
        )
        raise cause from exc
    log.warning("run %s: terminated the job(s) already submitted: %s", run_id, ", ".join(ids))
    cause.args = (
        f"{cause}; run {run_id} was not submitted: the {len(ids)} job(s) already submitted were "
        f"terminated ({', '.join(ids)})",
    )
    return ids


def _submitted_jobs(plan: RunPlan, submitted: Mapping[int, str]) -> list[SubmittedJob]:
    out = []
    for group in plan.groups:
        if group.index not in submitted:
            continue
        for job in plan.members(group):
            out.append(
                SubmittedJob(
                    job.test_run_id,
                    sanitise_job_name(job.name),
                    member_job_id(submitted[group.index], group, job),
                    job.parameters_uri,
                    job.results_uri,
                )
            )
    return out


def batch_manifest(
    settings: SubmitSettings,
    plan: RunPlan,
    submitted: Mapping[int, str],
    withdrawn: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "job_queue": settings.target.queue,
        "job_definition": settings.target.job_definition,
        "env": settings.env,
        "build": settings.build,
        "group_ids": {str(g): job_id for g, job_id in sorted(submitted.items())},
        "job_ids": {j.test_run_id: j.job_id for j in _submitted_jobs(plan, submitted)},
        "withdrawn": list(withdrawn),
    }


def job_ids_of(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Batch job id (an array child's ``<parent>:<index>``) -> job name, from a run manifest."""
    names = {j["test_run_id"]: j["name"] for j in manifest.get("jobs", [])}
    ids = (manifest.get("batch") or {}).get("job_ids") or {}
    return {job_id: names.get(test_run_id, test_run_id) for test_run_id, job_id in ids.items()}


# --------------------------------------------------------------------------- target


def resolve_target(
    *,
    stack: str,
    job_queue: str | None = None,
    job_definition: str | None = None,
    capability_text: str | None = None,
    batch: BatchClient | None = None,
    outputs: Mapping[str, str] | None = None,
) -> Target:
    """Exactly one mode: stack output keys (``--job-queue``/``--job-definition``) or
    capabilities. Output keys name outputs of ``stack``; values that are not output keys
    (a real queue name or ARN) are used as they are."""
    explicit = job_queue is not None or job_definition is not None
    if explicit and capability_text:
        raise ConfigError("give --job-queue/--job-definition or --capabilities, not both")
    if capability_text:
        caps = capabilities.parse_capabilities(capability_text)
        environments, definitions = capabilities.discover(stack, batch or BatchClient())
        choice = capabilities.choose(caps, environments, definitions)
        return Target(choice.queue, choice.job_definition)
    if job_queue is None or job_definition is None:
        raise ConfigError(
            "name both --job-queue and --job-definition (stack output keys such as "
            "JobQueueM5dXlarge and JobDefinitionM5dXlargeOpenjdk17), or give --capabilities"
        )
    looks_like_keys = _is_output_key(job_queue) or _is_output_key(job_definition)
    values = (
        dict(outputs) if outputs is not None else (read_outputs(stack) if looks_like_keys else {})
    )
    queue = output(values, job_queue, stack) if _is_output_key(job_queue) else job_queue
    definition = (
        output(values, job_definition, stack) if _is_output_key(job_definition) else job_definition
    )
    return Target(queue, definition)


def _is_output_key(value: str) -> bool:
    return value.startswith(("JobQueue", "JobDefinition")) and ":" not in value
