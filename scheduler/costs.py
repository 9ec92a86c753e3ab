"""What benchmarking costs: Cost Explorer, filtered on the tags every resource carries.

Everything the stack and the AMI build create is tagged ``owner=benchmarking`` and
``env=<env>``. Cost Explorer filters on those tags only once they are activated as cost
allocation tags (billing console, once per account), and only for costs from then on: before
that every query answers 0.00. :func:`fetch_costs` therefore checks their status first
(ListCostAllocationTags) and says plainly when they are not active. It sums the unblended
cost of the last ``days`` days, grouped by service, instance type or env; the ``format_*``
functions turn the report into text.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from scheduler.stacktemplate import OWNER_TAG
from worker import aws
from worker.errors import BenchInfraError, ConfigError

#: Cost Explorer has a single endpoint, in us-east-1.
CE_REGION = "us-east-1"
METRIC = "UnblendedCost"


class GroupBy(enum.StrEnum):
    SERVICE = "service"
    INSTANCE_TYPE = "instance-type"
    ENV = "env"

    def definition(self) -> dict[str, str]:
        if self is GroupBy.ENV:
            return {"Type": "TAG", "Key": "env"}
        return {"Type": "DIMENSION", "Key": self.name}


@dataclasses.dataclass(frozen=True)
class CostLine:
    group: str
    amount: Decimal
    unit: str


@dataclasses.dataclass(frozen=True)
class CostReport:
    start: date
    end: date  # exclusive
    group_by: GroupBy
    env: str | None
    lines: tuple[CostLine, ...]
    unit: str
    estimated: bool

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "group_by": self.group_by.value,
            "env": self.env,
            "unit": self.unit,
            "estimated": self.estimated,
            "lines": [
                {"group": line.group, "amount": str(line.amount), "unit": line.unit}
                for line in self.lines
            ],
            "total": str(self.total),
        }


def build_filter(env: str | None) -> dict[str, Any]:
    owner = {"Tags": {"Key": "owner", "Values": [OWNER_TAG], "MatchOptions": ["EQUALS"]}}
    if env is None:
        return owner
    return {"And": [owner, {"Tags": {"Key": "env", "Values": [env], "MatchOptions": ["EQUALS"]}}]}


#: Cost Explorer's history: 13 months and the current one, at most (38 with an opt-in).
MAX_DAYS = 1200


def build_request(*, env: str | None, days: int, group_by: GroupBy, today: date) -> dict[str, Any]:
    """The GetCostAndUsage request for the ``days`` days before ``today``."""
    if days < 1:
        raise ConfigError(f"--days must be at least 1, not {days}")
    if days > MAX_DAYS:
        raise ConfigError(f"--days {days}: Cost Explorer keeps at most {MAX_DAYS} days")
    return {
        "TimePeriod": {
            "Start": (today - timedelta(days=days)).isoformat(),
            "End": today.isoformat(),
        },
        "Granularity": "DAILY",
        "Metrics": [METRIC],
        "Filter": build_filter(env),
        "GroupBy": [group_by.definition()],
    }


def _group_name(keys: list[str], group_by: GroupBy) -> str:
    key = keys[0] if keys else ""
    if group_by is GroupBy.ENV:
        key = key.split("$", 1)[-1]  # tag groups come back as "env$<value>"
    return key or "(untagged)"


def tags_needed(env: str | None, group_by: GroupBy) -> list[str]:
    """The cost allocation tags a query filters or groups on."""
    return ["owner", "env"] if env is not None or group_by is GroupBy.ENV else ["owner"]


def build_tag_status_request(keys: list[str]) -> dict[str, Any]:
    return {"TagKeys": keys, "Type": "UserDefined"}


def inactive_cost_allocation_tags(keys: list[str], *, ce: Any) -> list[str]:
    """Of ``keys``, those that are not active cost allocation tags (unknown ones included)."""
    status: dict[str, str] = {}
    request = build_tag_status_request(keys)
    token: str | None = None
    while True:
        try:
            page = ce.list_cost_allocation_tags(
                **request, **({"NextToken": token} if token else {})
            )
        except ClientError as err:
            raise BenchInfraError(f"Cost Explorer ListCostAllocationTags failed: {err}") from err
        status.update({t["TagKey"]: t["Status"] for t in page.get("CostAllocationTags", [])})
        token = page.get("NextToken")
        if not token:
            break
    return [key for key in keys if status.get(key) != "Active"]


def fetch_costs(
    *,
    env: str | None = None,
    days: int = 7,
    group_by: GroupBy = GroupBy.SERVICE,
    ce: Any | None = None,
    today: date | None = None,
) -> CostReport:
    """Sum the cost per group over the period (every page of the answer)."""
    today = today or datetime.now(UTC).date()
    request = build_request(env=env, days=days, group_by=group_by, today=today)
    ce = ce if ce is not None else aws.client("ce", region_name=CE_REGION)
    inactive = inactive_cost_allocation_tags(tags_needed(env, group_by), ce=ce)
    if inactive:
        raise ConfigError(
            f"the cost allocation tag(s) {', '.join(inactive)} are not active, so Cost Explorer "
            "finds no benchmarking costs (it would report 0.00). Activate them once per account "
            "(Billing console > Cost allocation tags, or "
            "`aws ce update-cost-allocation-tags-status`); costs are tagged from the "
            "activation on, after up to 24 hours"
        )
    sums: dict[str, Decimal] = {}
    units: set[str] = set()
    estimated = False
    token: str | None = None
    while True:
        try:
            page = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
        except ClientError as err:
            raise BenchInfraError(f"Cost Explorer query failed: {err}") from err
        for period in page.get("ResultsByTime", []):
            estimated = estimated or bool(period.get("Estimated"))
            for group in period.get("Groups", []):
                metric = group.get("Metrics", {}).get(METRIC, {})
                name = _group_name(group.get("Keys", []), group_by)
                sums[name] = sums.get(name, Decimal(0)) + Decimal(metric.get("Amount", "0"))
                units.add(metric.get("Unit", "USD"))
        token = page.get("NextPageToken")
        if not token:
            break
    lines = tuple(
        CostLine(name, amount, next(iter(units), "USD"))
        for name, amount in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return CostReport(
        start=today - timedelta(days=days),
        end=today,
        group_by=group_by,
        env=env,
        lines=lines,
        unit=next(iter(sorted(units)), "USD"),
        estimated=estimated,
    )


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,}"


def format_table(report: CostReport) -> str:
    """A plain-text table with a total line."""
    scope = f"env {report.env}" if report.env else "all environments"
    title = (
        f"Costs of owner={OWNER_TAG} ({scope}), {report.start} to {report.end} (exclusive), "
        f"by {report.group_by.value}{' - estimated' if report.estimated else ''}"
    )
    rows = [(line.group, _money(line.amount)) for line in report.lines]
    total = ("TOTAL", _money(report.total))
    width = max([len(r[0]) for r in [*rows, total]] + [len(report.group_by.value)])
    amount_width = max(len(r[1]) for r in [*rows, total, (report.group_by.value, report.unit)])
    out = [title, f"{report.group_by.value:<{width}}  {report.unit:>{amount_width}}"]
    out += [f"{name:<{width}}  {amount:>{amount_width}}" for name, amount in rows]
    out.append("-" * (width + 2 + amount_width))
    out.append(f"{total[0]:<{width}}  {total[1]:>{amount_width}}")
    return "\n".join(out)


def format_csv(report: CostReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([report.group_by.value, "amount", "unit", "start", "end"])
    for line in report.lines:
        writer.writerow([line.group, str(line.amount), line.unit, report.start, report.end])
    writer.writerow(["TOTAL", str(report.total), report.unit, report.start, report.end])
    return buffer.getvalue()


def format_json(report: CostReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


def parse_group_by(value: str) -> GroupBy:
    """``--group-by``: ConfigError naming the allowed values."""
    try:
        return GroupBy(value)
    except ValueError:
        allowed = ", ".join(g.value for g in GroupBy)
        raise ConfigError(f"--group-by {value!r}: use one of {allowed}") from None
