"""The results-store interface."""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from worker.errors import ConfigError

#: The most rows one query returns (``compare`` reads whole test runs).
MAX_LIMIT = 1_000_000


@dataclasses.dataclass(frozen=True)
class ResultsFilter:
    """Filters of ``invoke results``; None means "any"."""

    test_run_id: str | None = None
    workload: str | None = None
    benchmark: str | None = None
    branch: str | None = None
    build: str | None = None
    #: ISO date or timestamp; runs started at or after it.
    since: str | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.limit <= MAX_LIMIT:
            problems.append(f"limit (--limit): {self.limit} is not between 1 and {MAX_LIMIT}")
        if self.since is not None:
            try:
                dt.datetime.fromisoformat(self.since)
            except ValueError:
                problems.append(
                    f"since (--since): {self.since!r} is not an ISO date or timestamp, e.g. "
                    "2026-01-31 or 2026-01-31T12:00:00+00:00"
                )
        if problems:
            raise ConfigError(problems)


@dataclasses.dataclass(frozen=True)
class RunRow:
    test_run_id: str
    job_id: str
    attempt: int
    tool: str
    workload: str
    status: str
    started_at: str
    finished_at: str
    neo4j_version: str
    neo4j_branch: str
    neo4j_commit: str
    teamcity_build: str
    triggered_by: str
    benchmarks: int
    failures: int


@dataclasses.dataclass(frozen=True)
class MetricRow:
    test_run_id: str
    started_at: str
    workload: str
    group: str
    benchmark: str
    params: Mapping[str, str]
    mode: str
    unit: str
    summary: Mapping[str, float]
    samples: tuple[float, ...]

    @property
    def key(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.group}/{self.benchmark}" + (f"[{params}]" if params else "")


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Where and with what one test run measured: what decides whether two runs compare."""

    test_run_id: str
    tool: str = ""
    instance_type: str = ""
    cpu_model: str = ""
    cores: int = 0
    memory_mib: int = 0
    jdk: str = ""
    kernel: str = ""
    jvm_args: str = ""
    dataset_sha256: str = ""
    image: str = ""
    commit: str = ""
    branch: str = ""
    build: str = ""

    @property
    def environment(self) -> str:
        """The hardware a series is measured on: results of other hardware are another series."""
        machine = self.instance_type or "unknown"
        return f"{machine} ({self.cpu_model}, {self.cores} cores, {self.memory_mib} MiB)"

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Provenance:
        """The provenance a results document records."""
        run: Mapping[str, Any] = document.get("run") or {}
        job: Mapping[str, Any] = document.get("job") or {}
        prov: Mapping[str, Any] = document.get("provenance") or {}
        dataset: Mapping[str, Any] = prov.get("dataset") or {}
        return cls(
            test_run_id=str(run.get("test_run_id") or ""),
            tool=str(job.get("tool") or ""),
            instance_type=str(prov.get("instance_type") or ""),
            cpu_model=str(prov.get("cpu_model") or ""),
            cores=int(prov.get("cores") or 0),
            memory_mib=int(prov.get("memory_mib") or 0),
            jdk=str(prov.get("jdk_version") or ""),
            kernel=str(prov.get("kernel") or ""),
            jvm_args=str(job.get("jvm_args") or ""),
            dataset_sha256=str(dataset.get("sha256") or ""),
            image=str(prov.get("image") or ""),
            commit=str(job.get("neo4j_commit") or ""),
            branch=str(job.get("neo4j_branch") or ""),
            build=str(job.get("teamcity_build") or ""),
        )


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """The scheduler's record of one Batch job of a test run (the original's ``Job`` node).

    Timestamps are ISO-8601 strings; None means "not known (yet)" and never erases a value
    an earlier write recorded.
    """

    job_id: str
    test_run_id: str
    name: str = ""
    queue: str = ""
    status: str = ""
    status_reason: str = ""
    log_stream_name: str = ""
    queued_at: str | None = None
    started_at: str | None = None
    done_at: str | None = None


class ResultsStore(abc.ABC):
    """Keeps results documents; writing the same test run twice leaves one copy."""

    @abc.abstractmethod
    def write_document(self, document: Mapping[str, Any]) -> None:
        """Store one results document, replacing any earlier copy of the same test run."""

    @abc.abstractmethod
    def runs(self, flt: ResultsFilter) -> list[RunRow]:
        """Test runs matching the filter, newest first."""

    @abc.abstractmethod
    def metrics(self, flt: ResultsFilter) -> list[MetricRow]:
        """Per-benchmark metrics of matching runs, newest run first."""

    @abc.abstractmethod
    def provenance(self, test_run_ids: Sequence[str]) -> dict[str, Provenance]:
        """The provenance of each of these test runs that the store holds, by test run id."""

    def write_jobs(self, records: Sequence[JobRecord]) -> None:
        """Merge the scheduler's job records, each linked to its test run (created as a stub
        when its results have not arrived yet). Writing the same job again updates it."""
        raise NotImplementedError(f"{type(self).__name__} does not record jobs")

    def jobs(self, test_run_id: str | None = None, limit: int = 1000) -> list[JobRecord]:
        """Job records, of one test run or of all, oldest queued first."""
        raise NotImplementedError(f"{type(self).__name__} does not record jobs")

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
