"""A typed facade over exactly the AWS Batch calls the scheduler makes.

Every call goes through :meth:`BatchClient._call`, which turns a failure into
:class:`BatchError` naming the operation. Throttling, 5xx and connection errors are retried by
botocore's retry mode (one layer; see :mod:`worker.aws`), not here again.

SubmitJob is the exception: it has no idempotency token, so a blind retry after a timeout can
start a second copy of a job the server already accepted. :meth:`BatchClient.submit_job` uses
a client that never retries, and before each new attempt looks the job up by its unique name in
the queue (confirmed by its tags, which carry the run id); only when it is not there is it
submitted again.
"No such job" is not an error: DescribeJobs simply leaves unknown ids out.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from scheduler.errors import BatchError, BatchRefusedError, BatchUnavailableError
from worker import aws
from worker.awserrors import error_code, error_message
from worker.contract import ExitCode
from worker.errors import exit_status

log = logging.getLogger(__name__)

#: DescribeJobs takes at most this many ids per call.
DESCRIBE_CHUNK = 100
DEFAULT_LOG_GROUP = "/aws/batch/job"
#: Errors after which a SubmitJob may or may not have been accepted: worth a look-up and retry.
_SUBMIT_RETRY_CODES = frozenset(
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
    #: An array job's children per status (``arrayProperties.statusSummary``).
    status_summary: Mapping[str, int] = dataclasses.field(default_factory=dict)
    #: When Batch last updated ``status_summary`` (epoch ms; Batch sets it, moto does not).
    summary_updated_at: int | None = None

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
        status_summary=dict(array.get("statusSummary") or {}) if "index" not in array else {},
        summary_updated_at=array.get("statusSummaryLastUpdatedAt"),
    )


def chunks(items: Sequence[str], size: int = DESCRIBE_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class BatchClient:
    """The Batch calls of the scheduler, typed. ``client`` defaults to ``aws.client("batch")``;
    ``submit_client`` (no retries of its own) to ``client`` when that is given, else to
    ``aws.client("batch", max_attempts=1)``."""

    def __init__(
        self,
        client: Any | None = None,
        *,
        submit_client: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
        submit_attempts: int = 5,
        base_delay: float = 1.0,
    ) -> None:
        self._client = client
        self._submit_client = submit_client if submit_client is not None else client
        self._sleep = sleep
        self._submit_attempts = submit_attempts
        self._base_delay = base_delay
        #: Calls made, by operation name (for benchmarks and tests).
        self.calls: dict[str, int] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("batch")
        return self._client

    @property
    def submit_client(self) -> Any:
        if self._submit_client is None:
            self._submit_client = aws.client("batch", max_attempts=1)
        return self._submit_client

    def _call(self, operation: str, *, client: Any | None = None, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls[operation] = self.calls.get(operation, 0) + 1
        try:
            result: dict[str, Any] = getattr(client or self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _batch_error(operation, exc) from exc
        return result

    # ------------------------------------------------------------------ jobs

    def submit_job(self, request: Mapping[str, Any], exclude: Iterable[str] = ()) -> str:
        """Submit once: after an unclear failure, find the job the server may have accepted
        before submitting again (see the module's docstring; ``exclude``: ids that look the
        same but are not it, e.g. jobs of the run that were withdrawn)."""
        for attempt in range(1, self._submit_attempts + 1):
            if attempt > 1:
                found = self.find_submitted(request, exclude)
                if found is not None:
                    log.info(
                        "job %s was accepted before the failure: %s", request["jobName"], found
                    )
                    return found
            try:
                return str(self._call("submit_job", client=self.submit_client, **request)["jobId"])
            except BatchError as exc:
                if not _submit_may_retry(exc.__cause__) or attempt == self._submit_attempts:
                    raise
                delay = min(self._base_delay * 2 ** (attempt - 1), 20.0)
                log.warning(
                    "submit %s: %s, retry %d in %.1fs", request["jobName"], exc, attempt, delay
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def find_submitted(self, request: Mapping[str, Any], exclude: Iterable[str] = ()) -> str | None:
        """The id of a job in ``request``'s queue with its name and all of its tags (not one
        of ``exclude``, nor an array child: ListJobs' filters leave children out on Batch,
        and they are not what was submitted)."""
        name, tags = str(request["jobName"]), dict(request.get("tags") or {})
        listed = self._call(
            "list_jobs",
            jobQueue=request["jobQueue"],
            filters=[{"name": "JOB_NAME", "values": [name]}],
        )
        skip = set(exclude)
        ids = [
            str(j["jobId"])
            for j in listed.get("jobSummaryList", [])
            if j.get("jobName") == name and ":" not in str(j["jobId"]) and j["jobId"] not in skip
        ]
        if not ids:
            return None
        described = self._call("describe_jobs", jobs=ids[:DESCRIBE_CHUNK])["jobs"]
        for job in described:
            if tags.items() <= dict(job.get("tags") or {}).items():
                return str(job["jobId"])
        return None

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

    def describe_job_definition(self, reference: str) -> dict[str, Any] | None:
        """One job definition by ARN, ``name:revision`` or bare name (its latest active
        revision: DescribeJobDefinitions' list takes only ARNs and ``name:revision``)."""
        if ":" in reference:
            found = self.describe_job_definitions([reference])
        else:
            resp = self._call(
                "describe_job_definitions", jobDefinitionName=reference, status="ACTIVE"
            )
            found = resp["jobDefinitions"]
        return max(found, key=lambda d: int(d.get("revision", 0)), default=None)

    def describe_job_definitions(self, names: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in chunks(list(names)):
            resp = self._call(
                "describe_job_definitions", jobDefinitions=list(chunk), status="ACTIVE"
            )
            out.extend(resp["jobDefinitions"])
        return out


def _submit_may_retry(cause: BaseException | None) -> bool:
    """Throttling, 5xx, timeouts and dropped connections: the job may or may not exist."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    if isinstance(cause, (ReadTimeoutError, BotoConnectionError)):
        return True
    if cause is None or not error_code(cause):
        return False
    status = int(
        getattr(cause, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    )
    return error_code(cause) in _SUBMIT_RETRY_CODES or status == 429 or status >= 500


def definition_log_group(definition: Mapping[str, Any]) -> str:
    """The log group a job definition's containers log to (its ``awslogs-group``; Batch's
    default group when it sets none)."""
    container = definition.get("containerProperties") or {}
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return str(options.get("awslogs-group") or DEFAULT_LOG_GROUP)


def _batch_error(operation: str, exc: BaseException) -> BatchError:
    """A failed call (after botocore's retries) as the project's error, by the one mapping
    (:func:`worker.errors.exit_status`): refused requests are the user's to fix (2); what
    retries could not fix is worth retrying later (75)."""
    code = error_code(exc)
    message = f"AWS Batch {operation} failed: " + (
        f"{code}: {error_message(exc)}" if code else str(exc)
    )
    status = exit_status(exc)
    if status is None:
        return BatchError(message)
    if status[0] == ExitCode.TRANSIENT:
        return BatchUnavailableError(f"{message} (after botocore's retries)")
    if status[0] == ExitCode.BAD_CONFIG:
        detail = "; check the queue, job definition and job ids" if code else ""
        return BatchRefusedError(message + detail if code else status[1])
    return BatchError(message)
