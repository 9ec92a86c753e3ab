"""Regressions over history: the change points of every series, as findings people act on.

``invoke regressions`` and the HTML report both start here: load the series (results store or
CSV), detect change points per series, and describe each as a finding: the benchmark, the last
good and first bad run (with commit and build), the ratio of medians with its interval, the
p-value, and how recent it is (``runs_ago``: 1 when the newest run is the first bad one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from scheduler.changepoints import ChangePoint, DetectionSettings, Direction, detect_change_points
from scheduler.history import Point, Series, load_series_from_csv, load_series_from_store
from worker.errors import ConfigError
from worker.resultsdb.base import ResultsFilter, ResultsStore

#: Called after each series: (series done, series in all, name of the series).
ProgressCallback = Callable[[int, int, str], None]


@dataclasses.dataclass(frozen=True)
class RunRef:
    test_run_id: str
    time: str
    commit: str
    build: str

    @classmethod
    def of(cls, point: Point) -> RunRef:
        return cls(point.test_run_id, point.time, point.commit, point.build)


@dataclasses.dataclass(frozen=True)
class Finding:
    series: str
    benchmark: str
    tool: str
    environment: str
    unit: str
    direction: Direction
    last_good: RunRef
    first_bad: RunRef
    ratio: float
    ratio_low: float
    ratio_high: float
    p_value: float
    #: Runs of the series from the first bad one to the newest, both included.
    runs_ago: int

    @property
    def is_regression(self) -> bool:
        return self.direction is Direction.SLOWER


@dataclasses.dataclass(frozen=True)
class Analysis:
    series: list[Series]
    change_points: dict[str, list[ChangePoint]]
    findings: list[Finding]

    def recent_regressions(self, newest: int) -> list[Finding]:
        """Regressions whose first bad run is among the newest ``newest`` runs of its series."""
        return [f for f in self.findings if f.is_regression and f.runs_ago <= newest]


def analyse(
    series: Sequence[Series],
    settings: DetectionSettings | None = None,
    progress: ProgressCallback | None = None,
) -> Analysis:
    """Change points and findings of every series, most recent findings first."""
    change_points: dict[str, list[ChangePoint]] = {}
    findings: list[Finding] = []
    for done, one in enumerate(series, start=1):
        found = detect_change_points(one, settings or DetectionSettings())
        change_points[one.name] = found
        findings += [_finding(one, c) for c in found]
        if progress:
            progress(done, len(series), one.name)
    findings.sort(key=lambda f: (f.runs_ago, f.series))
    return Analysis(list(series), change_points, findings)


def _finding(series: Series, change: ChangePoint) -> Finding:
    measured = [p for p in series.points if p.samples]
    return Finding(
        series=series.name,
        benchmark=series.benchmark,
        tool=series.tool,
        environment=series.environment,
        unit=series.unit,
        direction=change.direction,
        last_good=RunRef.of(change.last_good),
        first_bad=RunRef.of(change.first_bad),
        ratio=change.ratio,
        ratio_low=change.ratio_low,
        ratio_high=change.ratio_high,
        p_value=change.p_value,
        runs_ago=len(measured) - change.index,
    )


def format_findings(findings: Sequence[Finding]) -> str:
    """A text table of findings (for the command line)."""
    from scheduler.render import table

    return table(
        ["benchmark", "change", "ratio [95% CI]", "p", "last good", "first bad", "runs ago"],
        [
            [
                f.series,
                f.direction.value,
                f"{f.ratio:.3f} [{f.ratio_low:.3f}, {f.ratio_high:.3f}]",
                f"{f.p_value:.2g}",
                _describe(f.last_good),
                _describe(f.first_bad),
                f.runs_ago,
            ]
            for f in findings
        ],
    )


def _describe(run: RunRef) -> str:
    extra = ", ".join(x for x in (run.commit[:12], f"build {run.build}" if run.build else "") if x)
    return f"{run.test_run_id} ({extra})" if extra else run.test_run_id


def analyse_history(
    *,
    csv: Path | None,
    open_store: Callable[[], ResultsStore],
    flt: ResultsFilter,
    settings: DetectionSettings | None = None,
    progress: ProgressCallback | None = None,
) -> Analysis:
    """What ``invoke regressions`` and ``invoke report`` run: the series of the CSV (else of
    the store's runs the filter selects), analysed. No series at all is the user's mistake."""
    if csv is not None:
        series = load_series_from_csv(csv)
    else:
        with open_store() as store:
            series = load_series_from_store(store, flt)
    if not series:
        where = str(csv) if csv else "the results store"
        raise ConfigError(f"no benchmark results in {where} match; check the filters")
    return analyse(series, settings, progress)
