"""A job's log events from CloudWatch Logs, as a generator.

The log stream is found from the job (DescribeJobs names it once the container started).
Events are paged to the end of the stream; with ``follow`` the generator keeps reading while
the job runs and stops after a last read once it is done.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from scheduler.batch import BatchClient, JobDescription
from scheduler.errors import BatchError
from worker import aws
from worker.awserrors import error_code
from worker.errors import ConfigError, NotFoundError

log = logging.getLogger(__name__)

DEFAULT_FOLLOW_INTERVAL = 5.0


class LogStreamMissingError(NotFoundError):
    """The job has no log stream (yet): exit code 2, like any missing resource."""


@dataclasses.dataclass(frozen=True)
class LogEvent:
    timestamp: int
    message: str


def console_url(region: str, group: str, stream: str | None = None) -> str:
    """The CloudWatch console page of a log group (or one of its streams)."""

    def enc(text: str) -> str:
        return urllib.parse.quote(urllib.parse.quote(text, safe=""), safe="").replace("%", "$")

    url = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{enc(group)}"
    )
    return f"{url}/log-events/{enc(stream)}" if stream else url


def describe_log_location(job: JobDescription, region: str) -> str:
    if job.log_stream:
        url = console_url(region, job.log_group, job.log_stream)
        return f"{job.log_group} {job.log_stream} ({url})"
    return f"no log stream yet; invoke logs {job.job_id} --follow"


def _find_job(batch: BatchClient, job_id: str) -> JobDescription:
    found = batch.describe_jobs([job_id])
    if not found:
        raise NotFoundError(f"Batch does not know job {job_id}; check the id (invoke watch RUN_ID)")
    if found[0].array_size:
        raise ConfigError(
            f"job {job_id} is an array job of {found[0].array_size} children, which log on their "
            f"own: name one (invoke logs {job_id}:0) or the run (invoke logs --run-id RUN_ID)"
        )
    return found[0]


def _is_missing_stream(exc: Exception) -> bool:
    return error_code(exc) == "ResourceNotFoundException"


def _page(logs: Any, group: str, stream: str, token: str | None) -> tuple[list[LogEvent], str]:
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    if token:
        kwargs["nextToken"] = token
    resp = logs.get_log_events(**kwargs)
    events = [LogEvent(int(e["timestamp"]), str(e["message"])) for e in resp.get("events", [])]
    return events, str(resp["nextForwardToken"])


def iter_pages(
    logs: Any, group: str, stream: str, token: str | None = None
) -> Iterator[tuple[list[LogEvent], str]]:
    """Pages of a stream from ``token`` on, each with the token that continues after it.

    The end is reached when a page comes back with the token it was asked with."""
    while True:
        try:
            events, next_token = _page(logs, group, stream, token)
        except Exception as exc:
            if _is_missing_stream(exc):
                raise LogStreamMissingError(f"log stream {group} {stream} does not exist") from None
            raise BatchError(f"CloudWatch Logs get_log_events on {stream} failed: {exc}") from None
        yield events, next_token
        if next_token == token:
            return
        token = next_token


def iter_job_log(
    job_id: str,
    *,
    follow: bool = False,
    batch: BatchClient | None = None,
    logs: Any | None = None,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = DEFAULT_FOLLOW_INTERVAL,
) -> Iterator[LogEvent]:
    """The log events of a Batch job. Without ``follow`` a missing stream is an error that
    says why; with it, the generator waits for the stream and reads until the job is done."""
    batch = batch or BatchClient(sleep=sleep)
    logs = logs or aws.client("logs")
    token: str | None = None
    while True:
        job = _find_job(batch, job_id)
        done = job.status.done
        if job.log_stream is None:
            if not follow or done:
                raise LogStreamMissingError(
                    f"job {job_id} ({job.name}) is {job.status.value} and has no log stream yet: "
                    "it appears once the container has started"
                    + ("" if done else f"; wait with: invoke logs {job_id} --follow")
                )
        else:
            try:
                pages = iter_pages(logs, job.log_group, job.log_stream, token)
                for events, next_token in pages:
                    token = next_token
                    yield from events
            except LogStreamMissingError:
                if not follow or done:
                    raise
        if not follow or done:
            return
        sleep(interval)


def iter_run_log(
    jobs: Mapping[str, str],
    *,
    batch: BatchClient | None = None,
    logs: Any | None = None,
) -> Iterator[str]:
    """Every job's log of a run (job id -> name, array children as ``<parent>:<index>``), one
    after the other, each after a ``==> name (job id) <==`` line; a job without a log stream
    yet says so instead of ending the listing."""
    batch = batch or BatchClient()
    logs = logs or aws.client("logs")
    for job_id, name in jobs.items():
        yield f"==> {name} (job {job_id}) <=="
        try:
            for event in iter_job_log(job_id, batch=batch, logs=logs):
                yield event.message
        except LogStreamMissingError as exc:
            yield f"({exc})"
