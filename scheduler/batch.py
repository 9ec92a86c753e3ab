"""A typed facade over exactly the AWS Batch calls the scheduler makes.

Every call goes through :meth:`BatchClient._call`, which retries throttling and server errors
with backoff on top of botocore's own retries (``sleep`` is injected so tests never wait) and
turns what is left into :class:`BatchError` naming the operation. "No such job" is not an error:
DescribeJobs simply leaves unknown ids out.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from scheduler.errors import BatchError
from worker import aws

log = logging.getLogger(__name__)

#: DescribeJobs takes at most this many ids per call.
DESCRIBE_CHUNK = 100
DEFAULT_LOG_GROUP = "/aws/batch/job"
_RETRY_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServerException",
        "ServiceUnavailable",
        "InternalFailure",
    }
)


class JobStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def done(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclasses.dataclass(frozen=True)
class Attempt:
    exit_code: int | None
    reason: str
    log_stream: str | None
    started_at: int | None
    stopped_at: int | None

    @property
    def ended(self) -> bool:
        """The attempt is over. Real Batch lists an attempt once it ended; moto lists the
        running one too (no stop time, exit code or reason yet), which must not count."""
        return self.stopped_at is not None or self.exit_code is not None or bool(self.reason)


@dataclasses.dataclass(frozen=True)
class JobDescription:
    """What the scheduler needs from DescribeJobs; times in epoch milliseconds."""

    job_id: str
    name: str
    status: JobStatus
    status_reason: str
    created_at: int | None
    started_at: int | None
    stopped_at: int | None
    exit_code: int | None
    log_stream: str | None
    log_group: str
    job_definition: str
    attempts: tuple[Attempt, ...] = ()
    #: Size of an array job (its children are ``<job id>:<index>``); None for a plain job.
    array_size: int | None = None

    @property
    def ended_attempts(self) -> int:
        return sum(1 for a in self.attempts if a.ended)

    @property
    def attempt_number(self) -> int:
        """Which attempt the job is on (1-based): the ended ones, plus the current one while
        the job is not done."""
        if self.status.done:
            return max(self.ended_attempts, 1)
        return self.ended_attempts + 1

    @property
    def reason(self) -> str:
        """The most useful explanation of the job's state."""
        if self.status_reason:
            return self.status_reason
        last = self.attempts[-1] if self.attempts else None
        if last is not None and last.reason:
            return last.reason
        code = self.exit_code if self.exit_code is not None else (last and last.exit_code)
        if code is not None:
            return f"exit code {code}"
        return ""


def parse_job(data: Mapping[str, Any]) -> JobDescription:
    container = data.get("container") or {}
    attempts = tuple(
        Attempt(
            exit_code=(a.get("container") or {}).get("exitCode"),
            reason=str(a.get("statusReason") or (a.get("container") or {}).get("reason") or ""),
            log_stream=(a.get("container") or {}).get("logStreamName"),
            started_at=a.get("startedAt"),
            stopped_at=a.get("stoppedAt"),
        )
        for a in data.get("attempts") or []
    )
    log_options = (container.get("logConfiguration") or {}).get("options") or {}
    stream = container.get("logStreamName") or next(
        (a.log_stream for a in reversed(attempts) if a.log_stream), None
    )
    array = data.get("arrayProperties") or {}
    return JobDescription(
        job_id=str(data["jobId"]),
        name=str(data.get("jobName", "")),
        status=JobStatus(data["status"]),
        status_reason=str(data.get("statusReason") or ""),
        created_at=data.get("createdAt"),
        started_at=data.get("startedAt"),
        stopped_at=data.get("stoppedAt"),
        exit_code=container.get("exitCode"),
        log_stream=stream,
        log_group=str(log_options.get("awslogs-group") or DEFAULT_LOG_GROUP),
        job_definition=str(data.get("jobDefinition", "")),
        attempts=attempts,
        array_size=array.get("size") if "index" not in array else None,
    )


def chunks(items: Sequence[str], size: int = DESCRIBE_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class BatchClient:
    """The Batch calls of the scheduler, typed. ``client`` defaults to ``aws.client("batch")``."""

    def __init__(
        self,
        client: Any | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        base_delay: float = 1.0,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        #: Calls made, by operation name (for benchmarks and tests).
        self.calls: dict[str, int] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("batch")
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        for attempt in range(1, self._max_attempts + 1):
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                result: dict[str, Any] = getattr(self.client, operation)(**kwargs)
                return result
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                retryable = code in _RETRY_CODES or status == 429 or status >= 500
                if retryable and attempt < self._max_attempts:
                    delay = min(self._base_delay * 2 ** (attempt - 1), 20.0)
                    log.warning("batch %s: %s, retry %d in %.1fs", operation, code, attempt, delay)
                    self._sleep(delay)
                    continue
                raise BatchError(
                    f"AWS Batch {operation} failed: {code or status}: {error.get('Message', exc)}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ jobs

    def submit_job(self, request: Mapping[str, Any]) -> str:
        return str(self._call("submit_job", **request)["jobId"])

    def describe_jobs(self, job_ids: Iterable[str]) -> list[JobDescription]:
        """Descriptions in chunks of at most 100 ids; unknown ids are left out."""
        ids = list(dict.fromkeys(job_ids))
        out: list[JobDescription] = []
        for chunk in chunks(ids):
            out.extend(parse_job(j) for j in self._call("describe_jobs", jobs=list(chunk))["jobs"])
        return out

    def describe_children(self, parent: JobDescription) -> list[JobDescription]:
        """The children of an array job (``<parent id>:<index>``)."""
        if not parent.array_size:
            return []
        return self.describe_jobs(f"{parent.job_id}:{i}" for i in range(parent.array_size))

    def terminate_job(self, job_id: str, reason: str) -> None:
        self._call("terminate_job", jobId=job_id, reason=reason)

    # ------------------------------------------------------------------ infrastructure

    def describe_job_queues(self, names: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in chunks(list(names)):
            out.extend(self._call("describe_job_queues", jobQueues=list(chunk))["jobQueues"])
        return out

    def describe_compute_environments(self, names: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in chunks(list(names)):
            resp = self._call("describe_compute_environments", computeEnvironments=list(chunk))
            out.extend(resp["computeEnvironments"])
        return out

    def describe_job_definitions(self, names: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in chunks(list(names)):
            resp = self._call(
                "describe_job_definitions", jobDefinitions=list(chunk), status="ACTIVE"
            )
            out.extend(resp["jobDefinitions"])
        return out
