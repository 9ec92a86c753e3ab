"""``job-parameters.json``: everything a worker is told about its job, versioned, no secrets.

The scheduler writes one object per array job of a run (``{"version": 1, "jobs": [...]}``,
one entry per child, in array-index order) under the run's prefix; Batch passes every child
only its URI, and each child takes the entry of its array index. A single job's document
(the entry itself) is read as well.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from worker.contract import JOB_PARAMETERS_VERSION, Env
from worker.errors import ConfigError
from worker.job import Job, find_secret_keys, job_from_dict


@dataclasses.dataclass(frozen=True)
class ArtifactRef:
    """An uploaded artifact: where it is and what its bytes hash to."""

    uri: str
    sha256: str | None
    size: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ResultsStoreRef:
    """Where results go. Never holds a password: that comes from the environment or from
    the Secrets Manager secret named here, at run time."""

    #: ``bolt://``, ``neo4j://``, ``neo4j+s://`` URI, ``sqlite:///path``, or "" for the
    #: embedded SQLite store in the workspace.
    uri: str = ""
    user: str = ""
    #: Secrets Manager secret id/ARN holding ``{username, password, uri}``.
    secret_id: str = ""
    #: Neo4j database name.
    database: str = "neo4j"


@dataclasses.dataclass(frozen=True)
class JobParameters:
    test_run_id: str
    #: The scheduling run this job belongs to (one run fans out into many jobs).
    run_id: str
    job: Job
    artifacts: Mapping[str, ArtifactRef]
    dataset: ArtifactRef | None
    #: Results document, logs and the work dir of this test run go under this prefix.
    results_uri: str
    #: Profiler recordings: ``<recordings_base_uri>/<test_run_id>/...`` and ``<id>.tar.gz``.
    recordings_base_uri: str
    results_store: ResultsStoreRef = dataclasses.field(default_factory=ResultsStoreRef)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": JOB_PARAMETERS_VERSION,
            "test_run_id": self.test_run_id,
            "run_id": self.run_id,
            "job": self.job.to_dict(),
            "artifacts": {k: v.to_dict() for k, v in sorted(self.artifacts.items())},
            "dataset": self.dataset.to_dict() if self.dataset else None,
            "results_uri": self.results_uri,
            "recordings_base_uri": self.recordings_base_uri,
            "results_store": dataclasses.asdict(self.results_store),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2).encode() + b"\n"


def group_to_json(entries: Sequence[JobParameters]) -> bytes:
    """The parameters of an array job's children, in array-index order, as one object."""
    doc = {"version": JOB_PARAMETERS_VERSION, "jobs": [e.to_dict() for e in entries]}
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def array_index_of(environ: Mapping[str, str]) -> int | None:
    """This container's index in its array job: ``AWS_BATCH_JOB_ARRAY_INDEX``, else the
    ``:<index>`` suffix of ``AWS_BATCH_JOB_ID`` (a child's id is ``<parent>:<index>``; moto
    sets only the id); None for a job that is not a child of an array."""
    for raw in (
        environ.get(Env.BATCH_JOB_ARRAY_INDEX, ""),
        environ.get(Env.BATCH_JOB_ID, "").rpartition(":")[2]
        if ":" in environ.get(Env.BATCH_JOB_ID, "")
        else "",
    ):
        if raw.strip().isdigit():
            return int(raw)
    return None


def _select(data: dict[str, Any], index: int | None, source: str) -> Any:
    """The entry of ``index`` when ``data`` is an array job's group; ``data`` otherwise."""
    if "jobs" not in data:
        return data
    entries = data["jobs"]
    if data.get("version") != JOB_PARAMETERS_VERSION or not isinstance(entries, list):
        raise ConfigError(
            f"{source}: version {data.get('version')!r} with {type(entries).__name__} jobs is "
            f"not supported; this worker reads version {JOB_PARAMETERS_VERSION} (rebuild the "
            "worker image or reschedule)"
        )
    if index is None:
        if len(entries) == 1:
            return entries[0]
        raise ConfigError(
            f"{source}: holds the parameters of {len(entries)} jobs and this job has no array "
            f"index (${Env.BATCH_JOB_ARRAY_INDEX}, a job id <parent>:<index> or --array-index)"
        )
    if not 0 <= index < len(entries):
        raise ConfigError(f"{source}: no job at array index {index} ({len(entries)} jobs)")
    return entries[index]


def _artifact(data: Any, where: str) -> ArtifactRef:
    if not isinstance(data, Mapping) or "uri" not in data:
        raise ConfigError(f"{where}: must be an object with uri, sha256 and size")
    return ArtifactRef(str(data["uri"]), data.get("sha256"), int(data.get("size", 0)))


def parameters_from_json(
    raw: bytes | str, *, source: str = "job parameters", index: int | None = None
) -> JobParameters:
    """Parse and check ``job-parameters.json`` (the entry of array index ``index`` when it
    holds an array job's children); raises ConfigError naming what is wrong."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a JSON object")
    data = _select(data, index, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the job's entry must be a JSON object")
    version = data.get("version")
    if version != JOB_PARAMETERS_VERSION:
        raise ConfigError(
            f"{source}: version {version!r} is not supported; this worker reads version "
            f"{JOB_PARAMETERS_VERSION} (rebuild the worker image or reschedule)"
        )
    secrets = find_secret_keys(data)
    if secrets:
        raise ConfigError(f"{source}: holds secret keys {secrets}; secrets never go in job files")
    problems = [
        f"{source}: {key} is missing"
        for key in ("test_run_id", "run_id", "job", "results_uri", "recordings_base_uri")
        if key not in data
    ]
    if problems:
        raise ConfigError(problems)
    job = job_from_dict(data["job"])
    artifacts = {
        str(name): _artifact(ref, f"artifacts.{name}")
        for name, ref in dict(data.get("artifacts") or {}).items()
    }
    missing = sorted(set(job.artifacts) - set(artifacts))
    if missing:
        raise ConfigError(f"{source}: the job names artifacts {missing} that were not uploaded")
    store = data.get("results_store") or {}
    return JobParameters(
        test_run_id=str(data["test_run_id"]),
        run_id=str(data["run_id"]),
        job=job,
        artifacts=artifacts,
        dataset=_artifact(data["dataset"], "dataset") if data.get("dataset") else None,
        results_uri=str(data["results_uri"]),
        recordings_base_uri=str(data["recordings_base_uri"]),
        results_store=ResultsStoreRef(**{k: str(v) for k, v in store.items()}),
    )
