"""A run as array jobs, by Batch's rules rather than moto's: grouping, the child's index, the
request shapes (botocore's model), all-or-nothing submission, resume, the watch's calls per
poll, cancel. Batch's answers are pinned with botocore's Stubber where moto differs (parents'
status, statusSummary's timestamps, children under ListJobs filters, retried attempts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from botocore.validate import ParamValidator

from scheduler import plan as planning
from scheduler.arrays import split_child_id, summary_done, units_of
from scheduler.batch import BatchClient, JobStatus
from scheduler.cancel import cancel_jobs, cancel_run
from scheduler.errors import BatchError
from scheduler.logs import iter_job_log, iter_run_log
from scheduler.plan import PlannedGroup, expand_jobs, prepare_run, read_manifest
from scheduler.submit import (
    TAG_TEST_RUN_ID,
    SubmitSettings,
    Target,
    build_array_request,
    build_group_request,
    submit_run,
)
from scheduler.watch import iter_updates
from tests.jobs import command_job
from worker.errors import ConfigError
from worker.job import parse_job
from worker.params import array_index_of, parameters_from_json
from worker.storage.local import LocalStore

SETTINGS = SubmitSettings(Target("q", "d"), env="me", build="42", attempts=3)


@pytest.fixture
def raw() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "batch", region_name="eu-north-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _validate(operation: str, params: dict[str, Any]) -> None:
    model = boto3.client(
        "batch", region_name="eu-north-1", aws_access_key_id="x", aws_secret_access_key="y"
    ).meta.service_model
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def _prepared(tmp_path: Path, jobs: int) -> tuple[planning.RunPlan, LocalStore]:
    store = LocalStore(str(tmp_path / "store"))
    job = parse_job(command_job(warmup_count=0, measurement_count=1))
    planned = expand_jobs(job, workloads=[f"w{i}" for i in range(jobs)])
    return prepare_run(planned, store, job_dir=tmp_path, run_id="r1"), store


# --------------------------------------------------------------------------- grouping, index


def test_a_run_is_one_group_with_one_parameters_object(tmp_path: Path) -> None:
    plan, store = _prepared(tmp_path, 5)
    (group,) = plan.groups
    assert group.size == 5 and [j.array_index for j in plan.jobs] == [0, 1, 2, 3, 4]
    root = tmp_path / "store"
    assert sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    ) == [
        "runs/r1/array-0/job-parameters.json",
        "runs/r1/manifest.json",
    ]
    raw = store.get_bytes("runs/r1/array-0/job-parameters.json")
    for job in plan.jobs:  # each child reads its own entry
        entry = parameters_from_json(raw, index=job.array_index)
        assert entry.test_run_id == job.test_run_id and entry.job.workload == job.workload


def test_groups_hold_at_most_batch_s_array_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "MAX_ARRAY_SIZE", 3)
    plan, _ = _prepared(tmp_path, 7)
    assert [g.size for g in plan.groups] == [3, 3, 1]
    assert [(j.group, j.array_index) for j in plan.jobs][-2:] == [(1, 2), (2, 0)]
    assert len({g.parameters_uri for g in plan.groups}) == 3


@pytest.mark.parametrize(
    ("environ", "index"),
    [
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "7", "AWS_BATCH_JOB_ID": "p:7"}, 7),
        ({"AWS_BATCH_JOB_ID": "3f1c-aa:12"}, 12),  # moto: the id only
        ({"AWS_BATCH_JOB_ID": "3f1c-aa"}, None),  # a plain job
        ({}, None),
    ],
)
def test_a_child_finds_its_index(environ: dict[str, str], index: int | None) -> None:
    assert array_index_of(environ) == index


def test_the_index_must_fit_the_group(tmp_path: Path) -> None:
    plan, store = _prepared(tmp_path, 2)
    raw = store.get_bytes("runs/r1/array-0/job-parameters.json")
    with pytest.raises(ConfigError, match="no job at array index 2"):
        parameters_from_json(raw, index=2)
    with pytest.raises(ConfigError, match="has no array index"):
        parameters_from_json(raw)
    single = json.dumps(json.loads(raw)["jobs"][0])  # a plain job's document, as before
    assert parameters_from_json(single, index=5).test_run_id == plan.jobs[0].test_run_id


def test_child_ids_name_their_parent() -> None:
    assert split_child_id("abc-1:12") == ("abc-1", 12) and split_child_id("abc-1") is None
    units = units_of(["p:1", "p:0", "plain", "q:0"])
    assert dict(units.parents) == {"p": ("p:0", "p:1"), "q": ("q:0",)}
    assert units.plain == ("plain",)
    assert summary_done({"SUCCEEDED": 2, "FAILED": 1, "RUNNING": 4}, 7) == 3


# --------------------------------------------------------------------------- request shapes


def test_an_array_request_is_valid_and_carries_batch_s_per_child_settings() -> None:
    group = PlannedGroup(0, "ci-42-r1-array-0", "s3://b/runs/r1/array-0/job-parameters.json", 1000)
    request = build_array_request(group, "r1", SETTINGS)
    _validate("SubmitJob", request)
    assert request["arrayProperties"] == {"size": 1000}
    assert request["parameters"] == {"jobParameters": group.parameters_uri}  # the only one
    # retry strategy and timeout apply to each child (Batch's SubmitJob/JobTimeout docs)
    assert request["retryStrategy"]["attempts"] == 3
    assert request["timeout"]["attemptDurationSeconds"] >= 60
    assert request["tags"]["benchmark-run-id"] == "r1" and TAG_TEST_RUN_ID not in request["tags"]
    assert len(request["tags"]) <= 50 and request["propagateTags"] is True
    assert "containerOverrides" not in request


@pytest.mark.parametrize("size", [1, 10_001])
def test_batch_s_array_sizes_are_2_to_10000(size: int) -> None:
    with pytest.raises(ConfigError, match="Batch takes 2 to 10000"):
        build_array_request(PlannedGroup(0, "n", "s3://b/p", size), "r1", SETTINGS)


def test_a_group_of_one_is_a_plain_job(tmp_path: Path) -> None:
    plan, _ = _prepared(tmp_path, 1)
    request = build_group_request(plan, plan.groups[0], SETTINGS)
    _validate("SubmitJob", request)
    assert "arrayProperties" not in request
    assert request["tags"][TAG_TEST_RUN_ID] == plan.jobs[0].test_run_id


# --------------------------------------------------------------------------- all or nothing


def _parent(
    job_id: str, size: int, summary: dict[str, int], updated_at: int | None = None
) -> dict[str, Any]:
    array: dict[str, Any] = {"size": size, "statusSummary": summary}
    if updated_at is not None:
        array["statusSummaryLastUpdatedAt"] = updated_at
    return {
        "jobId": job_id,
        "jobName": f"name-{job_id}",
        "jobQueue": "q",
        "status": "PENDING",
        "jobDefinition": "d",
        "arrayProperties": array,
        "startedAt": 1,  # the model requires it
    }


def _child(job_id: str, status: str, **extra: Any) -> dict[str, Any]:
    index = int(job_id.rpartition(":")[2])
    return {
        "jobId": job_id,
        "jobName": "name-parent",
        "jobQueue": "q",
        "status": status,
        "jobDefinition": "d",
        "arrayProperties": {"index": index},
        "startedAt": 1,
        **extra,
    }


def test_a_failed_later_group_withdraws_the_run_and_resume_submits_it_whole(
    raw: tuple[Any, Stubber], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = raw
    monkeypatch.setattr(planning, "MAX_ARRAY_SIZE", 2)
    plan, store = _prepared(tmp_path, 3)  # an array of 2, then a plain job
    stub.add_response("submit_job", {"jobId": "A", "jobName": "a"})
    stub.add_client_error("submit_job", "ClientException", "queue is disabled", 400)
    stub.add_response("describe_jobs", {"jobs": [_parent("A", 2, {"RUNNABLE": 2})]})
    stub.add_response("terminate_job", {}, {"jobId": "A", "reason": ANY})
    with pytest.raises(BatchError, match=r"run r1 was not submitted.*terminated \(A\)") as err:
        submit_run(plan, store, BatchClient(client), SETTINGS)
    assert err.value.exit_code == 2  # the refusal's code: the user's to fix
    batch_part = read_manifest(store, "r1")["batch"]
    assert batch_part["job_ids"] == {} and batch_part["withdrawn"] == ["A"]

    # again with the run id: the withdrawn array job looks like ours but is not taken
    listed = [{"jobId": "A", "jobName": plan.groups[0].name}]
    stub.add_response("list_jobs", {"jobSummaryList": listed})
    stub.add_response("submit_job", {"jobId": "B", "jobName": "b"})
    stub.add_response("list_jobs", {"jobSummaryList": []})
    stub.add_response("submit_job", {"jobId": "C", "jobName": "c"})
    run = submit_run(plan, store, BatchClient(client), SETTINGS, resume=batch_part)
    assert [j.job_id for j in run.jobs] == ["B:0", "B:1", "C"]
    assert read_manifest(store, "r1")["batch"]["group_ids"] == {"0": "B", "1": "C"}


def test_resume_keeps_the_groups_the_manifest_knows(
    raw: tuple[Any, Stubber], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = raw
    monkeypatch.setattr(planning, "MAX_ARRAY_SIZE", 2)
    plan, store = _prepared(tmp_path, 4)
    stub.add_response("list_jobs", {"jobSummaryList": []})
    stub.add_response("submit_job", {"jobId": "Y", "jobName": "y"})
    resume = {"group_ids": {"0": "X"}, "withdrawn": []}
    run = submit_run(plan, store, BatchClient(client), SETTINGS, resume=resume)
    assert [j.job_id for j in run.jobs] == ["X:0", "X:1", "Y:0", "Y:1"]


# --------------------------------------------------------------------------- watch


def test_watch_asks_for_children_only_when_the_summary_changed(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    kids = ["P:0", "P:1"]
    running = {"RUNNING": 1, "RUNNABLE": 1}
    stub.add_response("describe_jobs", {"jobs": [_parent("P", 2, running)]}, {"jobs": ["P"]})
    stub.add_response(
        "describe_jobs",
        {"jobs": [_child("P:0", "RUNNING"), _child("P:1", "RUNNABLE")]},
        {"jobs": kids},
    )
    for _ in range(3):  # nothing changes: one call per poll
        stub.add_response("describe_jobs", {"jobs": [_parent("P", 2, running)]}, {"jobs": ["P"]})
    retried = {"container": {"exitCode": 75}, "startedAt": 1, "stoppedAt": 2}
    moved = {"RUNNABLE": 1, "RUNNING": 1, "SUCCEEDED": 0}  # P:0 retried while P:1 started
    stub.add_response(
        "describe_jobs",
        {"jobs": [_parent("P", 2, moved, updated_at=5)]},
        {"jobs": ["P"]},
    )
    stub.add_response(
        "describe_jobs",
        {"jobs": [_child("P:0", "RUNNABLE", attempts=[retried]), _child("P:1", "RUNNING")]},
        {"jobs": kids},
    )
    done = {"SUCCEEDED": 1, "FAILED": 1}
    stub.add_response("describe_jobs", {"jobs": [_parent("P", 2, done)]}, {"jobs": ["P"]})
    stub.add_response(
        "describe_jobs",
        {
            "jobs": [
                _child("P:0", "SUCCEEDED", attempts=[retried, {**retried, "container": {}}]),
                _child("P:1", "FAILED", statusReason="exit code 3"),
            ]
        },
        {"jobs": kids},
    )
    batch = BatchClient(client)
    calls: list[int] = []

    def sleep(_: float) -> None:
        calls.append(batch.calls["describe_jobs"] - sum(calls))

    clock = iter(range(100))
    updates = list(
        iter_updates(
            batch,
            kids,
            interval=1,
            sleep=sleep,
            clock=lambda: next(clock),
            names={"P:0": "w0", "P:1": "w1"},
        )
    )
    assert calls == [2, 1, 1, 1, 2]  # then the last poll: 2
    assert [[(c.job.name, c.job.status) for c in u.changes] for u in updates] == [
        [("w0", JobStatus.RUNNING), ("w1", JobStatus.RUNNABLE)],
        [("w0", JobStatus.RUNNABLE), ("w1", JobStatus.RUNNING)],
        [("w0", JobStatus.SUCCEEDED), ("w1", JobStatus.FAILED)],
    ]
    assert updates[1].changes[0].retried  # a child's retry is reported
    assert updates[-1].done and updates[-1].jobs["P:0"].ended_attempts == 2


def test_children_not_created_yet_are_waited_for(raw: tuple[Any, Stubber]) -> None:
    """Batch creates the children after the parent: an empty summary, no children yet."""
    client, stub = raw
    stub.add_response("describe_jobs", {"jobs": [_parent("P", 2, {})]})
    stub.add_response("describe_jobs", {"jobs": []})
    stub.add_response("describe_jobs", {"jobs": [_parent("P", 2, {"SUCCEEDED": 2})]})
    stub.add_response(
        "describe_jobs", {"jobs": [_child("P:0", "SUCCEEDED"), _child("P:1", "SUCCEEDED")]}
    )
    clock = iter(range(100))
    updates = list(
        iter_updates(
            BatchClient(client),
            ["P:0", "P:1"],
            interval=1,
            sleep=lambda _: None,
            clock=lambda: next(clock),
        )
    )
    assert len(updates) == 1 and updates[0].done


# --------------------------------------------------------------------------- cancel, logs


def test_cancelling_a_run_terminates_the_parent_and_its_started_children(
    raw: tuple[Any, Stubber],
) -> None:
    client, stub = raw
    stub.add_response(
        "describe_jobs",
        {"jobs": [_parent("P", 3, {"RUNNING": 1, "RUNNABLE": 1, "SUCCEEDED": 1})]},
        {"jobs": ["P"]},
    )
    stub.add_response("terminate_job", {}, {"jobId": "P", "reason": "stop"})
    stub.add_response(
        "describe_jobs",
        {
            "jobs": [
                _child("P:0", "SUCCEEDED"),
                _child("P:1", "RUNNING"),
                _child("P:2", "RUNNABLE"),
            ]
        },
        {"jobs": ["P:0", "P:1", "P:2"]},
    )
    stub.add_response("terminate_job", {}, {"jobId": "P:1", "reason": "stop"})
    terminated = cancel_run(BatchClient(client), ["P:0", "P:1", "P:2"], "stop")
    assert [j.job_id for j in terminated] == ["P", "P:1"]


def test_cancelling_one_child_leaves_the_others(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    stub.add_response("describe_jobs", {"jobs": [_child("P:1", "RUNNING")]}, {"jobs": ["P:1"]})
    stub.add_response("terminate_job", {}, {"jobId": "P:1", "reason": "stop"})
    assert [j.job_id for j in cancel_jobs(BatchClient(client), ["P:1"], "stop")] == ["P:1"]


def test_logs_of_an_array_parent_ask_for_a_child(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    stub.add_response("describe_jobs", {"jobs": [_parent("P", 3, {})]})
    with pytest.raises(ConfigError, match=r"array job of 3 children.*invoke logs P:0"):
        list(iter_job_log("P", batch=BatchClient(client), logs=object()))


def test_the_logs_of_a_run_are_each_job_s_in_turn(raw: tuple[Any, Stubber]) -> None:
    client, stub = raw
    logs = boto3.client(
        "logs", region_name="eu-north-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stream = {"container": {"logStreamName": "def/default/P:0"}}
    stub.add_response("describe_jobs", {"jobs": [_child("P:0", "SUCCEEDED", **stream)]})
    stub.add_response("describe_jobs", {"jobs": [_child("P:1", "RUNNABLE")]})
    with Stubber(logs) as log_stub:
        events = [{"timestamp": 1, "message": "hello", "ingestionTime": 1}]
        log_stub.add_response("get_log_events", {"events": events, "nextForwardToken": "f/1"})
        log_stub.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"})
        lines = list(iter_run_log({"P:0": "w0", "P:1": "w1"}, batch=BatchClient(client), logs=logs))
    assert lines[:3] == ["==> w0 (job P:0) <==", "hello", "==> w1 (job P:1) <=="]
    assert "has no log stream yet" in lines[3] and len(lines) == 4
