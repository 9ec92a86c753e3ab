"""Submitting a prepared run to AWS Batch: one job per planned job.

Each job gets a unique, sanitised name (<= 128 characters), tags carrying the run id, build
and env, a Batch timeout, and a retry strategy that retries only the worker's "transient
infrastructure" exit code (75) and host terminations, never a benchmark failure. The only Batch
parameter is the URI of the job's ``job-parameters.json``; no container override carries
anything (secrets come from the job definition's ``secrets`` at run time). The job ids are
added to the run manifest so that ``watch`` and ``cancel`` work from any machine.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Any

from scheduler import capabilities
from scheduler.batch import DEFAULT_LOG_GROUP, BatchClient
from scheduler.plan import MAX_JOB_NAME, PlannedJob, RunPlan, write_manifest
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


def build_submit_request(job: PlannedJob, run_id: str, settings: SubmitSettings) -> dict[str, Any]:
    """The SubmitJob request of one job (pure: tests assert on it)."""
    return {
        "jobName": sanitise_job_name(job.name),
        "jobQueue": settings.target.queue,
        "jobDefinition": settings.target.job_definition,
        "parameters": {BATCH_JOB_PARAMETERS: job.parameters_uri},
        "retryStrategy": retry_strategy(settings.attempts),
        "timeout": {"attemptDurationSeconds": settings.timeout_seconds},
        "tags": build_tags(run_id, job.test_run_id, settings),
        "propagateTags": True,
    }


def submit_run(
    plan: RunPlan,
    store: Store,
    batch: BatchClient,
    settings: SubmitSettings,
    *,
    resume: Mapping[str, str] | None = None,
) -> SubmittedRun:
    """Submit every job of ``plan``; the manifest records the job ids even on a partial failure.

    ``resume`` (test run id -> job id, from the run's manifest) continues a run whose
    scheduler stopped part-way: known jobs are kept, and each other job is first looked up by
    its unique name and tags in the queue (the scheduler may have been killed after Batch
    accepted it and before the manifest recorded it), so that no job is submitted twice.
    """
    names = [sanitise_job_name(j.name) for j in plan.jobs]
    if len(set(names)) != len(names):
        raise ConfigError("job names of the run are not unique after sanitising")
    submitted: list[SubmittedJob] = []
    try:
        for job, name in zip(plan.jobs, names, strict=True):
            job_id = _existing_job(batch, settings, job, plan.run_id, resume)
            if job_id is None:
                job_id = batch.submit_job(build_submit_request(job, plan.run_id, settings))
                log.info("submitted %s as job %s", job.name, job_id)
            submitted.append(
                SubmittedJob(job.test_run_id, name, job_id, job.parameters_uri, job.results_uri)
            )
    finally:
        write_manifest(store, plan, extra={"batch": batch_manifest(settings, submitted)})
    return SubmittedRun(plan.run_id, settings.target, tuple(submitted))


def _existing_job(
    batch: BatchClient,
    settings: SubmitSettings,
    job: PlannedJob,
    run_id: str,
    resume: Mapping[str, str] | None,
) -> str | None:
    """The job id of ``job`` when an earlier attempt at the run already submitted it."""
    if resume is None:
        return None
    if job.test_run_id in resume:
        return resume[job.test_run_id]
    found = batch.find_submitted(build_submit_request(job, run_id, settings))
    if found:
        log.info("job %s was already submitted as %s", job.name, found)
    return found


def batch_manifest(settings: SubmitSettings, jobs: list[SubmittedJob]) -> dict[str, Any]:
    return {
        "job_queue": settings.target.queue,
        "job_definition": settings.target.job_definition,
        "env": settings.env,
        "build": settings.build,
        "job_ids": {j.test_run_id: j.job_id for j in jobs},
    }


def job_ids_of(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Batch job id -> job name, from a run manifest."""
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
