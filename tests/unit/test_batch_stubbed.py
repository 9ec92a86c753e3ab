"""What moto cannot produce, pinned with botocore's Stubber: a throttled SubmitJob,
DescribeJobs over 100 ids, array-job children, retry attempts, log paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scheduler.batch import BatchClient, JobStatus
from scheduler.errors import BatchError
from scheduler.logs import LogStreamMissingError, iter_job_log
from scheduler.watch import iter_updates
from worker.contract import ExitCode
from worker.errors import ConfigError


@pytest.fixture
def raw() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "batch", region_name="eu-north-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def job(job_id: str, status: str = "RUNNING", **extra: Any) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "jobName": f"name-{job_id}",
        "jobQueue": "q",
        "status": status,
        "jobDefinition": "def",
        "startedAt": 1,
        **extra,
    }


def test_a_throttled_submit_gives_up_with_a_clear_error(raw: tuple[Any, Stubber]) -> None:
    """Between attempts the facade looks for the job (botocore's own retries of other calls
    are pinned against a real HTTP server in tests/infra/test_aws_rules.py)."""
    client, stub = raw
    request = {"jobName": "n", "jobQueue": "q", "jobDefinition": "d"}
    listed = {"jobQueue": "q", "filters": [{"name": "JOB_NAME", "values": ["n"]}]}
    for attempt in range(3):
        if attempt:
            stub.add_response("list_jobs", {"jobSummaryList": []}, listed)
        stub.add_client_error("submit_job", "ThrottlingException", http_status_code=400)
    sleeps: list[float] = []
    with pytest.raises(BatchError, match="submit_job failed: ThrottlingException") as err:
        BatchClient(client, sleep=sleeps.append, submit_attempts=3).submit_job(request)
    assert sleeps == [1.0, 2.0]
    assert err.value.exit_code == ExitCode.TRANSIENT  # worth a retry: exit 75


def test_client_errors_are_not_retried(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    stub.add_client_error("terminate_job", "ClientException", "no such job", 400)
    sleeps: list[float] = []
    with pytest.raises(ConfigError, match="no such job") as err:
        BatchClient(client, sleep=sleeps.append).terminate_job("x", "because")
    assert sleeps == []
    assert err.value.exit_code == ExitCode.BAD_CONFIG  # an unknown id is the user's to fix


def test_other_errors_stay_batch_errors(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    stub.add_client_error("terminate_job", "SomethingNew", "odd", 300)
    with pytest.raises(BatchError, match="odd"):
        BatchClient(client, sleep=lambda _: None).terminate_job("x", "because")


def test_describe_jobs_asks_in_chunks_of_100(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    ids = [f"j{i:03d}" for i in range(250)]
    for chunk in (ids[:100], ids[100:200], ids[200:]):
        stub.add_response(
            "describe_jobs", {"jobs": [job(i) for i in chunk]}, expected_params={"jobs": chunk}
        )
    facade = BatchClient(client)
    assert len(facade.describe_jobs(ids)) == 250
    assert facade.calls == {"describe_jobs": 3}


def test_array_job_children(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    parent = job("p", "PENDING", arrayProperties={"size": 3, "statusSummary": {}})
    stub.add_response("describe_jobs", {"jobs": [parent]})
    children = [job(f"p:{i}", "SUCCEEDED", arrayProperties={"index": i}) for i in range(3)]
    stub.add_response(
        "describe_jobs", {"jobs": children}, expected_params={"jobs": ["p:0", "p:1", "p:2"]}
    )
    facade = BatchClient(client)
    (described,) = facade.describe_jobs(["p"])
    assert described.array_size == 3
    kids = facade.describe_children(described)
    assert [k.job_id for k in kids] == ["p:0", "p:1", "p:2"]
    assert all(k.array_size is None for k in kids)


def test_watch_reports_a_retried_attempt_then_the_end(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    first = {"container": {"exitCode": 75}, "statusReason": "transient", "startedAt": 1}
    host = {"container": {}, "statusReason": "Host EC2 (instance i-1) terminated.", "startedAt": 2}
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNING")]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNABLE", attempts=[first])]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNABLE", attempts=[first])]})
    stub.add_response(
        "describe_jobs",
        {"jobs": [job("a", "FAILED", attempts=[first, host], container={"exitCode": 3})]},
    )
    clock = iter(range(100))
    updates = list(
        iter_updates(
            BatchClient(client), ["a"], interval=1, sleep=lambda _: None, clock=lambda: next(clock)
        )
    )
    assert [[c.job.status for c in u.changes] for u in updates] == [
        [JobStatus.RUNNING],
        [JobStatus.RUNNABLE],
        [JobStatus.FAILED],
    ]
    assert updates[1].changes[0].retried
    final = updates[-1].jobs["a"]
    assert len(final.attempts) == 2
    assert final.reason == "Host EC2 (instance i-1) terminated."


def test_logs_page_to_the_end_and_say_when_the_stream_is_missing(
    raw: tuple[Any, Stubber],
) -> None:
    client, stub = raw
    logs = boto3.client(
        "logs", region_name="eu-north-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stub.add_response(
        "describe_jobs",
        {"jobs": [job("a", "SUCCEEDED", container={"logStreamName": "def/default/a"})]},
    )
    with Stubber(logs) as log_stub:
        ev = [{"timestamp": i, "message": f"line {i}", "ingestionTime": i} for i in range(3)]
        log_stub.add_response("get_log_events", {"events": ev[:2], "nextForwardToken": "f/1"})
        log_stub.add_response("get_log_events", {"events": ev[2:], "nextForwardToken": "f/2"})
        log_stub.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"})
        lines = [e.message for e in iter_job_log("a", batch=BatchClient(client), logs=logs)]
    assert lines == ["line 0", "line 1", "line 2"]
    stub.add_response("describe_jobs", {"jobs": [job("b", "RUNNABLE")]})
    with pytest.raises(LogStreamMissingError, match=r"has no log stream yet.*--follow"):
        list(iter_job_log("b", batch=BatchClient(client), logs=logs))


def _run_with_manifest(tmp_path: Any) -> Any:
    import json as json_

    from worker.storage.local import LocalStore

    store = LocalStore(str(tmp_path / "store"))
    manifest = {
        "run_id": "r1",
        "jobs": [{"test_run_id": "t1", "name": "name-a"}],
        "batch": {"job_queue": "q", "job_ids": {"t1": "a"}},
    }
    store.put_bytes("runs/r1/manifest.json", json_.dumps(manifest).encode())
    return store


def test_watch_run_follows_the_manifest_and_keeps_job_records(
    raw: tuple[Any, Stubber], tmp_path: Any
) -> None:
    from scheduler.watch import watch_run

    client, stub = raw
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNING")]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "SUCCEEDED", stoppedAt=5)]})
    store = _run_with_manifest(tmp_path)
    updates: list[Any] = []
    written: list[Any] = []
    result = watch_run(
        BatchClient(client), store, "r1", on_update=updates.append, write_jobs=written.extend,
        interval=1.0, sleep=lambda _: None,
    )  # fmt: skip
    assert result.succeeded and [u.jobs["a"].status.value for u in updates] == [
        "RUNNING", "SUCCEEDED",
    ]  # fmt: skip
    assert [(r.job_id, r.test_run_id, r.status) for r in written] == [("a", "t1", "SUCCEEDED")]
    assert b'"status": "SUCCEEDED"' in store.get_bytes("runs/r1/jobs.json")


def test_watch_run_keeps_the_records_when_interrupted(
    raw: tuple[Any, Stubber], tmp_path: Any
) -> None:
    from scheduler.watch import watch_run

    client, stub = raw
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNING")]})
    store = _run_with_manifest(tmp_path)
    written: list[Any] = []

    def ctrl_c(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        watch_run(
            BatchClient(client), store, "r1", on_update=lambda _: None,
            write_jobs=written.extend, sleep=ctrl_c,
        )  # fmt: skip
    assert [r.status for r in written] == ["RUNNING"]
    assert b'"status": "RUNNING"' in store.get_bytes("runs/r1/jobs.json")


def _watch_lines(client: Any) -> list[str]:
    from scheduler.render import format_change

    clock = iter(range(100))
    updates = iter_updates(
        BatchClient(client), ["a"], interval=1, sleep=lambda _: None, clock=lambda: next(clock)
    )
    return [format_change(c) for u in updates for c in u.changes]


def test_a_job_that_runs_once_is_on_attempt_one_however_batch_lists_the_running_attempt(
    raw: tuple[Any, Stubber],
) -> None:
    """moto lists the running attempt (start time only); real Batch lists an attempt once it
    ended. Neither is a retry: no "attempt 2" for a job that ran once."""
    client, stub = raw
    running = {"container": {"logStreamName": "def/default/a"}, "startedAt": 5}
    ended = {**running, "stoppedAt": 9, "container": {"exitCode": 0}}
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNABLE")]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNING", attempts=[running])]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "SUCCEEDED", attempts=[ended])]})

    lines = _watch_lines(client)

    assert lines == [
        "name-a - job a is RUNNABLE",
        "name-a - job a is RUNNING",
        "name-a - job a is SUCCEEDED (exit code 0)",
    ]


def test_a_retried_job_says_which_attempt_it_is_on(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    first = {"container": {"exitCode": 75}, "startedAt": 1, "stoppedAt": 2}
    second = {"container": {"logStreamName": "s"}, "startedAt": 3}
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNING", attempts=[])]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNABLE", attempts=[first])]})
    stub.add_response("describe_jobs", {"jobs": [job("a", "RUNNING", attempts=[first, second])]})
    stub.add_response(
        "describe_jobs",
        {"jobs": [job("a", "SUCCEEDED", attempts=[first, {**second, "stoppedAt": 4}])]},
    )

    lines = _watch_lines(client)

    assert lines[1] == "name-a - job a is RUNNABLE (exit code 75), attempt 2"
    assert lines[2] == "name-a - job a is RUNNING"
    assert "attempt" not in lines[3]
