"""Change points on synthetic series, the raw-sample guard, and the CSV input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scheduler.changepoints import DetectionSettings, Direction, detect_change_points
from scheduler.history import Point, Series, load_series_from_csv
from worker.errors import ConfigError


def _series(
    shift: float, *, at: int = 20, runs: int = 40, cv: float = 0.01, mode: str = "avgt"
) -> Series:
    rng = random.Random(7)
    points = tuple(
        Point(
            f"r{i}",
            f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00:00",
            tuple(100 * (1 + shift * (i >= at)) * (1 + rng.gauss(0, cv)) for _ in range(10)),
        )
        for i in range(runs)
    )
    unit = "ops/s" if mode == "thrpt" else "us/op"
    return Series("g/b", "jmh", "env", mode, unit, points)


def test_a_step_is_found_where_it_happened() -> None:
    (change,) = detect_change_points(_series(0.10))
    assert change.index == 20
    assert (change.last_good.test_run_id, change.first_bad.test_run_id) == ("r19", "r20")
    assert change.direction is Direction.SLOWER  # a longer time per operation
    assert change.ratio_low < change.ratio < change.ratio_high
    assert 1.08 < change.ratio < 1.12


def test_higher_throughput_is_faster() -> None:
    (change,) = detect_change_points(_series(0.10, mode="thrpt"))
    assert change.direction is Direction.FASTER


def test_no_change_no_finding() -> None:
    assert detect_change_points(_series(0.0, cv=0.05)) == []


def test_a_shift_the_samples_call_too_small_is_not_reported() -> None:
    series = _series(0.01, cv=0.001)  # E-Divisive sees it; it is below min_effect (2 %)
    assert detect_change_points(series, DetectionSettings(min_effect=0.005))
    assert detect_change_points(series) == []


def test_the_same_history_gives_the_same_answer() -> None:
    series = _series(0.03, cv=0.02)
    assert detect_change_points(series) == detect_change_points(series)


def test_csv_rows_of_one_time_are_the_samples_of_one_run(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("time,benchmark,value,commit\n10,b,1.0,c1\n10,b,2.0,c1\n9,b,3.0,c0\n2,a,4.0,\n")
    a, b = load_series_from_csv(path)
    assert (a.benchmark, [p.samples for p in a.points]) == ("a", [(4.0,)])
    assert [(p.time, p.commit, p.samples) for p in b.points] == [
        ("9", "c0", (3.0,)),
        ("10", "c1", (1.0, 2.0)),  # numeric times in numeric order
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,value\n1,2\n", "missing column(s) benchmark"),
        ("time,benchmark,value\n1,b,fast\n", ":2: value 'fast' is not a number"),
        ("time,benchmark,value\n,b,1\n", ":2: empty time or benchmark"),
    ],
)
def test_bad_csv_is_a_user_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_series_from_csv(path)


def test_missing_csv_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_series_from_csv(tmp_path / "nope.csv")
