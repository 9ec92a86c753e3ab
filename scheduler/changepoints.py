"""Change points of one benchmark series: E-Divisive on run medians, confirmed by raw samples.

MongoDB's E-Divisive (``signal-processing-algorithms``; energy statistics with a permutation
test, the method behind MongoDB's and Apache Otava's performance CI) proposes where the
distribution of the run medians changes. A proposal is kept only when the raw samples agree:
the samples of the runs between the previous and the next change point must differ (two-sided
Mann-Whitney U at ``alpha``) and their medians by at least ``min_effect``. The magnitude is
the ratio of those medians with a bootstrap confidence interval.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from scheduler.compare import higher_is_better
from scheduler.history import Point, Series


class Direction(enum.StrEnum):
    SLOWER = "slower"
    FASTER = "faster"


@dataclasses.dataclass(frozen=True)
class DetectionSettings:
    #: p-value of E-Divisive's permutation test.
    pvalue: float = 0.01
    permutations: int = 100
    #: Significance the raw samples must reach (Mann-Whitney U, two-sided).
    alpha: float = 0.001
    #: Smallest relative change of the median that counts.
    min_effect: float = 0.02
    #: Confidence of the interval of the ratio.
    confidence: float = 0.95
    bootstrap_rounds: int = 500
    #: Seed of the permutations and the bootstrap: the same history gives the same answer.
    seed: int = 1


@dataclasses.dataclass(frozen=True)
class ChangePoint:
    #: Index of the first run after the change.
    index: int
    last_good: Point
    first_bad: Point
    #: Median of the samples after / before (up to the neighbouring change points).
    ratio: float
    ratio_low: float
    ratio_high: float
    p_value: float
    direction: Direction


def detect_change_points(
    series: Series, settings: DetectionSettings = DetectionSettings()
) -> list[ChangePoint]:
    """Change points of ``series``, oldest first."""
    points = [p for p in series.points if p.samples]
    if len(points) < 4:
        return []
    candidates = _e_divisive([p.median for p in points], settings)
    kept: list[ChangePoint] = []
    bounds = [0, *candidates, len(points)]
    for i, index in enumerate(candidates):
        before = points[bounds[i] : index]
        after = points[index : bounds[i + 2]]
        found = _confirm(series, points, index, before, after, settings)
        if found:
            kept.append(found)
    return kept


def _e_divisive(medians: Sequence[float], settings: DetectionSettings) -> list[int]:
    from signal_processing_algorithms.energy_statistics.energy_statistics import e_divisive

    state = np.random.get_state()
    np.random.seed(settings.seed)  # the library permutes with numpy's global generator
    try:
        found = e_divisive(
            np.asarray(medians, dtype=np.float64),
            pvalue=settings.pvalue,
            permutations=settings.permutations,
        )
    finally:
        np.random.set_state(state)
    return sorted(int(i) for i in found if 0 < int(i) < len(medians))


def _confirm(
    series: Series,
    points: Sequence[Point],
    index: int,
    before: Sequence[Point],
    after: Sequence[Point],
    settings: DetectionSettings,
) -> ChangePoint | None:
    from scipy.stats import mannwhitneyu

    left = np.asarray([s for p in before for s in p.samples], dtype=np.float64)
    right = np.asarray([s for p in after for s in p.samples], dtype=np.float64)
    left_median, right_median = float(np.median(left)), float(np.median(right))
    if left_median == 0:
        return None
    ratio = right_median / left_median
    if abs(ratio - 1.0) < settings.min_effect:
        return None
    p_value = float(mannwhitneyu(left, right, alternative="two-sided").pvalue)
    if p_value >= settings.alpha:
        return None
    low, high = _ratio_interval(left, right, settings)
    slower = (ratio > 1.0) != higher_is_better(series.mode, series.unit)
    return ChangePoint(
        index=index,
        last_good=points[index - 1],
        first_bad=points[index],
        ratio=ratio,
        ratio_low=low,
        ratio_high=high,
        p_value=p_value,
        direction=Direction.SLOWER if slower else Direction.FASTER,
    )


#: Samples per side the bootstrap draws from (a random subset of longer histories).
_BOOTSTRAP_CAP = 2000


def _ratio_interval(
    left: NDArray[np.float64], right: NDArray[np.float64], settings: DetectionSettings
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(right) / median(left)."""
    rng = np.random.default_rng(settings.seed)
    if len(left) > _BOOTSTRAP_CAP:
        left = rng.choice(left, _BOOTSTRAP_CAP, replace=False)
    if len(right) > _BOOTSTRAP_CAP:
        right = rng.choice(right, _BOOTSTRAP_CAP, replace=False)
    rounds = settings.bootstrap_rounds
    left_medians = np.median(rng.choice(left, (rounds, len(left))), axis=1)
    right_medians = np.median(rng.choice(right, (rounds, len(right))), axis=1)
    ratios = right_medians / np.where(left_medians == 0, np.nan, left_medians)
    tail = (1.0 - settings.confidence) / 2 * 100
    low, high = np.nanpercentile(ratios, [tail, 100 - tail])
    return float(low), float(high)
