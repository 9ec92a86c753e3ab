"""Exit paths a retry must not take: a checksum that still differs after a second download, a
results store that is down once results.json is safe; and ids by unique prefix."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from scheduler.batch import BatchClient, definition_log_group
from scheduler.compare import resolve_test_run_id
from scheduler.local import run_locally
from scheduler.sandbox.moto_server import MotoServer
from scheduler.sandbox.processes import free_port
from tests.jobs import command_job
from tests.resultsdb.conftest import FAST_RETRIES
from tests.resultsdb.documents import make_document
from worker import aws as aws_clients
from worker.contract import RESULTS_FILE, RESULTS_STORE_PENDING, Env, ExitCode
from worker.errors import ConfigError, IntegrityError, NotFoundError
from worker.fetch import fetch_verified
from worker.job import parse_job
from worker.params import ResultsStoreRef
from worker.resultsdb import factory
from worker.resultsdb.sqlite import SqliteResultsStore
from worker.storage.local import LocalStore


def test_a_garbled_download_is_fetched_once_more() -> None:
    answers: list[Any] = [IntegrityError("sha256 differs"), "ok"]

    def download() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert fetch_verified(download) == "ok"
    assert answers == []


def test_a_stored_object_that_differs_twice_fails_without_retry(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path / "store"))
    info = store.put_bytes("artifacts/a.jar", b"the bytes that were uploaded")
    (tmp_path / "store" / "artifacts" / "a.jar").write_bytes(b"bytes changed in the store")
    calls = []

    def download() -> object:
        calls.append(1)
        return store.get_file("artifacts/a.jar", tmp_path / "a.jar", expected_sha256=info.sha256)

    with pytest.raises(IntegrityError, match="twice") as caught:
        fetch_verified(functools.partial(download))
    assert len(calls) == 2
    assert caught.value.exit_code == ExitCode.BAD_CONFIG  # not 75: Batch must not retry it
    assert not (tmp_path / "a.jar").exists()


def test_a_results_store_outage_after_results_json_is_a_warning_not_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = factory.open_results_store
    monkeypatch.setattr(
        factory,
        "open_results_store",
        lambda ref, **kw: real(ref, policy=FAST_RETRIES, **kw),  # a quick give-up
    )
    monkeypatch.setenv(Env.RESULTS_STORE_PASSWORD, "pw-never-shown-2")
    down = ResultsStoreRef(uri=f"bolt://127.0.0.1:{free_port()}", user="neo4j")
    run = run_locally(
        [parse_job(command_job())], job_dir=tmp_path, workspace=tmp_path / "ws", results_store=down
    )
    (report,) = run.reports
    assert run.exit_code == ExitCode.OK  # the benchmark ran once and succeeded: no rerun
    assert any(m.startswith(RESULTS_STORE_PENDING) for m in report.messages)
    results = Path(report.results_uri)
    assert (results / RESULTS_FILE).is_file()
    marker = (results / RESULTS_STORE_PENDING).read_text()
    assert "invoke results-sync" in marker and "pw-never-shown-2" not in marker
    assert RESULTS_STORE_PENDING in (results / "logs" / "worker.log").read_text()


def test_test_run_ids_by_unique_prefix(tmp_path: Path) -> None:
    store = SqliteResultsStore(tmp_path / "r.sqlite")
    for test_run in ("abcd1234-0000", "abcd9999-0000", "ef012345-0000"):
        store.write_document(make_document(test_run))
    assert resolve_test_run_id(store, "ef01") == "ef012345-0000"
    assert resolve_test_run_id(store, "abcd1234-0000") == "abcd1234-0000"
    with pytest.raises(
        ConfigError, match=r"ambiguous: 2 test runs match \(abcd1234-0000, abcd9999"
    ):
        resolve_test_run_id(store, "abcd")
    with pytest.raises(NotFoundError, match="'zz'"):
        resolve_test_run_id(store, "zz")
    store.close()


def test_schedule_names_the_log_group_of_the_job_definition(aws: MotoServer) -> None:
    """A stack's job definitions log to the stack's group, not Batch's default."""
    client = aws_clients.client("batch")
    for revision_group in ("/aws/batch/old", "/aws/batch/benchmarking-me"):
        client.register_job_definition(
            jobDefinitionName="def-with-logs",
            type="container",
            containerProperties={
                "image": "img",
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "512"},
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": revision_group},
                },
            },
        )
    batch = BatchClient()
    latest = batch.describe_job_definition("def-with-logs")
    assert latest is not None and definition_log_group(latest) == "/aws/batch/benchmarking-me"
    by_arn = batch.describe_job_definition(latest["jobDefinitionArn"])
    assert by_arn is not None and by_arn["revision"] == latest["revision"] == 2
    assert batch.describe_job_definition("no-such-definition") is None
    assert definition_log_group({"containerProperties": {}}) == "/aws/batch/job"


def test_watch_names_the_console_page_of_a_failed_jobs_log_stream() -> None:
    from scheduler.batch import JobDescription, JobStatus
    from scheduler.errors import JobsFailedError
    from scheduler.logs import describe_log_location
    from scheduler.watch import RunOutcome, check_outcome

    failed = JobDescription(
        "job-1", "w-1", JobStatus.FAILED, "Essential container exited", 1, 2, 3, 3,
        "bench-worker/default/abc123", "/aws/batch/benchmarking-me", "def",
    )  # fmt: skip
    with pytest.raises(JobsFailedError) as caught:
        check_outcome(RunOutcome((failed,)), lambda j: describe_log_location(j, "eu-north-1"))
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.BENCHMARK_FAILED
    assert "https://eu-north-1.console.aws.amazon.com/cloudwatch/home?region=eu-north-1" in message
    assert "log-groups/log-group/$252Faws$252Fbatch$252Fbenchmarking-me/log-events/" in message
    assert "bench-worker$252Fdefault$252Fabc123" in message
