"""Compares two sets of results, benchmark by benchmark, judged from the raw samples.

Pure functions over :class:`~worker.resultsdb.MetricRow` lists (from either store). For each
benchmark present on both sides: both medians, the ratio contender/base, and whether the
difference is beyond noise: a two-sided Mann-Whitney U test on the raw samples (normal
approximation with tie and continuity corrections; no assumption of normality) must reject
"same distribution" at ``alpha``, and the medians must differ by at least ``min_effect``
(with thousands of samples even a 0.1 % shift is "significant", rarely interesting).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence

from worker.errors import ConfigError, NotFoundError
from worker.resultsdb.base import MetricRow, ResultsFilter, ResultsStore

#: JMH modes and unit suffixes where a higher score is better.
_HIGHER_IS_BETTER_MODES = frozenset({"thrpt", "throughput"})


class Verdict(enum.StrEnum):
    FASTER = "faster"
    SLOWER = "slower"
    SAME = "same"
    TOO_FEW_SAMPLES = "too few samples"
    UNIT_MISMATCH = "unit mismatch"
    ONLY_IN_BASE = "only in base"
    ONLY_IN_CONTENDER = "only in contender"


@dataclasses.dataclass(frozen=True)
class Comparison:
    benchmark: str
    mode: str
    unit: str
    base_median: float | None
    contender_median: float | None
    #: contender median / base median.
    ratio: float | None
    #: Two-sided p-value of the Mann-Whitney U test.
    p_value: float | None
    base_samples: int
    contender_samples: int
    verdict: Verdict

    @property
    def beyond_noise(self) -> bool:
        return self.verdict in (Verdict.FASTER, Verdict.SLOWER)


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` and the sizes of the groups of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = average
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """U statistic of ``a`` and the two-sided p-value (normal approximation)."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples must be non-empty")
    ranks, ties = _ranks([*a, *b])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean_u = n1 * n2 / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    if variance <= 0:
        return u1, 1.0
    delta = abs(u1 - mean_u)
    z = max(0.0, delta - 0.5) / math.sqrt(variance)
    return u1, math.erfc(z / math.sqrt(2))


def higher_is_better(mode: str, unit: str) -> bool:
    """JMH throughput modes and rates (ops/s): a higher score is better; times: lower is."""
    return mode.lower() in _HIGHER_IS_BETTER_MODES or unit.lower().endswith("/s")


def _pool(rows: Iterable[MetricRow]) -> dict[str, list[MetricRow]]:
    grouped: dict[str, list[MetricRow]] = defaultdict(list)
    for row in rows:
        grouped[row.key].append(row)
    return grouped


def compare_benchmark(
    key: str,
    base: Sequence[MetricRow],
    contender: Sequence[MetricRow],
    *,
    alpha: float = 0.01,
    min_effect: float = 0.02,
    min_samples: int = 5,
) -> Comparison:
    """Compare one benchmark; several rows on a side (several runs) are pooled."""
    base_samples = [s for r in base for s in r.samples]
    contender_samples = [s for r in contender for s in r.samples]
    first = (base or contender)[0]
    mode, unit = first.mode, first.unit

    def result(verdict: Verdict, ratio: float | None = None, p: float | None = None) -> Comparison:
        return Comparison(
            benchmark=key,
            mode=mode,
            unit=unit,
            base_median=median(base_samples) if base_samples else None,
            contender_median=median(contender_samples) if contender_samples else None,
            ratio=ratio,
            p_value=p,
            base_samples=len(base_samples),
            contender_samples=len(contender_samples),
            verdict=verdict,
        )

    if not contender:
        return result(Verdict.ONLY_IN_BASE)
    if not base:
        return result(Verdict.ONLY_IN_CONTENDER)
    if {r.unit for r in base} != {r.unit for r in contender}:
        return result(Verdict.UNIT_MISMATCH)
    base_median, contender_median = median(base_samples), median(contender_samples)
    ratio = contender_median / base_median if base_median else None
    if min(len(base_samples), len(contender_samples)) < min_samples:
        return result(Verdict.TOO_FEW_SAMPLES, ratio)
    _, p_value = mann_whitney_u(base_samples, contender_samples)
    if p_value >= alpha or ratio is None or abs(ratio - 1.0) < min_effect:
        return result(Verdict.SAME, ratio, p_value)
    contender_higher = contender_median > base_median
    better = contender_higher == higher_is_better(mode, unit)
    return result(Verdict.FASTER if better else Verdict.SLOWER, ratio, p_value)


def compare_metrics(
    base: Iterable[MetricRow],
    contender: Iterable[MetricRow],
    *,
    alpha: float = 0.01,
    min_effect: float = 0.02,
    min_samples: int = 5,
) -> list[Comparison]:
    """One comparison per benchmark key found on either side, ordered by key."""
    base_rows, contender_rows = _pool(base), _pool(contender)
    return [
        compare_benchmark(
            key,
            base_rows.get(key, []),
            contender_rows.get(key, []),
            alpha=alpha,
            min_effect=min_effect,
            min_samples=min_samples,
        )
        for key in sorted(set(base_rows) | set(contender_rows))
    ]


def format_comparisons(comparisons: Sequence[Comparison]) -> str:
    """A text table of comparisons (for the command line)."""
    headers = ("benchmark", "unit", "base median", "contender median", "ratio", "p", "verdict")
    rows = [
        (
            c.benchmark,
            c.unit,
            _number(c.base_median),
            _number(c.contender_median),
            "" if c.ratio is None else f"{c.ratio:.3f}",
            "" if c.p_value is None else f"{c.p_value:.2g}",
            c.verdict.value,
        )
        for c in comparisons
    ]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


#: Enough rows for any real test run or build; ``compare`` reads them all.
ALL_ROWS = 1_000_000
#: How many matching ids an ambiguity message lists.
_SHOWN_MATCHES = 10


def resolve_test_run_id(store: ResultsStore, given: str) -> str:
    """A full test-run id from the id or any unique prefix of it (``invoke results`` shows 8
    characters), like git's short commit ids."""
    if not given:
        raise ConfigError("test run id: empty; give an id (or a unique prefix) from invoke results")
    if store.runs(ResultsFilter(test_run_id=given, limit=1)):
        return given
    known = {r.test_run_id for r in store.runs(ResultsFilter(limit=ALL_ROWS))}
    matches = sorted(m for m in known if m.startswith(given))
    if not matches:
        raise NotFoundError(
            f"test run {given!r}: no such test run (or prefix) in the results store"
        )
    if len(matches) > 1:
        shown = ", ".join(matches[:_SHOWN_MATCHES]) + (
            " ..." if len(matches) > _SHOWN_MATCHES else ""
        )
        raise ConfigError(
            f"test run {given!r} is ambiguous: {len(matches)} test runs match ({shown}); "
            "give more characters"
        )
    return matches[0]
