"""Preparing a run: validate, upload artifacts once, write the job parameters.

The jobs of a run are submitted as array jobs (:mod:`scheduler.submit`), so their parameters
are written as one object per array job, the children's entries in array-index order: one
PUT for a run of up to 10,000 jobs instead of one per job.

Layout under the storage base URI (S3 or a local directory)::

    artifacts/sha256/<hex>/<file>                    content-addressed, shared by all runs
    runs/<run_id>/manifest.json                      the run: its jobs (re-attach from here)
    runs/<run_id>/array-<n>/job-parameters.json      what the workers of array job n are told
    results/<run_id>/<test_run_id>/                  results.json, logs, the tool's work dir
    recordings/<test_run_id>/...  and  recordings/<test_run_id>.tar.gz
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scheduler.artifacts import RunArtifacts, UploadStats
from scheduler.jobcheck import local_inputs
from worker.contract import JOB_PARAMETERS_FILE
from worker.errors import ConfigError, NotFoundError
from worker.job import FIELDS_BY_NAME, Job
from worker.params import JobParameters, ResultsStoreRef, group_to_json
from worker.storage import ProgressCallback, Store

MANIFEST_FILE = "manifest.json"
#: 2: jobs carry their array job (``group``) and index; parameters are one object per group.
MANIFEST_VERSION = 2
_JOB_NAME_RE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_JOB_NAME = 128
#: Batch's limit of children per array job; a larger run becomes several array jobs.
MAX_ARRAY_SIZE = 10_000


@dataclasses.dataclass(frozen=True)
class PlannedJob:
    test_run_id: str
    name: str
    workload: str
    #: The group's ``job-parameters.json``; this job's entry is at ``array_index``.
    parameters_uri: str
    results_uri: str
    #: Which array job of the run this job is a child of, and its index there.
    group: int = 0
    array_index: int = 0


@dataclasses.dataclass(frozen=True)
class PlannedGroup:
    """One array job of the run (a plain job when it has one member)."""

    index: int
    name: str
    parameters_uri: str
    size: int


@dataclasses.dataclass(frozen=True)
class RunPlan:
    run_id: str
    created_at: str
    jobs: tuple[PlannedJob, ...]
    upload: UploadStats
    groups: tuple[PlannedGroup, ...] = ()

    def manifest(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "jobs": [dataclasses.asdict(j) for j in self.jobs],
            "groups": [dataclasses.asdict(g) for g in self.groups],
            **(extra or {}),
        }

    def members(self, group: PlannedGroup) -> list[PlannedJob]:
        """The jobs of ``group``, in array-index order."""
        return sorted((j for j in self.jobs if j.group == group.index), key=lambda j: j.array_index)


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable and unique: ``20261125T144200Z-1a2b3c4d``."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


_RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_run_id(run_id: str) -> str:
    """A run id given by a user lands in object keys and job names: keep it to their rules."""
    if not _RUN_ID_RE.fullmatch(run_id):
        raise ConfigError(
            f"run id {run_id!r}: use 1-64 letters, digits, '-' or '_', starting with a letter "
            "or digit (e.g. the id schedule printed)"
        )
    return run_id


def _batch_safe_name(raw: str) -> str:
    """Letters, digits, '-' and '_', at most 128 characters; a name cut short keeps a hash of
    the whole, so two long names stay apart."""
    name = _JOB_NAME_RE.sub("-", raw).strip("-")
    if len(name) > MAX_JOB_NAME:
        name = name[: MAX_JOB_NAME - 9] + "-" + uuid.uuid5(uuid.NAMESPACE_URL, raw).hex[:8]
    return name


def job_name(job: Job, run_id: str, index: int) -> str:
    """A Batch-safe job name: letters, digits, '-' and '_', at most 128 characters."""
    return _batch_safe_name(
        f"{job.triggered_by}-{job.teamcity_build}-{job.workload}-{index}-{run_id}"
    )


def group_name(job: Job, run_id: str, group: int) -> str:
    """The name of a run's array job ``group`` (its children are the planned jobs)."""
    return _batch_safe_name(f"{job.triggered_by}-{job.teamcity_build}-{run_id}-array-{group}")


def expand_jobs(job: Job, *, workloads: Sequence[str] = (), partitions: int = 1) -> list[Job]:
    """One job per workload, and per partition of its queries where asked."""
    if partitions < 1:
        raise ConfigError(f"partitions: {partitions} must be at least 1")
    if partitions > 1 and len(job.queries) < partitions:
        raise ConfigError(
            f"partitions: {partitions} partitions need at least that many queries; "
            f"the job lists {len(job.queries)} (--queries)"
        )
    problems = []
    for workload in workloads:
        try:
            FIELDS_BY_NAME["workload"].convert(workload)
        except ValueError as exc:
            problems.append(f"workloads (--workloads): {exc}")
    if problems:
        raise ConfigError(problems)
    out = []
    for workload in workloads or [job.workload]:
        base = dataclasses.replace(job, workload=workload)
        if partitions == 1:
            out.append(base)
            continue
        for part in range(partitions):
            out.append(dataclasses.replace(base, queries=tuple(job.queries[part::partitions])))
    return out


def prepare_run(
    jobs: Sequence[Job],
    store: Store,
    *,
    job_dir: Path,
    results_store: ResultsStoreRef | None = None,
    progress: ProgressCallback | None = None,
    run_id: str | None = None,
) -> RunPlan:
    """Validate every job's artifacts, upload them once, and write the job parameters: one
    object per array job of at most :data:`MAX_ARRAY_SIZE` children."""
    if not jobs:
        raise ConfigError("no jobs to schedule")
    run_id = check_run_id(run_id) if run_id else new_run_id()
    artifacts = RunArtifacts(store, job_dir, progress=progress)  # checks them all first
    all_refs = artifacts.upload([local_inputs(job) for job in jobs])
    entries = []
    for job, refs in zip(jobs, all_refs, strict=True):
        dataset = refs.pop("dataset", None)
        test_run_id = str(uuid.uuid4())
        entries.append(
            JobParameters(
                test_run_id=test_run_id,
                run_id=run_id,
                job=job,
                artifacts=refs,
                dataset=dataset,
                results_uri=store.uri(f"results/{run_id}/{test_run_id}"),
                recordings_base_uri=store.uri("recordings"),
                results_store=results_store or ResultsStoreRef(),
            )
        )
    planned: list[PlannedJob] = []
    groups: list[PlannedGroup] = []
    for group, start in enumerate(range(0, len(entries), MAX_ARRAY_SIZE)):
        members = entries[start : start + MAX_ARRAY_SIZE]
        key = f"runs/{run_id}/array-{group}/{JOB_PARAMETERS_FILE}"
        info = store.put_bytes(key, group_to_json(members), content_type="application/json")
        groups.append(
            PlannedGroup(group, group_name(jobs[start], run_id, group), info.uri, len(members))
        )
        planned.extend(
            PlannedJob(
                params.test_run_id,
                job_name(params.job, run_id, start + offset),
                params.job.workload,
                info.uri,
                params.results_uri,
                group=group,
                array_index=offset,
            )
            for offset, params in enumerate(members)
        )
    plan = RunPlan(
        run_id,
        dt.datetime.now(dt.UTC).isoformat(),
        tuple(planned),
        artifacts.stats,
        tuple(groups),
    )
    write_manifest(store, plan)
    return plan


def plan_from_manifest(manifest: Mapping[str, Any]) -> RunPlan:
    """The prepared run a manifest records (to resume submitting it)."""
    if manifest.get("version") != MANIFEST_VERSION:
        raise ConfigError(
            f"run {manifest.get('run_id')}: its manifest (version {manifest.get('version')}) was "
            "written by another version of the scheduler: schedule the run anew"
        )
    try:
        jobs = tuple(PlannedJob(**job) for job in manifest["jobs"])
        groups = tuple(PlannedGroup(**group) for group in manifest["groups"])
        return RunPlan(
            str(manifest["run_id"]), str(manifest["created_at"]), jobs, UploadStats(), groups
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"run manifest is not one this version wrote: {exc}") from None


def write_manifest(store: Store, plan: RunPlan, extra: Mapping[str, Any] | None = None) -> None:
    store.put_bytes(
        f"runs/{plan.run_id}/{MANIFEST_FILE}",
        json.dumps(plan.manifest(extra), indent=2, sort_keys=True).encode(),
        content_type="application/json",
    )


def read_manifest(store: Store, run_id: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(store.get_bytes(f"runs/{run_id}/{MANIFEST_FILE}"))
    except NotFoundError:
        raise NotFoundError(
            f"run {run_id}: no manifest at {store.uri(f'runs/{run_id}/{MANIFEST_FILE}')}; "
            "check the run id and the storage base"
        ) from None
    return data
