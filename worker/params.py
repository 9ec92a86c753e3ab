"""``job-parameters.json``: everything a worker is told about its job, versioned, no secrets.

The scheduler writes it under the run's prefix; Batch passes the worker only its URI.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from worker.contract import JOB_PARAMETERS_VERSION
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


def _artifact(data: Any, where: str) -> ArtifactRef:
    if not isinstance(data, Mapping) or "uri" not in data:
        raise ConfigError(f"{where}: must be an object with uri, sha256 and size")
    return ArtifactRef(str(data["uri"]), data.get("sha256"), int(data.get("size", 0)))


def parameters_from_json(raw: bytes | str, *, source: str = "job parameters") -> JobParameters:
    """Parse and check ``job-parameters.json``; raises ConfigError naming what is wrong."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a JSON object")
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
