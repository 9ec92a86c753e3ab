"""The HTML report: one self-contained page per history (no network needed to open it).

Per series: the medians of its runs with their interquartile range as error bars, the change
points marked (red: slower, green: faster), the provenance of each run on hover and of the
newest run in an expandable table, and the newest run compared with the one before. Plots are
Plotly figures (plotly.js embedded once in the page); the page is a Jinja2 template.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import jinja2

from scheduler.changepoints import Direction
from scheduler.compare import Comparison, compare_benchmark
from scheduler.history import Point, Series
from scheduler.regressions import Analysis, ProgressCallback
from scheduler.report.figures import series_figure
from worker.resultsdb.base import MetricRow

REPORT_FILE = "index.html"


@dataclasses.dataclass(frozen=True)
class SeriesSection:
    anchor: str
    series: Series
    plot_html: str
    comparison: Comparison | None
    provenance: list[tuple[str, str]]
    change_points: int
    regressions: int


def write_report(
    analysis: Analysis,
    out_dir: Path,
    *,
    title: str = "Benchmark report",
    progress: ProgressCallback | None = None,
) -> Path:
    """Write ``out_dir/index.html`` and return its path; series with regressions first, then
    those with other change points, then the rest."""
    sections = []
    for done, series in enumerate(analysis.series, start=1):
        changes = analysis.change_points.get(series.name, [])
        sections.append(
            SeriesSection(
                anchor=f"series-{done}",
                series=series,
                plot_html=series_figure(series, changes, div_id=f"plot-{done}"),
                comparison=latest_comparison(series),
                provenance=_provenance_rows(series.points[-1]) if series.points else [],
                change_points=len(changes),
                regressions=sum(1 for c in changes if c.direction is Direction.SLOWER),
            )
        )
        if progress:
            progress(done, len(analysis.series), series.name)
    sections.sort(key=lambda s: (-s.regressions, -s.change_points, s.series.name))
    page = _template().render(
        title=title,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        findings=analysis.findings,
        plotly_js=_plotly_js(),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path


def latest_comparison(series: Series) -> Comparison | None:
    """The newest run against the one before it, judged from their raw samples."""
    measured = [p for p in series.points if p.samples]
    if len(measured) < 2:
        return None
    return compare_benchmark(
        series.benchmark, [_as_metric(series, measured[-2])], [_as_metric(series, measured[-1])]
    )


def _as_metric(series: Series, point: Point) -> MetricRow:
    return MetricRow(
        test_run_id=point.test_run_id,
        started_at=point.time,
        workload="",
        group="",
        benchmark=series.benchmark,
        params={},
        mode=series.mode,
        unit=series.unit,
        summary={},
        samples=point.samples,
    )


def _provenance_rows(point: Point) -> list[tuple[str, str]]:
    rows = [("test run", point.test_run_id), ("time", point.time)]
    if point.provenance:
        rows += [
            (f.name.replace("_", " "), str(getattr(point.provenance, f.name)))
            for f in dataclasses.fields(point.provenance)
            if f.name != "test_run_id" and getattr(point.provenance, f.name) not in ("", 0)
        ]
    elif point.commit:
        rows.append(("commit", point.commit))
    return rows


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("scheduler.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["number"] = _number
    return env.get_template("report.html.j2")


def _number(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


__all__ = ["REPORT_FILE", "latest_comparison", "write_report"]
