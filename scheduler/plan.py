"""Preparing a run: validate, upload artifacts once, write one job-parameters.json per job.

Layout under the storage base URI (S3 or a local directory)::

    artifacts/sha256/<hex>/<file>                    content-addressed, shared by all runs
    runs/<run_id>/manifest.json                      the run: its jobs (re-attach from here)
    runs/<run_id>/<test_run_id>/job-parameters.json  what each worker is told
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
from worker.params import JobParameters, ResultsStoreRef
from worker.storage import ProgressCallback, Store

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
_JOB_NAME_RE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_JOB_NAME = 128


@dataclasses.dataclass(frozen=True)
class PlannedJob:
    test_run_id: str
    name: str
    workload: str
    parameters_uri: str
    results_uri: str


@dataclasses.dataclass(frozen=True)
class RunPlan:
    run_id: str
    created_at: str
    jobs: tuple[PlannedJob, ...]
    upload: UploadStats

    def manifest(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "jobs": [dataclasses.asdict(j) for j in self.jobs],
            **(extra or {}),
        }


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


def job_name(job: Job, run_id: str, index: int) -> str:
    """A Batch-safe job name: letters, digits, '-' and '_', at most 128 characters."""
    raw = f"{job.triggered_by}-{job.teamcity_build}-{job.workload}-{index}-{run_id}"
    name = _JOB_NAME_RE.sub("-", raw).strip("-")
    if len(name) > MAX_JOB_NAME:
        name = name[: MAX_JOB_NAME - 9] + "-" + uuid.uuid5(uuid.NAMESPACE_URL, raw).hex[:8]
    return name


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
    """Validate every job's artifacts, upload them once, and write the job parameters."""
    if not jobs:
        raise ConfigError("no jobs to schedule")
    run_id = check_run_id(run_id) if run_id else new_run_id()
    artifacts = RunArtifacts(store, job_dir, progress=progress)  # checks them all first
    all_refs = artifacts.upload([local_inputs(job) for job in jobs])
    planned = []
    for index, (job, refs) in enumerate(zip(jobs, all_refs, strict=True)):
        dataset = refs.pop("dataset", None)
        test_run_id = str(uuid.uuid4())
        params = JobParameters(
            test_run_id=test_run_id,
            run_id=run_id,
            job=job,
            artifacts=refs,
            dataset=dataset,
            results_uri=store.uri(f"results/{run_id}/{test_run_id}"),
            recordings_base_uri=store.uri("recordings"),
            results_store=results_store or ResultsStoreRef(),
        )
        key = f"runs/{run_id}/{test_run_id}/{JOB_PARAMETERS_FILE}"
        info = store.put_bytes(key, params.to_json(), content_type="application/json")
        planned.append(
            PlannedJob(
                test_run_id,
                job_name(job, run_id, index),
                job.workload,
                info.uri,
                params.results_uri,
            )
        )
    plan = RunPlan(run_id, dt.datetime.now(dt.UTC).isoformat(), tuple(planned), artifacts.stats)
    write_manifest(store, plan)
    return plan


def plan_from_manifest(manifest: Mapping[str, Any]) -> RunPlan:
    """The prepared run a manifest records (to resume submitting it)."""
    try:
        jobs = tuple(PlannedJob(**job) for job in manifest["jobs"])
        return RunPlan(str(manifest["run_id"]), str(manifest["created_at"]), jobs, UploadStats())
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
