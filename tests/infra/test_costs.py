"""`invoke costs` against Cost Explorer results seeded into the moto server."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from invoke.context import MockContext
from invoke.exceptions import Exit

from scheduler import costs
from scheduler.costs import GroupBy
from scheduler.sandbox.moto_server import MotoServer
from scheduler.tasks import infrastructure as tasks
from worker import aws as aws_clients


def _day(start: str, end: str, groups: dict[str, str], estimated: bool = False) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": [
            {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
            for key, amount in groups.items()
        ],
        "Estimated": estimated,
    }


def _tag_status(status: str) -> Callable[..., Any]:
    """A before-call handler answering ListCostAllocationTags with ``status`` for the owner
    and env tags: moto does not implement that call (NotImplementedError); GetCostAndUsage
    still goes to the moto server."""

    def answer(**_kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        tags = [
            {"TagKey": key, "Type": "UserDefined", "Status": status} for key in ("owner", "env")
        ]
        return AWSResponse("", 200, {}, None), {"CostAllocationTags": tags}

    return answer


@pytest.fixture(autouse=True)
def cost_allocation_tags() -> Iterator[Callable[[str], None]]:
    """Tags active unless a test says otherwise (on boto3's default session, which
    ``worker.aws`` clients come from)."""
    events = boto3._get_default_session().events
    current: list[Callable[..., Any]] = []

    def set_status(status: str) -> None:
        for handler in current:
            events.unregister(_EVENT, handler)
        current[:] = [_tag_status(status)]
        events.register(_EVENT, current[0])

    set_status("Active")
    yield set_status
    for handler in current:
        events.unregister(_EVENT, handler)


_EVENT = "before-call.ce.ListCostAllocationTags"


def _seed(server: MotoServer, *results: dict[str, Any]) -> None:
    server.post("/moto-api/static/ce/cost-and-usage-results", {"results": list(results)})


SERVICES = {
    "ResultsByTime": [
        _day(
            "2026-11-18",
            "2026-11-19",
            {
                "Amazon Elastic Compute Cloud - Compute": "10.50",
                "Amazon Simple Storage Service": "0.25",
            },
        ),
        _day(
            "2026-11-19",
            "2026-11-20",
            {"Amazon Elastic Compute Cloud - Compute": "4.125", "AWS Batch": "0"},
            estimated=True,
        ),
    ],
    "DimensionValueAttributes": [],
}


def test_costs_are_summed_per_group_with_a_total(aws: MotoServer) -> None:
    _seed(aws, SERVICES)
    report = costs.fetch_costs(env="me", days=7, group_by=GroupBy.SERVICE, today=date(2026, 11, 25))

    assert [(line.group, line.amount) for line in report.lines] == [
        ("Amazon Elastic Compute Cloud - Compute", Decimal("14.625")),
        ("Amazon Simple Storage Service", Decimal("0.25")),
        ("AWS Batch", Decimal("0")),
    ]
    assert report.total == Decimal("14.875")
    assert report.estimated is True
    assert (report.start, report.end) == (date(2026, 11, 18), date(2026, 11, 25))


def test_the_table_ends_with_the_total(aws: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(aws, SERVICES)
    tasks.costs_report(MockContext(), env="me", days=7)
    lines = capsys.readouterr().out.splitlines()
    assert "owner=benchmarking (env me)" in lines[0]
    assert lines[1].split() == ["service", "USD"]
    assert lines[2].startswith("Amazon Elastic Compute Cloud - Compute") and lines[2].endswith(
        "14.62"
    )
    assert lines[-1].split() == ["TOTAL", "14.88"]


def test_json_and_csv_for_machines(aws: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    env_groups = {
        "ResultsByTime": [_day("2026-11-24", "2026-11-25", {"env$prod": "3", "env$": "1.5"})]
    }
    _seed(aws, env_groups)
    tasks.costs_report(MockContext(), group_by="env", json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["lines"] == [
        {"group": "prod", "amount": "3", "unit": "USD"},
        {"group": "(untagged)", "amount": "1.5", "unit": "USD"},
    ]
    assert data["total"] == "4.5" and data["group_by"] == "env" and data["env"] is None

    tasks.costs_report(MockContext(), group_by="env", csv=True)  # same request: same answer
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["env", "amount", "unit"]
    assert [r[:2] for r in rows[1:]] == [["prod", "3"], ["(untagged)", "1.5"], ["TOTAL", "4.5"]]


@pytest.mark.usefixtures("aws")
def test_no_costs_is_an_empty_table_with_a_zero_total(capsys: pytest.CaptureFixture[str]) -> None:
    tasks.costs_report(MockContext(), env="nobody", days=1)
    assert capsys.readouterr().out.splitlines()[-1].split() == ["TOTAL", "0.00"]


def test_request_filters_on_the_owner_and_env_tags() -> None:
    request = costs.build_request(
        env="me", days=7, group_by=GroupBy.INSTANCE_TYPE, today=date(2026, 11, 25)
    )
    assert request["TimePeriod"] == {"Start": "2026-11-18", "End": "2026-11-25"}
    assert request["GroupBy"] == [{"Type": "DIMENSION", "Key": "INSTANCE_TYPE"}]
    tags = [f["Tags"] for f in request["Filter"]["And"]]
    assert [(t["Key"], t["Values"]) for t in tags] == [("owner", ["benchmarking"]), ("env", ["me"])]
    assert costs.build_filter(None) == {
        "Tags": {"Key": "owner", "Values": ["benchmarking"], "MatchOptions": ["EQUALS"]}
    }
    assert GroupBy.ENV.definition() == {"Type": "TAG", "Key": "env"}


def test_bad_options_exit_with_the_configuration_code() -> None:
    with pytest.raises(Exit) as caught:
        tasks.costs_report(MockContext(), group_by="colour")
    assert caught.value.code == 2
    assert "service, instance-type, env" in str(caught.value.message)
    with pytest.raises(Exit) as caught:
        tasks.costs_report(MockContext(), days=0)
    assert caught.value.code == 2


def test_every_page_is_read() -> None:
    """moto never paginates Cost Explorer: a stub does."""
    ce = aws_clients.client("ce", region_name="us-east-1")
    stub = Stubber(ce)
    request = costs.build_request(
        env=None, days=2, group_by=GroupBy.SERVICE, today=date(2026, 11, 25)
    )
    first = {
        "ResultsByTime": [_day("2026-11-23", "2026-11-24", {"S3": "1"})],
        "NextPageToken": "p2",
    }
    second = {"ResultsByTime": [_day("2026-11-24", "2026-11-25", {"S3": "2"})]}
    stub.add_response(
        "list_cost_allocation_tags",
        {"CostAllocationTags": [{"TagKey": "owner", "Type": "UserDefined", "Status": "Active"}]},
        costs.build_tag_status_request(["owner"]),
    )
    stub.add_response("get_cost_and_usage", first, request)
    stub.add_response("get_cost_and_usage", second, {**request, "NextPageToken": "p2"})
    with stub:
        report = costs.fetch_costs(days=2, ce=ce, today=date(2026, 11, 25))
    stub.assert_no_pending_responses()
    assert [(line.group, line.amount) for line in report.lines] == [("S3", Decimal("3"))]


def test_inactive_cost_allocation_tags_are_reported_instead_of_a_zero_total(
    aws: MotoServer,
    cost_allocation_tags: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(aws, SERVICES)
    cost_allocation_tags("Inactive")
    with pytest.raises(Exit) as caught:
        tasks.costs_report(MockContext(), env="me", days=7)
    assert caught.value.code == 2
    message = str(caught.value.message)
    assert (
        "owner, env are not active" in message and "update-cost-allocation-tags-status" in message
    )
    assert "TOTAL" not in capsys.readouterr().out


def test_a_tag_cost_explorer_has_never_seen_counts_as_inactive() -> None:
    ce = aws_clients.client("ce", region_name="us-east-1")
    stub = Stubber(ce)
    stub.add_response(
        "list_cost_allocation_tags",
        {"CostAllocationTags": [{"TagKey": "owner", "Type": "UserDefined", "Status": "Active"}]},
        costs.build_tag_status_request(["owner", "env"]),
    )
    with stub:
        assert costs.inactive_cost_allocation_tags(["owner", "env"], ce=ce) == ["env"]
