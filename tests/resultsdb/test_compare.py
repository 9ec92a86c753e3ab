"""Comparing two sets of results from their raw samples (pure functions)."""

from __future__ import annotations

import random

import pytest

from scheduler.compare import (
    Verdict,
    compare_metrics,
    format_comparisons,
    mann_whitney_u,
    median,
)
from scheduler.compare_runs import compare_runs
from tests.resultsdb.documents import make_document, make_job
from worker.errors import ConfigError
from worker.resultsdb.base import MetricRow, ResultsStore


def _row(name: str, samples: list[float], *, mode: str = "avgt", unit: str = "us/op") -> MetricRow:
    return MetricRow(
        test_run_id="t",
        started_at="",
        workload="w",
        group="g",
        benchmark=name,
        params={},
        mode=mode,
        unit=unit,
        summary={},
        samples=tuple(samples),
    )


def _noise(center: float, n: int, seed: int, spread: float = 2.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(center, spread) for _ in range(n)]


def test_mann_whitney_u_on_known_values() -> None:
    # a small textbook case: U of the first sample and its two-sided p (normal approximation)
    u, p = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert u == 0
    assert p == pytest.approx(0.0122, abs=0.001)
    u, p = mann_whitney_u([1, 2, 3], [1, 2, 3])
    assert u == 4.5 and p == pytest.approx(1.0)
    _, p = mann_whitney_u([5.0] * 10, [5.0] * 10)
    assert p == 1.0


def test_verdicts() -> None:
    base = [
        _row("same", _noise(100, 200, 1)),
        _row("slower", _noise(100, 200, 2)),
        _row("faster", _noise(100, 200, 3)),
        _row("thrpt", _noise(1000, 200, 4), mode="thrpt", unit="ops/s"),
        _row("tiny", [1.0, 2.0]),
        _row("gone", _noise(1, 10, 5)),
        _row("units", _noise(1, 10, 6)),
    ]
    contender = [
        _row("same", _noise(100, 200, 11)),
        _row("slower", _noise(110, 200, 12)),
        _row("faster", _noise(90, 200, 13)),
        _row("thrpt", _noise(1200, 200, 14), mode="thrpt", unit="ops/s"),
        _row("tiny", [5.0, 6.0]),
        _row("new", _noise(1, 10, 15)),
        _row("units", _noise(1, 10, 16), unit="ms/op"),
    ]
    got = {c.benchmark: c for c in compare_metrics(base, contender)}
    assert got["g/same"].verdict is Verdict.SAME
    assert got["g/slower"].verdict is Verdict.SLOWER
    assert got["g/slower"].ratio == pytest.approx(1.1, abs=0.02)
    assert got["g/faster"].verdict is Verdict.FASTER and got["g/faster"].beyond_noise
    assert got["g/thrpt"].verdict is Verdict.FASTER  # higher throughput is better
    assert got["g/tiny"].verdict is Verdict.TOO_FEW_SAMPLES
    assert got["g/gone"].verdict is Verdict.ONLY_IN_BASE
    assert got["g/new"].verdict is Verdict.ONLY_IN_CONTENDER
    assert got["g/units"].verdict is Verdict.UNIT_MISMATCH
    assert got["g/same"].base_median == pytest.approx(median(base[0].samples))
    table = format_comparisons(list(got.values()))
    assert table.splitlines()[0].startswith("benchmark")
    assert "slower" in table and "only in base" in table


def test_a_significant_but_tiny_shift_is_noise() -> None:
    base = [_row("b", _noise(100, 5000, 1, spread=0.5))]
    contender = [_row("b", _noise(100.5, 5000, 2, spread=0.5))]
    [strict] = compare_metrics(base, contender, min_effect=0.0)
    assert strict.verdict is Verdict.SLOWER and strict.p_value is not None
    [default] = compare_metrics(base, contender)
    assert default.verdict is Verdict.SAME


def test_several_runs_on_a_side_are_pooled() -> None:
    base = [_row("b", _noise(100, 50, 1)), _row("b", _noise(100, 50, 2))]
    [c] = compare_metrics(base, [_row("b", _noise(100, 50, 3))])
    assert (c.base_samples, c.contender_samples) == (100, 50)


def test_compare_names_provenance_fields_that_differ(store: ResultsStore) -> None:
    store.write_document(make_document("tr-a"))
    store.write_document(make_document("tr-b", job=make_job(jvm_args="-Xmx8g")))
    store.write_document(
        make_document(
            "tr-c",
            job=make_job(jvm_args="-Xmx8g"),
            provenance={"jdk_version": "21.0.2", "instance_type": "c5.xlarge"},
        )
    )
    like_for_like = compare_runs(store, "tr-b", "tr-b")
    assert like_for_like.differences == [] and like_for_like.comparisons
    found = compare_runs(store, "tr-a", "tr-c")
    assert [d.field for d in found.differences] == ["instance_type", "jdk", "jvm_args"]
    assert found.differences[1].describe() == ("jdk differs: base '17.0.15', contender '21.0.2'")
    with pytest.raises(ConfigError, match="not comparable") as refused:
        compare_runs(store, "tr-a", "tr-b", same_provenance=True)
    assert "jvm_args differs: base '-Xmx4g', contender '-Xmx8g'" in str(refused.value)
