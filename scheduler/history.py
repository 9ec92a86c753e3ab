"""Benchmark histories: one series per benchmark x params x tool x environment, oldest first.

A series is built from a results store (the runs' raw samples and provenance) or from a plain
CSV (``time,benchmark,value[,commit]``), so exported or historical data can be analysed
without a store. Each point is one test run with all its raw samples.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from worker.errors import ConfigError
from worker.resultsdb.base import MetricRow, Provenance, ResultsFilter, ResultsStore

CSV_COLUMNS = ("time", "benchmark", "value")


@dataclasses.dataclass(frozen=True)
class Point:
    """One test run of one series."""

    test_run_id: str
    time: str
    samples: tuple[float, ...]
    commit: str = ""
    build: str = ""
    provenance: Provenance | None = None

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))


@dataclasses.dataclass(frozen=True)
class Series:
    benchmark: str
    tool: str
    environment: str
    mode: str
    unit: str
    #: Oldest first.
    points: tuple[Point, ...]

    @property
    def name(self) -> str:
        context = ", ".join(x for x in (self.tool, self.environment) if x)
        return f"{self.benchmark} [{context}]" if context else self.benchmark


def build_series(rows: Iterable[MetricRow], provenance: Mapping[str, Provenance]) -> list[Series]:
    """Group metric rows into series and order each by start time (then test run id)."""
    grouped: dict[tuple[str, str, str, str, str], list[Point]] = defaultdict(list)
    for row in rows:
        prov = provenance.get(row.test_run_id)
        tool = prov.tool if prov else ""
        environment = prov.environment if prov else ""
        point = Point(
            test_run_id=row.test_run_id,
            time=row.started_at,
            samples=tuple(row.samples),
            commit=prov.commit if prov else "",
            build=prov.build if prov else "",
            provenance=prov,
        )
        grouped[(row.key, tool, environment, row.mode, row.unit)].append(point)
    return [
        Series(key, tool, env, mode, unit, tuple(sorted(points, key=_order)))
        for (key, tool, env, mode, unit), points in sorted(grouped.items())
        if any(p.samples for p in points)
    ]


def _order(point: Point) -> tuple[float, str, str]:
    """Numeric times (epoch seconds, run numbers) in numeric order; ISO times as text."""
    try:
        return float(point.time), "", point.test_run_id
    except ValueError:
        return 0.0, point.time, point.test_run_id


def load_series_from_store(store: ResultsStore, flt: ResultsFilter) -> list[Series]:
    """Every series of the runs the filter selects (its limit bounds the metric rows read)."""
    rows = [r for r in store.metrics(flt) if r.samples]
    provenance = store.provenance(sorted({r.test_run_id for r in rows}))
    return build_series(rows, provenance)


def load_series_from_csv(path: Path) -> list[Series]:
    """Series from a CSV with columns ``time,benchmark,value`` and optionally ``commit``.

    Rows of one benchmark with the same time (and commit) are the samples of one run.
    """
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(
                    f"{path}: missing column(s) {', '.join(missing)}; "
                    f"expected time,benchmark,value[,commit]"
                )
            samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)
            for line, record in enumerate(reader, start=2):
                key = (record["benchmark"] or "", record["time"] or "", record.get("commit") or "")
                if not key[0] or not key[1]:
                    raise ConfigError(f"{path}:{line}: empty time or benchmark")
                samples[key].append(_number(record["value"], path, line))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable CSV file: {exc}") from exc
    per_benchmark: dict[str, list[Point]] = defaultdict(list)
    for (benchmark, time, commit), values in samples.items():
        per_benchmark[benchmark].append(Point(time, time, tuple(values), commit=commit))
    return [
        Series(name, "", "", "", "", tuple(sorted(points, key=_order)))
        for name, points in sorted(per_benchmark.items())
    ]


def _number(text: str | None, path: Path, line: int) -> float:
    try:
        return float(text or "")
    except ValueError:
        raise ConfigError(f"{path}:{line}: value {text!r} is not a number") from None
