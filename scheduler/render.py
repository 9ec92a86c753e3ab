"""Plain-text and machine-readable renderings for the command line (no printing here)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

from scheduler import stack
from scheduler.batch import JobDescription
from scheduler.watch import Change
from worker.resultsdb import MetricRow, RunRow


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned text table; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        all(isinstance(row[i], (int, float)) for row in rows) and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.6g}"
    return "" if value is None else str(value)


def runs_table(runs: Sequence[RunRow]) -> str:
    return table(
        [
            "test run",
            "started",
            "tool",
            "workload",
            "status",
            "benchmarks",
            "failed",
            "build",
            "branch",
            "version",
        ],
        [
            [
                r.test_run_id[:8],
                r.started_at[:19],
                r.tool,
                r.workload,
                r.status,
                r.benchmarks,
                r.failures,
                r.teamcity_build,
                r.neo4j_branch,
                r.neo4j_version,
            ]
            for r in runs
        ],
    )


def metrics_table(metrics: Sequence[MetricRow]) -> str:
    return table(
        ["test run", "benchmark", "unit", "samples", "min", "median", "mean", "p99", "max"],
        [
            [
                m.test_run_id[:8],
                m.key,
                m.unit,
                int(m.summary["count"]),
                m.summary["min"],
                m.summary["perc_50"],
                m.summary["mean"],
                m.summary["perc_99"],
                m.summary["max"],
            ]
            for m in metrics
        ],
    )


def to_json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        return str(obj)  # enums, dates, paths

    return json.dumps(value, indent=2, sort_keys=True, default=default)


def format_change(change: Change) -> str:
    """The original's line: ``<job name> - job <id> is <STATUS> (<reason>)``."""
    job = change.job
    why = f" ({job.reason})" if job.reason else ""
    retry = f", attempt {job.attempt_number}" if change.retried else ""
    return f"{job.name} - job {job.job_id} is {job.status.value}{why}{retry}"


def jobs_table(jobs: Iterable[JobDescription]) -> str:
    """The live view of a run's jobs."""
    return table(
        ["job", "status", "tries", "reason"],
        [[j.name[:48], j.status.value, j.attempt_number, j.reason[:60]] for j in jobs],
    )


def stack_event_lines(event: stack.StackEvent) -> list[str]:
    """What a deploy or destroy shows of one event (progress, for stderr)."""
    if isinstance(event, stack.ChangeSetReady):
        lines = [f"change set {event.change_set} ({event.kind}) of {event.stack}:"]
        for ch in event.changes:
            extra = f" (replacement: {ch.replacement})" if ch.replacement else ""
            lines.append(f"  {ch.action:<7} {ch.resource_type:<36} {ch.logical_id}{extra}")
        return lines if event.changes else [*lines, "  (no resource changes)"]
    if isinstance(event, stack.ResourceEvent):
        reason = f"  {event.reason}" if event.reason else ""
        return [
            f"{event.timestamp:%H:%M:%S} {event.status:<20} {event.resource_type:<36} "
            f"{event.logical_id}{reason}"
        ]
    if isinstance(event, stack.NoChanges):
        return [f"{event.stack}: no changes"]
    if isinstance(event, stack.DryRunDone):
        return [f"{event.stack}: dry run, change set discarded"]
    if isinstance(event, stack.StackAbsent):
        return [f"{event.stack} does not exist: nothing to do"]
    if isinstance(event, stack.StackDone):
        return [f"{event.stack}: {event.status}"]
    return []
