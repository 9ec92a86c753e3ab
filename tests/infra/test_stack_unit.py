"""Paths of deploy/destroy that moto cannot produce (failures, rollbacks), pinned with Stubber."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from scheduler import stack
from scheduler.stack import DeployRequest, Waiter
from worker import aws
from worker.errors import BenchInfraError, ConfigError

NAME = "benchmarking-me"
STACK_ID = f"arn:aws:cloudformation:eu-north-1:123456789012:stack/{NAME}/1"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WAIT = Waiter(sleep=lambda _s: None, poll_seconds=0.0, timeout_seconds=60.0)


def _stack(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": NAME,
                "StackId": STACK_ID,
                "StackStatus": status,
                "CreationTime": NOW,
                **extra,
            }
        ]
    }


def _event(
    event_id: str, logical_id: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    event = {
        "StackId": STACK_ID,
        "EventId": event_id,
        "StackName": NAME,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::Batch::ComputeEnvironment",
        "Timestamp": NOW,
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def _service_linked_role() -> dict[str, Any]:
    return {
        "Role": {
            "Path": "/aws-service-role/batch.amazonaws.com/",
            "RoleName": "AWSServiceRoleForBatch",
            "RoleId": "AROAEXAMPLEEXAMPLE123",
            "Arn": "arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/"
            "AWSServiceRoleForBatch",
            "CreateDate": NOW,
        }
    }


@pytest.fixture
def cf() -> Any:
    return aws.client("cloudformation", region_name="eu-north-1")


def test_a_rolled_back_update_fails_with_the_resource_reasons(cf: Any) -> None:
    stub = Stubber(cf)
    deployed = [{"ParameterKey": "ResultsDbPassword", "ParameterValue": "****"}]
    stub.add_response("describe_stacks", _stack("UPDATE_COMPLETE", Parameters=deployed))
    stub.add_response("create_change_set", {"Id": "cs-1", "StackId": STACK_ID})
    stub.add_response(
        "describe_change_set",
        {
            "Status": "CREATE_COMPLETE",
            "ExecutionStatus": "AVAILABLE",
            "Changes": [
                {
                    "Type": "Resource",
                    "ResourceChange": {
                        "Action": "Modify",
                        "LogicalResourceId": "ComputeEnvironmentM5dXlarge",
                        "ResourceType": "AWS::Batch::ComputeEnvironment",
                        "Replacement": "True",
                    },
                }
            ],
        },
    )
    stub.add_response(
        "describe_stack_events", {"StackEvents": [_event("old", NAME, "UPDATE_COMPLETE")]}
    )
    stub.add_response("execute_change_set", {})
    stub.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                _event("e3", NAME, "UPDATE_ROLLBACK_COMPLETE"),
                _event("e2", "ComputeEnvironmentM5dXlarge", "UPDATE_FAILED", "subnet-x not found"),
                _event("e1", NAME, "UPDATE_IN_PROGRESS"),
                _event("old", NAME, "UPDATE_COMPLETE"),
            ]
        },
    )
    stub.add_response("describe_stacks", _stack("UPDATE_ROLLBACK_COMPLETE"))
    seen: list[stack.StackEvent] = []
    iam = aws.client("iam", region_name="eu-north-1")
    iam_stub = Stubber(iam)
    iam_stub.add_response("get_role", _service_linked_role())
    with stub, iam_stub, pytest.raises(BenchInfraError) as caught:
        request = DeployRequest(env="me", ami_id="ami-1")
        for event in stack.iter_deploy(request, cf=cf, iam=iam, waiter=WAIT):
            seen.append(event)
    assert "ended UPDATE_ROLLBACK_COMPLETE" in str(caught.value)
    assert "ComputeEnvironmentM5dXlarge: subnet-x not found" in str(caught.value)
    ready = seen[0]
    assert isinstance(ready, stack.ChangeSetReady) and ready.changes[0].replacement == "True"
    statuses = [e.status for e in seen if isinstance(e, stack.ResourceEvent)]
    assert statuses == ["UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_ROLLBACK_COMPLETE"]


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS"])
def test_deploy_refuses_a_broken_or_busy_stack(cf: Any, status: str) -> None:
    stub = Stubber(cf)
    stub.add_response("describe_stacks", _stack(status))
    with stub, pytest.raises(ConfigError) as caught:
        list(stack.iter_deploy(DeployRequest(env="me"), cf=cf, waiter=WAIT))
    assert status in str(caught.value)
    expected = "invoke destroy --env me" if status == "ROLLBACK_COMPLETE" else "wait"
    assert expected in str(caught.value)


def test_a_failed_delete_suggests_emptying_the_bucket(cf: Any) -> None:
    stub = Stubber(cf)
    stub.add_response("describe_stacks", _stack("CREATE_COMPLETE"))
    stub.add_response("describe_stack_events", {"StackEvents": []})
    stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    stub.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                _event("d1", "ArtifactBucket", "DELETE_FAILED", "The bucket is not empty")
            ]
        },
    )
    stub.add_response("describe_stacks", _stack("DELETE_FAILED"), {"StackName": STACK_ID})
    with stub, pytest.raises(BenchInfraError) as caught:
        list(stack.iter_destroy("me", cf=cf, waiter=WAIT))
    assert "ArtifactBucket: The bucket is not empty" in str(caught.value)
    assert "--empty-bucket" in str(caught.value)


def test_waiting_has_a_deadline(cf: Any) -> None:
    clock = iter(range(0, 10_000, 100))
    waiter = Waiter(sleep=lambda _s: None, clock=lambda: float(next(clock)), timeout_seconds=250)
    stub = Stubber(cf)
    stub.add_response("describe_stacks", _stack("CREATE_COMPLETE"))
    stub.add_response("describe_stack_events", {"StackEvents": []})
    stub.add_response("delete_stack", {})
    for _ in range(4):
        stub.add_response("describe_stack_events", {"StackEvents": []})
        stub.add_response("describe_stacks", _stack("DELETE_IN_PROGRESS"), {"StackName": ANY})
    with stub, pytest.raises(BenchInfraError, match="still DELETE_IN_PROGRESS"):
        list(stack.iter_destroy("me", cf=cf, waiter=waiter))


def test_unset_parameters_keep_their_deployed_values() -> None:
    request = DeployRequest(env="me", ami_id="ami-2", results_db_password=None)
    deployed = {
        "Parameters": [
            {"ParameterKey": key, "ParameterValue": "x"}
            for key in ("Env", "AmiId", "ResultsDbPassword", "ResultsDbUri", "VpcId")
        ]
    }
    params = {p["ParameterKey"]: p for p in stack.build_parameters(request, deployed)}
    assert params["AmiId"] == {"ParameterKey": "AmiId", "ParameterValue": "ami-2"}
    assert params["ResultsDbPassword"] == {
        "ParameterKey": "ResultsDbPassword",
        "UsePreviousValue": True,
    }
    assert "ImageTagSuffix" not in params  # never deployed: the template default applies
    assert "hunter2" not in repr(DeployRequest(env="me", results_db_password="hunter2"))
