"""Results over history: change points (regressions) and the HTML report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit

from scheduler.tasks.common import (
    STORE_HELP,
    TEAMCITY_HELP,
    errors,
    open_results_store,
    task,
    teamcity_reporter,
    with_store_options,
)
from worker.contract import ExitCode

_HISTORY_HELP = {
    "input": "analyse this CSV (time,benchmark,value[,commit]) instead of the results store",
    "workload": "only this workload",
    "benchmark": "only this benchmark (e.g. StringBuildingBenchmark.concat)",
    "branch": "only this neo4j branch",
    "since": "only runs started at or after this ISO date/time",
    "limit": "read at most this many metric rows (default 1000000)",
    "teamcity": TEAMCITY_HELP,
}


def _analyse(
    c: Context,
    input: str | None,
    filters: dict[str, Any],
    store_options: dict[str, Any],
) -> Any:
    """The history of the results store (or a CSV), analysed; progress on stderr."""
    from scheduler.progress import CountProgress
    from scheduler.regressions import analyse_history
    from worker.resultsdb import ResultsFilter

    return analyse_history(
        csv=Path(input) if input else None,
        open_store=lambda: open_results_store(c, **store_options),
        flt=ResultsFilter(**filters),
        progress=CountProgress(sys.stderr, "series analysed"),
    )


@task(
    help={
        **_HISTORY_HELP,
        "fail_on_regression": "exit 3 when a regression lands in the newest --newest runs",
        "newest": "with --fail-on-regression: how many newest runs count (default 1)",
        "json": "print the change points as JSON on stdout",
        **STORE_HELP,
    }
)
@with_store_options
def regressions(
    c: Context,
    input: str | None = None,
    workload: str | None = None,
    benchmark: str | None = None,
    branch: str | None = None,
    since: str | None = None,
    limit: int = 1_000_000,
    fail_on_regression: bool = False,
    newest: int = 1,
    teamcity: bool = False,
    json: bool = False,
    **store_options: Any,
) -> None:
    """Change points of every benchmark series over history (E-Divisive on raw samples)."""
    from scheduler.regressions import format_findings
    from scheduler.render import to_json

    filters = dict(workload=workload, benchmark=benchmark, branch=branch, since=since, limit=limit)
    with errors():
        analysis = _analyse(c, input, filters, store_options)
        print(to_json(analysis.findings) if json else format_findings(analysis.findings))
    if reporter := teamcity_reporter(teamcity):
        reporter.findings(analysis.findings)
    recent = analysis.recent_regressions(newest)
    if fail_on_regression and recent:
        names = ", ".join(sorted({f.series for f in recent}))
        raise Exit(f"regression in the newest {newest} run(s): {names}", ExitCode.BENCHMARK_FAILED)


@task(
    help={
        "out": "directory to write index.html to (created if missing)",
        "title": "page title",
        **_HISTORY_HELP,
        **STORE_HELP,
    }
)
@with_store_options
def report(
    c: Context,
    out: str = "report",
    title: str = "Benchmark report",
    input: str | None = None,
    workload: str | None = None,
    benchmark: str | None = None,
    branch: str | None = None,
    since: str | None = None,
    limit: int = 1_000_000,
    teamcity: bool = False,
    **store_options: Any,
) -> None:
    """Write a self-contained HTML report: series, change points, latest comparison."""
    from scheduler.progress import CountProgress
    from scheduler.report import write_report

    filters = dict(workload=workload, benchmark=benchmark, branch=branch, since=since, limit=limit)
    with errors():
        analysis = _analyse(c, input, filters, store_options)
        page = write_report(
            analysis, Path(out), title=title, progress=CountProgress(sys.stderr, "series drawn")
        )
    print(page)
    if reporter := teamcity_reporter(teamcity):
        reporter.publish_artifacts(str(page.parent))
